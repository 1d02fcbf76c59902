package twin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// noise is an observation of noise sensor id in neighbourhood nbh.
func noise(id string, tm time.Time, nbh string, laeq float64) twin.Observation {
	return obs(id, "NoiseLevelObserved", tm, geo.Links{Neighbourhood: nbh}, n("LAeq", laeq))
}

func mins(m int) time.Duration { return time.Duration(m) * time.Minute }

// latestRule alerts on the latest LAeq above 65 dB with 2 dB hysteresis.
var latestRule = twin.Rule{
	ID: "latest", Title: "test", Domain: twin.DomainNoise, Attr: "LAeq",
	Threshold: 65, Hysteresis: 2, Scopes: []geo.Kind{geo.KindNeighbourhood},
}

func rule(id string) twin.Rule {
	for _, r := range twin.DefaultRules() {
		if r.ID == id {
			return r
		}
	}
	panic("no default rule " + id)
}

func only(t *testing.T, got []twin.Alert) twin.Alert {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1: %+v", len(got), got)
	}
	return got[0]
}

func TestAlertDefaultRulesValid(t *testing.T) {
	rules := twin.DefaultRules()
	if err := twin.ValidateRules(rules); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Title == "" || r.Domain == "" || len(r.Scopes) == 0 {
			t.Errorf("rule %s: title, domain and scopes expected: %+v", r.ID, r)
		}
	}
	if r := rule("soil-refill"); r.Threshold != 0.20 || !r.Below {
		t.Fatalf("soil rule %+v, want below 0.20 (StateConfig.RefillVWC default)", r)
	}
}

// TestHysteresis drives one sensor around the threshold (latest value, 65 dB,
// hysteresis 2: the alert closes at ≤ 63):
//
//	dB  66 |    x
//	    65 |- - - - - - - - - - - - - - - - - threshold
//	    64 | x     x     x        x
//	    63 |- - - - - - - -  - - -x - - - - - close level
//	       +--------------------------------
//	         0  1  2  3  4  5  6  7  8  9
//
// It opens once at step 1 and closes at step 6 without flapping in between.
func TestAlertHysteresis(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}})
	steps := []struct {
		v      float64
		change string // "", "open", "peak", "close"
		open   bool
	}{
		{64, "", false},
		{66, "open", true},
		{64, "", true},
		{65.5, "", true},
		{64.9, "", true},
		{63.1, "", true},
		{63, "close", false},
		{64, "", false},
		{64.9, "", false},
		{65.1, "open", true},
	}
	for i, st := range steps {
		got := a.Apply([]twin.Observation{noise("n1", at(60*i), "nil-1", st.v)})
		switch st.change {
		case "":
			if len(got) != 0 {
				t.Fatalf("step %d (%g): unexpected change %+v", i, st.v, got)
			}
		case "open":
			al := only(t, got)
			if !al.Open || al.Value != st.v || al.Peak != st.v || !al.Start.Equal(at(60*i)) || al.Threshold != 65 {
				t.Fatalf("step %d: %+v", i, al)
			}
		case "close":
			al := only(t, got)
			if al.Open || !al.End.Equal(at(60*i)) || al.Peak != 66 || al.Value != st.v {
				t.Fatalf("step %d: %+v", i, al)
			}
		}
		if act := a.Active(); (len(act) == 1) != st.open {
			t.Fatalf("step %d: active %+v, want open=%v", i, act, st.open)
		}
	}
	if r := a.Recent(0); len(r) != 1 || r[0].ID != "latest/default/neighbourhood/nil-1/"+fmt.Sprint(at(60).Unix()) {
		t.Fatalf("recent %+v", r)
	}
}

