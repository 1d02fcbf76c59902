package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
	"github.com/citytwin/citytwin/web"
)

// fakeLevels answers NoiseLevels with fixed levels and records its calls.
type fakeLevels struct {
	levels map[string]web.SensorLevel
	err    error

	mu      sync.Mutex
	calls   int
	tenants []string
	ats     []time.Time
}

func (f *fakeLevels) NoiseLevels(_ context.Context, tenant string, at time.Time) (map[string]web.SensorLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.tenants = append(f.tenants, tenant)
	f.ats = append(f.ats, at)
	return f.levels, f.err
}

// noiseModel is a city of two parallel 1.1 km roads 400 m apart along lat
// 45.0 and 45.0036, a primary one (40,000 veh/day with 4 lanes) and a
// residential one (1,000 veh/day): two groups.
func noiseModel(t *testing.T) *dynamap.Model {
	t.Helper()
	city, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{geo.KindRoad: {
		{ID: "main", RoadClass: "primary", Lanes: 4, Geometry: orb.LineString{{9.0, 45.0}, {9.014, 45.0}}},
		{ID: "side", RoadClass: "residential", Geometry: orb.LineString{{9.0, 45.0036}, {9.014, 45.0036}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups()) != 2 {
		t.Fatalf("%d groups, want 2", len(m.Groups()))
	}
	return m
}

type gridBody struct {
	BBox       [4]float64 `json:"bbox"`
	NX         int        `json:"nx"`
	NY         int        `json:"ny"`
	CellMetres float64    `json:"cellMetres"`
	Time       time.Time  `json:"time"`
	Levels     []*float64 `json:"levels"`
	Groups     []struct {
		Group     int     `json:"group"`
		Reporting int     `json:"reporting"`
		DeltaDb   float64 `json:"deltaDb"`
		Reference bool    `json:"reference"`
	} `json:"groups"`
	HeldOut struct {
		N int `json:"n"`
	} `json:"heldOut"`
	Sensors struct {
		Reporting, Ignored, Unused int
	} `json:"sensors"`
}

// get asks the server at base for target.
func get(t *testing.T, base, target string) (response, []byte) {
	t.Helper()
	r := request(t, http.MethodGet, base+target)
	return r, r.body
}

func TestNoiseMapLive(t *testing.T) {
	m := noiseModel(t)
	// Two sensors by the primary road, one by the residential road, one too
	// far from any road (unused), one with an impossible level (left out).
	main1, main2 := orb.Point{9.004, 45.0001}, orb.Point{9.010, 45.0001}
	ref := func(p orb.Point) float64 {
		s := 0.0
		for _, e := range m.ReferenceEnergy(p) {
			s += e
		}
		return 10 * math.Log10(s)
	}
	live := &fakeLevels{levels: map[string]web.SensorLevel{
		"n1":  {Point: main1, Road: "main", LAeq: ref(main1) + 2},
		"n2":  {Point: main2, Road: "main", LAeq: ref(main2) + 4},
		"n3":  {Point: orb.Point{9.007, 45.0037}, LAeq: 55},
		"far": {Point: orb.Point{9.007, 45.0018}, LAeq: 50},
		"bad": {Point: main1, LAeq: math.NaN()},
	}}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	nm := &web.NoiseMap{Model: m, Live: live, Now: func() time.Time { return now }}
	h := serve(t, nm.Register)

	res, body := get(t, h, "/api/v1/noisemap?tenant=milano")
	if res.code != 200 || res.header.Get("Content-Type") != "application/json" || res.header.Get("Cache-Control") != "max-age=60" {
		t.Fatalf("status %d, %v: %s", res.code, res.header, body)
	}
	var g gridBody
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	g0 := m.Grid()
	if g.NX != g0.NX || g.NY != g0.NY || len(g.Levels) != g0.Len() || !g.Time.Equal(now) || g.CellMetres != 100 {
		t.Errorf("grid %d × %d (%d levels) at %v, want %d × %d at %v", g.NX, g.NY, len(g.Levels), g.Time, g0.NX, g0.NY, now)
	}
	// Group 1 (main): δ = (2 + 4)/2 = 3; group 0 (side): one sensor.
	if len(g.Groups) != 2 || g.Groups[1].Reporting != 2 || math.Abs(g.Groups[1].DeltaDb-3) > 0.005 || g.Groups[0].Reporting != 1 {
		t.Errorf("groups %+v, want main's δ = 3 from 2 sensors and side's from 1", g.Groups)
	}
	if g.Sensors.Reporting != 3 || g.Sensors.Unused != 1 || g.HeldOut.N != 3 {
		t.Errorf("sensors %+v, held out %d; want 3 reporting, 1 unused, 3 held out", g.Sensors, g.HeldOut.N)
	}
	if live.calls != 1 || live.tenants[0] != "milano" || !live.ats[0].Equal(now) {
		t.Errorf("source asked %d times, %v at %v", live.calls, live.tenants, live.ats)
	}

	// Within the interval the cached map is served, in either format.
	now = now.Add(30 * time.Second)
	res, body = get(t, h, "/api/v1/noisemap?tenant=milano&format=geojson")
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Properties struct {
				LAeq float64 `json:"LAeq"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
		t.Fatalf("geojson: %v, %s with %d features", err, fc.Type, len(fc.Features))
	}
	if res.header.Get("Content-Type") != "application/geo+json" || res.header.Get("Cache-Control") != "max-age=30" || live.calls != 1 {
		t.Errorf("cached geojson: %v, source asked %d times; want max-age=30 and 1 call", res.header, live.calls)
	}
	// After it, the map is recomputed; another tenant has its own.
	now = now.Add(31 * time.Second)
	get(t, h, "/api/v1/noisemap?tenant=milano")
	get(t, h, "/api/v1/noisemap")
	if live.calls != 3 || live.tenants[2] != twin.DefaultTenant {
		t.Errorf("source asked %d times for %v, want 3, the last for %s", live.calls, live.tenants, twin.DefaultTenant)
	}
}

func TestNoiseMapReplay(t *testing.T) {
	m := noiseModel(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	past := &fakeLevels{levels: map[string]web.SensorLevel{"n1": {Point: orb.Point{9.004, 45.0001}, Road: "main", LAeq: 70}}}
	live := &fakeLevels{}
	nm := &web.NoiseMap{Model: m, Live: live, Past: past, Now: func() time.Time { return now }}
	h := serve(t, nm.Register)

	res, body := get(t, h, "/api/v1/noisemap?at=2026-11-22T08:30:00%2B01:00")
	if res.code != 200 || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, %v: %s", res.code, res.header, body)
	}
	var g gridBody
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 22, 7, 30, 0, 0, time.UTC)
	if !g.Time.Equal(want) || past.calls != 1 || !past.ats[0].Equal(want) || live.calls != 0 || g.Sensors.Reporting != 1 {
		t.Errorf("replay at %v (source asked %d times at %v, live %d), reporting %d; want %v", g.Time, past.calls, past.ats, live.calls, g.Sensors.Reporting, want)
	}

	for _, tc := range []struct {
		query  string
		status int
		detail string
	}{
		{"at=yesterday", 400, "at must be an RFC 3339 time"},
		{"at=2026-09-01T00:00:00Z", 400, "at must be within the last 720h0m0s"},
		{"at=2026-11-22T11:00:00Z", 400, "at must be within"},
		{"format=png", 400, "format must be json (the default) or geojson"},
	} {
		res, body := get(t, h, "/api/v1/noisemap?"+tc.query)
		if res.code != tc.status || res.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), tc.detail) {
			t.Errorf("%s: %d %s, want %d naming %q", tc.query, res.code, body, tc.status, tc.detail)
		}
	}

	past.err = errors.New("influx down")
	if res, body := get(t, h, "/api/v1/noisemap?at=2026-11-22T09:00:00Z"); res.code != 502 || !strings.Contains(string(body), "influx down") {
		t.Errorf("source error: %d %s, want 502", res.code, body)
	}
	nm2 := &web.NoiseMap{Model: m, Live: live, Now: func() time.Time { return now }}
	if res, _ := get(t, serve(t, nm2.Register), "/api/v1/noisemap?at=2026-11-22T09:00:00Z"); res.code != 501 {
		t.Errorf("replay without Past: %d, want 501", res.code)
	}
}

func TestStateLevels(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	st := twin.NewState(nil, twin.StateConfig{})
	noise := func(id string, at time.Time, laeq float64) twin.Observation {
		return twin.Observation{Tenant: "milano", EntityID: id, EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise,
			Time: at, Location: orb.Point{9.004, 45.0001}, Links: geo.Links{Road: "main"},
			Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: laeq}}}
	}
	air := noise("air", now, 0)
	air.EntityType, air.Domain, air.Attrs = "AirQualityObserved", twin.DomainAir, []twin.Attr{{Name: "no2", Kind: twin.KindNumber, Num: 30}}
	other := noise("elsewhere", now, 60)
	other.Tenant = "torino"
	st.Apply([]twin.Observation{noise("fresh", now.Add(-time.Minute), 61.5), noise("old", now.Add(-time.Hour), 70), air, other})
	got, err := web.StateLevels{State: st}.NoiseLevels(t.Context(), "milano", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["fresh"].LAeq != 61.5 || got["fresh"].Road != "main" || got["fresh"].Point != (orb.Point{9.004, 45.0001}) {
		t.Errorf("levels %+v, want only the fresh noise sensor of milano", got)
	}
}

func TestHistoryLevels(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	obs := func(id string, ago time.Duration, loc orb.Geometry, laeq float64) twin.Observation {
		o := twin.Observation{Tenant: "milano", EntityID: id, EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise,
			Time: at.Add(-ago), Location: loc}
		if loc != nil {
			o.Links.Road = "main"
		}
		if laeq >= 0 {
			o.Attrs = []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: laeq}}
		}
		return o
	}
	line := orb.LineString{{9.0, 45.0}, {9.002, 45.002}}
	h := &pastHistory{obs: []twin.Observation{
		obs("a", 20*time.Minute, orb.Point{9.004, 45.0001}, 60),
		obs("a", 5*time.Minute, nil, 62), // newer level, no location: the older one stands
		obs("b", 10*time.Minute, line, 58),
		obs("c", 10*time.Minute, nil, 50), // never located: left out
		obs("d", 10*time.Minute, orb.Point{9, 45}, -1),
	}}
	got, err := web.HistoryLevels{History: h}.NoiseLevels(t.Context(), "milano", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"].LAeq != 62 || got["a"].Point != (orb.Point{9.004, 45.0001}) || got["a"].Road != "main" ||
		math.Abs(got["b"].Point[0]-9.001) > 1e-9 || math.Abs(got["b"].Point[1]-45.001) > 1e-9 || h.window != web.DefaultReplayWindow || !h.at.Equal(at) {
		t.Errorf("levels %+v (asked for window %v at %v), want a at 62 dB and b at its line's centre", got, h.window, h.at)
	}
	h.err = errors.New("boom")
	if _, err := (web.HistoryLevels{History: h}).NoiseLevels(t.Context(), "milano", at); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("history error: %v", err)
	}
}

// TestNoiseMapSetModel: a model rebuilt (with measured flows) replaces the
// cached live map at once.
func TestNoiseMapSetModel(t *testing.T) {
	live := &fakeLevels{levels: map[string]web.SensorLevel{"n1": {Point: orb.Point{9.004, 45.0001}, Road: "main", LAeq: 70}}}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	nm := &web.NoiseMap{Model: noiseModel(t), Live: live, Now: func() time.Time { return now }}
	h := serve(t, nm.Register)
	groups := func() int {
		_, body := get(t, h, "/api/v1/noisemap")
		var g gridBody
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatal(err)
		}
		return len(g.Groups)
	}
	if n := groups(); n != 2 {
		t.Fatalf("%d groups with class flows, want 2", n)
	}
	// Both roads measured at the same flow: one group.
	city, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{geo.KindRoad: {
		{ID: "main", RoadClass: "primary", Lanes: 4, Geometry: orb.LineString{{9.0, 45.0}, {9.014, 45.0}}},
		{ID: "side", RoadClass: "residential", Geometry: orb.LineString{{9.0, 45.0036}, {9.014, 45.0036}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	measured, err := dynamap.New(dynamap.Config{}, city, map[string]float64{"main": 12000, "side": 12000})
	if err != nil {
		t.Fatal(err)
	}
	nm.SetModel(measured)
	if n := groups(); n != 1 || live.calls != 2 {
		t.Errorf("after SetModel: %d groups from %d level reads; want 1 group, the map recomputed within its interval (2 reads)", n, live.calls)
	}
}
