package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/web"
)

func square(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// replayCity is one district holding one neighbourhood and one park.
func replayCity(t *testing.T) *geo.City {
	t.Helper()
	city, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{
		geo.KindDistrict:      {{ID: "d1", Name: "Centro", Geometry: square(9.0, 45.0, 9.1, 45.1)}},
		geo.KindNeighbourhood: {{ID: "n1", Name: "Brera", Parent: "d1", Geometry: square(9.0, 45.0, 9.1, 45.1)}},
		geo.KindGreenArea:     {{ID: "g1", Name: "Parco", Geometry: square(9.05, 45.05, 9.06, 45.06)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return city
}

// pastHistory answers LatestBefore with fixed observations and records
// what it was asked.
type pastHistory struct {
	obs []twin.Observation
	err error

	mu     sync.Mutex
	tenant string
	at     time.Time
	window time.Duration
}

func (p *pastHistory) LatestBefore(_ context.Context, tenant string, at time.Time, window time.Duration, fn func([]twin.Observation) error) error {
	p.mu.Lock()
	p.tenant, p.at, p.window = tenant, at, window
	p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	return fn(p.obs)
}

type replayBody struct {
	At      time.Time `json:"at"`
	Window  string    `json:"window"`
	Tenant  string    `json:"tenant"`
	Sensors []struct {
		ID     string  `json:"id"`
		Domain string  `json:"domain"`
		Lon    float64 `json:"lon"`
		Lat    float64 `json:"lat"`
		Stale  bool    `json:"stale"`
		Values map[string]struct {
			Value      any       `json:"value"`
			UnitCode   string    `json:"unitCode"`
			ObservedAt time.Time `json:"observedAt"`
		} `json:"values"`
		Links map[string]string `json:"links"`
	} `json:"sensors"`
	Features []struct {
		Kind       string         `json:"kind"`
		ID         string         `json:"id"`
		Indicators map[string]any `json:"indicators"`
	} `json:"features"`
}

func TestReplayShowsThePast(t *testing.T) {
	city := replayCity(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := now.Add(-3 * time.Hour)
	links := geo.Links{District: "d1", Neighbourhood: "n1"}
	num := func(name string, v float64, unit string) []twin.Attr {
		return []twin.Attr{{Name: name, Kind: twin.KindNumber, Num: v, Unit: unit}}
	}
	obs := func(tenant, id, typ string, d twin.Domain, t time.Time, attrs []twin.Attr) twin.Observation {
		return twin.Observation{Tenant: tenant, EntityID: id, EntityType: typ, Domain: d, Time: t,
			Location: orb.Point{9.05, 45.05}, Links: links, Attrs: attrs}
	}

	// The live twin has learnt that n1 reports every minute; s1 has been
	// seen once.
	live := twin.NewState(city, twin.StateConfig{})
	for i := range 4 {
		live.Apply([]twin.Observation{obs("milano", "n1", "NoiseLevelObserved", twin.DomainNoise, now.Add(time.Duration(i-4)*time.Minute), num("LAeq", 70, "2N"))})
	}
	live.Apply([]twin.Observation{obs("milano", "s1", "NoiseLevelObserved", twin.DomainNoise, now, num("LAeq", 70, "2N"))})
	// c1 counts vehicles every 2 minutes.
	for i := range 3 {
		live.Apply([]twin.Observation{obs("milano", "c1", "TrafficFlowObserved", twin.DomainTraffic, now.Add(time.Duration(2*i-4)*time.Minute), num("intensity", 10, ""))})
	}

	past := &pastHistory{obs: []twin.Observation{
		obs("milano", "a1", "AirQualityObserved", twin.DomainAir, at.Add(-2*time.Minute), num("no2", 250, "")),
		obs("milano", "n1", "NoiseLevelObserved", twin.DomainNoise, at.Add(-90*time.Second), num("LAeq", 48, "")),
		obs("milano", "n1", "NoiseLevelObserved", twin.DomainNoise, at.Add(-30*time.Second), num("LAeq", 50, "")),
		obs("milano", "s1", "NoiseLevelObserved", twin.DomainNoise, at.Add(-50*time.Minute), num("LAeq", 90, "")),
		obs("torino", "t1", "NoiseLevelObserved", twin.DomainNoise, at.Add(-time.Minute), num("LAeq", 99, "")),
		obs("milano", "c1", "TrafficFlowObserved", twin.DomainTraffic, at.Add(-time.Minute), num("intensity", 40, "")),
	}}
	base := serve(t, (&web.Replay{City: city, State: live, History: past, Now: func() time.Time { return now }}).Register)

	q := url.Values{"at": {at.Format(time.RFC3339)}}
	r := request(t, http.MethodGet, base+"/api/v1/replay?"+q.Encode(), "NGSILD-Tenant", "milano")
	var body replayBody
	if err := json.Unmarshal(r.body, &body); err != nil || r.code != 200 {
		t.Fatalf("replay = %d %s: %v", r.code, r.body, err)
	}
	if past.tenant != "milano" || !past.at.Equal(at) || past.window != web.DefaultReplayWindow {
		t.Errorf("history asked for %q at %v over %v", past.tenant, past.at, past.window)
	}
	if body.Tenant != "milano" || !body.At.Equal(at) || body.Window != "1h0m0s" {
		t.Errorf("answer header %q %v %q", body.Tenant, body.At, body.Window)
	}
	ids := []string{}
	for _, s := range body.Sensors {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"a1", "c1", "n1", "s1"}) {
		t.Fatalf("sensors %v, want a1 c1 n1 s1 (not torino's)", ids)
	}
	n1, s1 := body.Sensors[2], body.Sensors[3]
	if v := n1.Values["LAeq"]; v.Value != 50.0 || v.UnitCode != "2N" || !v.ObservedAt.Equal(at.Add(-30*time.Second)) || n1.Stale {
		t.Errorf("n1 = %+v: want its newest value 50 before `at`, the live unit, not stale", n1)
	}
	if n1.Lon != 9.05 || n1.Lat != 45.05 || n1.Links["neighbourhood"] != "n1" || n1.Domain != "noise" {
		t.Errorf("n1 location and links %+v", n1)
	}
	if !s1.Stale {
		t.Errorf("s1, silent for 50 min at `at`, is not stale")
	}
	var n1ind map[string]any
	for _, f := range body.Features {
		if f.Kind == "neighbourhood" && f.ID == "n1" {
			n1ind = f.Indicators
		}
		if f.Kind == "greenarea" {
			t.Errorf("park g1 has no sensor but is listed: %+v", f)
		}
	}
	// n1, a1 and c1 count; s1 is stale. The LAeq is n1's alone, the AQI
	// a1's NO2 (230–340: very poor), the flow c1's 40 vehicles over its usual
	// 2 minutes = 1,200 veh/h.
	if n1ind == nil || n1ind["sensorCount"] != 3.0 || n1ind["staleSensorCount"] != 1.0 || n1ind["LAeq"] != 50.0 ||
		n1ind["aqiBand"] != twin.AQIVeryPoor || n1ind["no2"] != 250.0 || n1ind["intensity"] != 1200.0 {
		t.Errorf("neighbourhood n1 at `at`: %v", n1ind)
	}

	q.Set("window", "15m")
	q.Set("tenant", "torino")
	if r := request(t, http.MethodGet, base+"/api/v1/replay?"+q.Encode()); r.code != 200 || past.window != 15*time.Minute || past.tenant != "torino" {
		t.Errorf("window and tenant from the query: %d, asked %v %q", r.code, past.window, past.tenant)
	}

	for _, bad := range []string{"", "at=yesterday", "at=" + now.Add(-40*24*time.Hour).Format(time.RFC3339),
		"at=" + now.Add(time.Hour).Format(time.RFC3339), "at=" + url.QueryEscape(at.Format(time.RFC3339)) + "&window=30s",
		"at=" + url.QueryEscape(at.Format(time.RFC3339)) + "&window=48h"} {
		if r := request(t, http.MethodGet, base+"/api/v1/replay?"+bad); r.code != http.StatusBadRequest {
			t.Errorf("replay?%s = %d %s, want 400", bad, r.code, r.body)
		}
	}
	past.err = errors.New("influxdb down")
	if r := request(t, http.MethodGet, base+"/api/v1/replay?at="+url.QueryEscape(at.Format(time.RFC3339))); r.code != http.StatusBadGateway {
		t.Errorf("history failing = %d, want 502", r.code)
	}
}

// fakeTemporal answers Temporal with lastN=1 values of each sensor.
type fakeTemporal struct {
	inflight, peak atomic.Int32
	mu             sync.Mutex
	asked          []history.TemporalQuery
	fail           string
}

func (f *fakeTemporal) Temporal(_ context.Context, q history.TemporalQuery) (history.TemporalResult, error) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	f.mu.Lock()
	f.asked = append(f.asked, q)
	f.mu.Unlock()
	if q.EntityID == f.fail {
		return history.TemporalResult{}, errors.New("boom")
	}
	t0 := q.EndTimeAt.Add(-time.Minute)
	return history.TemporalResult{EntityType: "NoiseLevelObserved", Found: true, Values: map[string][]history.Value{
		"LAeq":  {{Time: t0, Kind: twin.KindNumber, Num: 55}},
		"LAmax": {{Time: t0.Add(-time.Second), Kind: twin.KindNumber, Num: 70}},
	}}, nil
}