func TestAlertEnergeticHourlyMean(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{rule("noise-dpcm-iv")}})
	// 60 then 70 dB in the same hour: 10·lg((10^6 + 10^7)/2) = 67.40 dB, above
	// 65 (the arithmetic mean, 65, would not be).
	if got := a.Apply([]twin.Observation{noise("n1", t0, "nil-1", 60)}); len(got) != 0 {
		t.Fatalf("60 dB alerts: %+v", got)
	}
	al := only(t, a.Apply([]twin.Observation{noise("n1", t0.Add(mins(10)), "nil-1", 70)}))
	want := 10 * math.Log10((1e6+1e7)/2)
	near(t, "LAeq 1 h", &al.Value, want, 1e-9)
	near(t, "peak", &al.Peak, 67.4, 0.005)
	if al.Window != time.Hour || al.Attr != "LAeq" || al.PeakSensor != "n1" || !al.PeakTime.Equal(t0.Add(mins(10))) {
		t.Fatalf("%+v", al)
	}
	// 75 minutes on, both readings have left the window (resolution 5 min):
	// the mean is the new 50 dB alone, which closes the alert.
	al = only(t, a.Apply([]twin.Observation{noise("n1", t0.Add(mins(85)), "nil-1", 50)}))
	if al.Open || al.Value != 50 {
		t.Fatalf("%+v", al)
	}
}

func TestAlertWindowMean(t *testing.T) {
	r := rule("pm10-eu-24h") // 24 h mean > 45, buckets of 2 h
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{r}})
	air := func(h int, v float64) twin.Observation {
		return obs("a1", "AirQualityObserved", t0.Add(time.Duration(h)*time.Hour), geo.Links{Neighbourhood: "nil-1"}, n("pm10", v))
	}
	// Hourly 40, 40, then 60 at 12 h: mean 46.7 over the day.
	a.Apply([]twin.Observation{air(0, 40), air(1, 40)})
	al := only(t, a.Apply([]twin.Observation{air(12, 60)}))
	near(t, "pm10 24 h", &al.Value, 140.0/3, 1e-9)
	// 25 h after the start the two 40s are out; only 60 and 30: 45, not above
	// 45 but not below 45 − 5 either: still open.
	if got := a.Apply([]twin.Observation{air(25, 30)}); len(got) != 0 {
		t.Fatalf("%+v", got)
	}
	if act := a.Active(); len(act) != 1 || act[0].Value != 45 {
		t.Fatalf("active %+v", act)
	}
}

func TestAlertNightThreshold(t *testing.T) {
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		local time.Time
		alert bool
		th    float64
	}{
		{"23:00 night", time.Date(2025, 6, 1, 23, 0, 0, 0, rome), true, 55},
		{"05:59 night", time.Date(2025, 6, 2, 5, 59, 0, 0, rome), true, 55},
		{"06:00 day", time.Date(2025, 6, 2, 6, 0, 0, 0, rome), false, 0},
		{"21:00 day", time.Date(2025, 6, 1, 21, 0, 0, 0, rome), false, 0},
		{"22:00 night", time.Date(2025, 6, 1, 22, 0, 0, 0, rome), true, 55},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{rule("noise-dpcm-iv")}, Location: rome})
			got := a.Apply([]twin.Observation{noise("n1", c.local.UTC(), "nil-1", 60)})
			if (len(got) == 1) != c.alert {
				t.Fatalf("60 dB at %s: %+v", c.local, got)
			}
			if c.alert && got[0].Threshold != c.th {
				t.Fatalf("threshold %g, want %g", got[0].Threshold, c.th)
			}
		})
	}
	// In UTC 23:00 Rome is 21:00: day.
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{rule("noise-dpcm-iv")}})
	if got := a.Apply([]twin.Observation{noise("n1", time.Date(2025, 6, 1, 21, 0, 0, 0, time.UTC), "nil-1", 60)}); len(got) != 0 {
		t.Fatalf("UTC engine: %+v", got)
	}
}

