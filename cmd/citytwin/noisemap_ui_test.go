//go:build ui && linux

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/testenv"
)

// TestNoiseMapLayer drives the dashboard's dynamic noise map layer
// (web/ui/src/noisemap.ts) in real Chromium with playwright-core:
// web/ui/tests/noisemap.mjs, against citytwin built with the map (-tags ui),
// its embedded broker and a real InfluxDB. The script publishes noise
// readings over MQTT for four sensors on the demo city's roads, checks that
// the layer draws the API's grid (levels, colours, legend), that the live
// map is refreshed after its max-age when the levels rise, and that replay
// draws the map as it was.
//
// The server keeps a tenant's live map for web.DefaultNoiseMapInterval (a
// minute) and `serve` has no setting to shorten it, so the test uses a
// tenant of its own (its first request computes the map) and waits up to
// about a minute for the recomputation. Screenshots and result.json go to
// $CITYTWIN_ARTIFACTS/noisemap (else the test's temporary directory). It
// needs what TestDashboard needs.
func TestNoiseMapLayer(t *testing.T) {
	node, chromium, uiDir := browserTools(t)
	if _, err := os.Stat(filepath.Join(uiDir, "node_modules/mqtt/package.json")); err != nil {
		testenv.Unavailable(t, "web/ui/node_modules/mqtt is missing: build the dashboard first (make ui)")
	}
	artifacts := artifactsDir(t, "noisemap")

	db := testenv.StartInfluxDB(t)
	ct := startCitytwinBinary(t, citytwinUIBinary(t), nil, db, "citytwin-noisemap")
	base := "http://" + ct.HTTPAddr + "/"
	requireDashboard(t, base, "")
	if resp, err := http.Get(base + "api/v1/noisemap?tenant=noisemap-probe"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/noisemap = %d", resp.StatusCode)
	}
	runBrowserScript(t, node, chromium, uiDir, "tests/noisemap.mjs", artifacts, 6*time.Minute,
		"CITYTWIN_URL="+base,
		"CITYTWIN_MQTT_URL="+ct.MQTTURL,
		"CITYTWIN_TENANT=noisemap",
	)
}
