package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The rule file example of the README loads, and a bad one is refused with
// the rule and field named.
func TestNewAlertsRuleFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.json")
	os.WriteFile(good, []byte(`{"rules":[{"id":"noise-dpcm-iv","threshold":60,"perFeature":{"12":55}},{"id":"pm10-eu-24h","disabled":true},{"id":"co-high","domain":"air","attr":"co","window":"8h","threshold":10}]}`), 0o644)
	a, err := newAlerts(&serveConfig{alertRules: good, timeZone: "Europe/Rome"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]float64{}
	for _, r := range a.Rules() {
		ids[r.ID] = r.Threshold
	}
	if ids["noise-dpcm-iv"] != 60 || ids["co-high"] != 10 {
		t.Errorf("rules %v", ids)
	}
	if _, ok := ids["pm10-eu-24h"]; ok {
		t.Error("disabled rule kept")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rules":[{"id":"x","attr":"co","window":"soon","threshold":1}]}`), 0o644)
	if _, err := newAlerts(&serveConfig{alertRules: bad, timeZone: "Europe/Rome"}); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("bad rule file: %v", err)
	}
	if _, err := newAlerts(&serveConfig{timeZone: "Mars/Olympus"}); err == nil || !strings.Contains(err.Error(), "time-zone") {
		t.Errorf("bad zone: %v", err)
	}
}