func TestAlertPerFeatureThreshold(t *testing.T) {
	r := rule("noise-dpcm-iv")
	r.PerFeature = map[string]float64{"nil-12": 55} // class II by day
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{r}})
	got := a.Apply([]twin.Observation{noise("a", t0, "nil-12", 60), noise("b", t0, "nil-13", 60)})
	al := only(t, got)
	if al.FeatureID != "nil-12" || al.Threshold != 55 {
		t.Fatalf("%+v", al)
	}
	// At night the override keeps the rule's −10 dB: 45 in nil-12, 55 elsewhere.
	night := time.Date(2025, 6, 1, 23, 0, 0, 0, time.UTC)
	a = twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{r}})
	got = a.Apply([]twin.Observation{noise("a", night, "nil-12", 50), noise("b", night, "nil-13", 50)})
	if al := only(t, got); al.FeatureID != "nil-12" || al.Threshold != 45 {
		t.Fatalf("%+v", al)
	}
}

func TestAlertSoilBelowFallback(t *testing.T) {
	// G1 overrides the refill point to 0.25; zone Z1 of G1 inherits it.
	r := twin.RefillRule(twin.StateConfig{RefillByFeature: map[string]float64{"G1": 0.25}})
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{r}})
	soil := func(id string, sec int, l geo.Links, v float64) twin.Observation {
		return obs(id, "GreenspaceRecord", at(sec), l, n("soilMoistureVwc", v))
	}
	unlinked := soil("s3", 0, geo.Links{}, 0.19)
	unlinked.Location = nil
	got := a.Apply([]twin.Observation{
		soil("s1", 0, geo.Links{IrrigationZone: "Z1", GreenArea: "G1"}, 0.22), // zone wins; 0.22 < 0.25
		soil("s2", 0, geo.Links{GreenArea: "G2"}, 0.19),                       // green area; 0.19 < 0.20
		unlinked, // no links: the sensor itself
		soil("s4", 0, geo.Links{GreenArea: "G3"}, 0.20), // equal is not below
	})
	type fk struct {
		kind geo.Kind
		id   string
		th   float64
	}
	var keys []fk
	for _, al := range got {
		keys = append(keys, fk{al.FeatureKind, al.FeatureID, al.Threshold})
	}
	want := []fk{{geo.KindIrrigationZone, "Z1", 0.25}, {geo.KindGreenArea, "G2", 0.20}, {twin.ScopeSensor, "s3", 0.20}}
	if !slices.Equal(keys, want) {
		t.Fatalf("alerts %+v, want %+v", keys, want)
	}
	// Hysteresis 0.02 upwards: 0.26 < 0.27 stays open, 0.27 closes.
	if got := a.Apply([]twin.Observation{soil("s1", 60, geo.Links{IrrigationZone: "Z1", GreenArea: "G1"}, 0.26)}); len(got) != 0 {
		t.Fatalf("%+v", got)
	}
	al := only(t, a.Apply([]twin.Observation{soil("s1", 120, geo.Links{IrrigationZone: "Z1", GreenArea: "G1"}, 0.27)}))
	if al.Open || al.Peak != 0.22 || !al.End.Equal(at(120)) {
		t.Fatalf("%+v", al)
	}
	// An observation without location or links keeps the sensor's links.
	o := soil("s2", 60, geo.Links{}, 0.10)
	o.Location = nil
	al = only(t, a.Apply([]twin.Observation{o}))
	if al.FeatureID != "G2" || al.Peak != 0.10 {
		t.Fatalf("%+v", al)
	}
}

func TestAlertGrouping(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}})
	got := a.Apply([]twin.Observation{noise("b", at(0), "nil-1", 70), noise("a", at(0), "nil-1", 72), noise("c", at(0), "nil-2", 60)})
	al := only(t, got)
	if !slices.Equal(al.Sensors, []string{"a", "b"}) || al.SensorCount != 2 || al.Peak != 72 || al.PeakSensor != "a" || al.Value != 72 {
		t.Fatalf("%+v", al)
	}
	// a comes back; b still exceeds: open, Value is b's.
	if got := a.Apply([]twin.Observation{noise("a", at(60), "nil-1", 60)}); len(got) != 0 {
		t.Fatalf("%+v", got)
	}
	if act := a.Active(); len(act) != 1 || act[0].Value != 70 || act[0].Sensors[0] != "a" {
		t.Fatalf("active %+v", act)
	}
	// b peaks (reported), then comes back: closed.
	al = only(t, a.Apply([]twin.Observation{noise("b", at(120), "nil-1", 74)}))
	if al.Peak != 74 || al.PeakSensor != "b" || !al.PeakTime.Equal(at(120)) {
		t.Fatalf("%+v", al)
	}
	al = only(t, a.Apply([]twin.Observation{noise("b", at(180), "nil-1", 50)}))
	if al.Open || !al.End.Equal(at(180)) || al.Value != 50 {
		t.Fatalf("%+v", al)
	}
}

func TestAlertSensorsBounded(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}})
	var batch []twin.Observation
	for i := range 150 {
		batch = append(batch, noise(fmt.Sprintf("s%03d", 149-i), at(0), "nil-1", 70))
	}
	al := only(t, a.Apply(batch))
	if len(al.Sensors) != twin.MaxAlertSensors || al.SensorCount != 150 || !slices.IsSorted(al.Sensors) || al.Sensors[0] != "s050" {
		t.Fatalf("%d sensors, count %d, first %s", len(al.Sensors), al.SensorCount, al.Sensors[0])
	}
	// Exceeding again does not count twice.
	if got := a.Apply([]twin.Observation{noise("s000", at(60), "nil-1", 60), noise("s000", at(120), "nil-1", 70)}); len(got) != 0 {
		t.Fatalf("%+v", got)
	}
}

func TestAlertTenants(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}})
	o1, o2 := noise("n1", at(0), "nil-1", 70), noise("n1", at(0), "nil-1", 80)
	o2.Tenant = "other"
	got := a.Apply([]twin.Observation{o1, o2})
	if len(got) != 2 || got[0].Tenant != twin.DefaultTenant || got[1].Tenant != "other" || got[0].ID == got[1].ID ||
		got[0].Peak != 70 || got[1].Peak != 80 {
		t.Fatalf("%+v", got)
	}
	o2 = noise("n1", at(60), "nil-1", 50)
	o2.Tenant = "other"
	al := only(t, a.Apply([]twin.Observation{o2}))
	if al.Tenant != "other" || al.Open {
		t.Fatalf("%+v", al)
	}
	if act := a.Active(); len(act) != 1 || act[0].Tenant != twin.DefaultTenant {
		t.Fatalf("%+v", act)
	}
}

func TestAlertOutOfOrder(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{rule("noise-dpcm-iv"), twin.RefillRule(twin.StateConfig{})}})
	// 12:00 50 dB, 13:30 50 dB; a 90 dB reading of 12:10 arrives late: it is
	// older than the hour before 13:30 and ignored.
	//
	//	12:00  12:10  ...  12:30  |  13:20  13:30     window (12:30, 13:30]
	//	 50    (90 late)          |  (80 late) 50
	a.Apply([]twin.Observation{noise("n1", t0, "nil-1", 50), noise("n1", t0.Add(mins(90)), "nil-1", 50)})
	if got := a.Apply([]twin.Observation{noise("n1", t0.Add(mins(10)), "nil-1", 90)}); len(got) != 0 {
		t.Fatalf("old observation counted: %+v", got)
	}
	// A late reading inside the window counts: 10·lg((10^5 + 10^8)/2) = 77 dB.
	al := only(t, a.Apply([]twin.Observation{noise("n1", t0.Add(mins(80)), "nil-1", 80)}))
	near(t, "late in window", &al.Value, 10*math.Log10((1e5+1e8)/2), 1e-9)
	if !al.Start.Equal(t0.Add(mins(90))) {
		t.Fatalf("start %v: the series is judged at its newest time", al.Start)
	}
	// Window 0: an older value than the latest is ignored.
	soil := func(sec int, v float64) twin.Observation {
		return obs("g", "GreenspaceRecord", at(sec), geo.Links{GreenArea: "G"}, n("soilMoistureVwc", v))
	}
	a.Apply([]twin.Observation{soil(60, 0.30)})
	if got := a.Apply([]twin.Observation{soil(0, 0.10)}); len(got) != 0 {
		t.Fatalf("old soil value counted: %+v", got)
	}
}

func TestAlertTickSilentSensor(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{rule("noise-dpcm-iv")}})
	// n1 and n2 report every minute, then n1 dies at 12:10 while exceeding.
	// n2 exceeds too but keeps reporting until 12:40.
	for m := 0; m <= 40; m++ {
		batch := []twin.Observation{noise("n2", t0.Add(mins(m)), "nil-1", 70)}
		if m <= 10 {
			batch = append(batch, noise("n1", t0.Add(mins(m)), "nil-1", 80))
		}
		a.Apply(batch)
	}
	// Silence limit max(1 h window, 2·1 min, 1 h) = 1 h.
	if got := a.Tick(t0.Add(mins(70))); len(got) != 0 {
		t.Fatalf("tick at 13:10: %+v", got)
	}
	// At 13:11 n1 is released but n2 (last seen 12:40) keeps the alert open.
	if got := a.Tick(t0.Add(mins(71))); len(got) != 0 {
		t.Fatalf("tick at 13:11: %+v", got)
	}
	act := a.Active()
	if len(act) != 1 {
		t.Fatalf("active %+v", act)
	}
	near(t, "n2 LAeq", &act[0].Value, 70, 1e-9)
	al := only(t, a.Tick(t0.Add(mins(101))))
	if al.Open || !al.Silent || !al.End.Equal(t0.Add(mins(40))) || al.PeakSensor != "n1" {
		t.Fatalf("%+v", al)
	}
	if len(a.Active()) != 0 || len(a.Recent(5)) != 1 {
		t.Fatal("closed alert not in history")
	}
	// The sensor coming back opens a new alert.
	al = only(t, a.Apply([]twin.Observation{noise("n1", t0.Add(mins(120)), "nil-1", 80)}))
	if !al.Open || al.SensorCount != 1 {
		t.Fatalf("%+v", al)
	}
	// A latest-value rule uses MinSilence while the interval is unknown.
	b := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}, MinSilence: 10 * time.Minute})
	b.Apply([]twin.Observation{noise("n", t0, "nil-1", 70)})
	if got := b.Tick(t0.Add(mins(10))); len(got) != 0 {
		t.Fatalf("%+v", got)
	}
	if got := b.Tick(t0.Add(mins(11))); len(got) != 1 {
		t.Fatalf("%+v", got)
	}
}

func TestAlertRelinkMovesAlert(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}})
	a.Apply([]twin.Observation{noise("n", at(0), "nil-1", 70)})
	got := a.Apply([]twin.Observation{noise("n", at(60), "nil-2", 71)})
	if len(got) != 2 || got[0].FeatureID != "nil-1" || got[0].Open || !got[1].Open || got[1].FeatureID != "nil-2" {
		t.Fatalf("%+v", got)
	}
}

func TestAlertRecentBounded(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule}, History: 3})
	for i := range 5 {
		a.Apply([]twin.Observation{noise("n", at(120*i), "nil-1", 70), noise("n", at(120*i+60), "nil-1", 60)})
	}
	r := a.Recent(0)
	if len(r) != 3 {
		t.Fatalf("%d recent, want 3", len(r))
	}
	for i, al := range r {
		if want := at(120*(4-i) + 60); !al.End.Equal(want) {
			t.Fatalf("recent[%d] ended %v, want %v (newest first)", i, al.End, want)
		}
	}
	if r := a.Recent(2); len(r) != 2 || !r[0].End.Equal(at(540)) {
		t.Fatalf("%+v", r)
	}
	// Returned alerts are copies.
	r[0].Sensors[0] = "x"
	if a.Recent(1)[0].Sensors[0] != "n" {
		t.Fatal("Recent shares its slices")
	}
}

func TestAlertNoMatchingRule(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{})
	got := a.Apply([]twin.Observation{
		obs("t", "TrafficFlowObserved", at(0), geo.Links{}, n("intensity", 1e6)),
		obs("x", "AirQualityObserved", at(0), geo.Links{}, n("LAeq", 100)), // LAeq rule is for noise only
		obs("y", "NoiseLevelObserved", at(0), geo.Links{}, twin.Attr{Name: "LAeq", Kind: twin.KindString, Str: "90"}),
	})
	if len(got) != 0 || len(a.Active()) != 0 {
		t.Fatalf("%+v", got)
	}
	// A rule without a domain applies to every domain.
	r := latestRule
	r.Domain = ""
	b := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{r}})
	if got := b.Apply([]twin.Observation{obs("x", "Custom", at(0), geo.Links{}, n("LAeq", 100))}); len(got) != 1 || got[0].FeatureKind != twin.ScopeSensor {
		t.Fatalf("%+v", got)
	}
}

func TestAlertJSON(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{})
	al := only(t, a.Apply([]twin.Observation{noise("n", t0, "nil-1", 80)}))
	b, err := json.Marshal(al)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"featureKind":"neighbourhood"`, `"featureId":"nil-1"`, `"window":"1h0m0s"`,
		`"start":"2025-06-01T12:00:00Z"`, `"peakSensor":"n"`, `"open":true`, `"sensors":["n"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	if strings.Contains(s, `"end"`) || strings.Contains(s, `"Window"`) {
		t.Errorf("open alert with end or Go field name: %s", s)
	}
}

func TestLoadRules(t *testing.T) {
	in := `{"rules": [
		{"id": "noise-dpcm-iv", "threshold": 60, "perFeature": {"nil-12": 55}},
		{"id": "o3-eu-8h", "disabled": true},
		{"id": "pm10-eu-24h", "nightThreshold": 40, "window": "12h"},
		{"id": "co-8h", "domain": "air", "attr": "co", "window": "8h", "threshold": 10000, "hysteresis": 500,
		 "scopes": ["district", "sensor"], "title": "CO"}
	]}`
	rules, err := twin.LoadRules(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	if want := []string{"noise-dpcm-iv", "no2-eu-1h", "pm10-eu-24h", "pm25-eu-24h", "soil-refill", "co-8h"}; !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	noise := rules[0]
	if noise.Threshold != 60 || *noise.NightThreshold != 55 || noise.Hysteresis != 2 || noise.Window != time.Hour ||
		!noise.Energetic || noise.PerFeature["nil-12"] != 55 {
		t.Fatalf("override %+v", noise)
	}
	if pm := rules[2]; pm.Window != 12*time.Hour || pm.NightThreshold == nil || *pm.NightThreshold != 40 || pm.Threshold != 45 {
		t.Fatalf("override %+v", pm)
	}
	if co := rules[5]; co.Attr != "co" || co.Window != 8*time.Hour || co.Domain != twin.DomainAir ||
		!slices.Equal(co.Scopes, []geo.Kind{geo.KindDistrict, twin.ScopeSensor}) {
		t.Fatalf("new rule %+v", co)
	}
	// The defaults marshal to a file that loads back to themselves.
	b, err := json.Marshal(map[string]any{"rules": twin.DefaultRules()})
	if err != nil {
		t.Fatal(err)
	}
	back, err := twin.LoadRules(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%v", deref(back)), fmt.Sprintf("%v", deref(twin.DefaultRules())); got != want {
		t.Fatalf("round trip:\n%s\nwant\n%s", got, want)
	}
}

// deref replaces NightThreshold pointers by values for printing.
func deref(rules []twin.Rule) []any {
	var out []any
	for _, r := range rules {
		night := math.NaN()
		if r.NightThreshold != nil {
			night = *r.NightThreshold
		}
		r.NightThreshold = nil
		out = append(out, r, night)
	}
	return out
}

func TestLoadRulesErrors(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{`{"rules":[{"id":"noise-dpcm-iv"},{"id":"x","attr":"a"},{"id":"noise-dpcm-iv2","attr":"LAeq","window":"x"}]}`,
			`rules[2].window: "x" is not a duration (rule "noise-dpcm-iv2")`},
		{`{"rules":[{"id":"noise-dpcm-iv","window":3600}]}`, `rules[0].window: 3600 is not a duration string`},
		{`{"rules":[{"id":"noise-dpcm-iv","window":"-1h"}]}`, `rules[0].window: must be ≥ 0, got -1h0m0s (rule "noise-dpcm-iv")`},
		{`{"rules":[{"id":"no2-eu-1h","hysteresis":-1}]}`, `rules[0].hysteresis: must be a finite number ≥ 0, got -1 (rule "no2-eu-1h")`},
		{`{"rules":[{"id":"no2-eu-1h","scopes":["neighbourhood","moon"]}]}`, `rules[0].scopes[1]: "moon" is not a feature kind`},
		{`{"rules":[{"id":"new","threshold":1}]}`, `rules[0].attr: must not be empty (rule "new")`},
		{`{"rules":[{"id":"no2-eu-1h","attr":""}]}`, `rules[0].attr: must not be empty`},
		{`{"rules":[{"id":"no2-eu-1h","threshold":"high"}]}`, `rules[0].threshold: "high" is not a number`},
		{`{"rules":[{"id":"no2-eu-1h","treshold":1}]}`, `rules[0].treshold: unknown field`},
		{`{"rules":[{"id":"no2-eu-1h","domain":"sea"}]}`, `rules[0].domain: "sea" is not a domain`},
		{`{"rules":[{"id":"no2-eu-1h","perFeature":{"a":"b"}}]}`, `rules[0].perFeature: must be an object`},
		{`{"rules":[{"id":"no2-eu-1h","below":1}]}`, `rules[0].below: must be true or false`},
		{`{"rules":[{"attr":"x"}]}`, `rules[0].id: must be a non-empty string`},
		{`{"rules":[{"id":"a","attr":"x"},{"id":"a","attr":"y"}]}`, `rules[1].id: given twice (rule "a")`},
		{`{"rules":[3]}`, `rules[0]: must be a JSON object`},
		{`{"rule":[]}`, `unknown field "rule"`},
		{`[]`, `decode rules file`},
	} {
		_, err := twin.LoadRules(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %s", c.in, err, c.want)
		}
	}
	_, err := twin.LoadRules(strings.NewReader(`{"rules":[{"id":"x","attr":"a","window":"x"}]}`))
	var re *twin.RuleError
	if !errors.As(err, &re) || re.Index != 0 || re.Field != "window" || re.ID != "x" {
		t.Fatalf("%#v", err)
	}
}

func TestNewAlertsPanicsOnInvalidRules(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "rules[1].id: duplicate id") {
			t.Fatalf("recovered %v", r)
		}
	}()
	twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{latestRule, latestRule}})
}

func TestAlertsConcurrent(t *testing.T) {
	a := twin.NewAlerts(twin.AlertConfig{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				a.Apply([]twin.Observation{noise(fmt.Sprint("n", g, i%7), at(i), fmt.Sprint("nil-", i%3), float64(50+i%30))})
				if i%50 == 0 {
					a.Tick(at(i))
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				for _, al := range a.Active() {
					if !al.Open || len(al.Sensors) == 0 {
						t.Errorf("bad active alert %+v", al)
					}
				}
				_ = a.Recent(10)
			}
		}()
	}
	wg.Wait()
}
