package twin_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func obs(id, typ string, tm time.Time, links geo.Links, attrs ...twin.Attr) twin.Observation {
	return twin.Observation{
		Tenant: twin.DefaultTenant, EntityID: id, EntityType: typ, Domain: twin.DomainOf(typ),
		Time: tm, Location: orb.Point{9.19, 45.46}, Links: links, Attrs: attrs,
	}
}

func n(name string, v float64) twin.Attr { return twin.Attr{Name: name, Kind: twin.KindNumber, Num: v} }

func near(t *testing.T, what string, got *float64, want, tol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil, want %g", what, want)
	}
	if math.Abs(*got-want) > tol {
		t.Fatalf("%s = %g, want %g ± %g", what, *got, want, tol)
	}
}

func TestApplyLatestValue(t *testing.T) {
	s := twin.NewState(nil, twin.StateConfig{})
	l := geo.Links{District: "D1"}
	s.Apply([]twin.Observation{
		obs("n1", "NoiseLevelObserved", at(60), l, n("LAeq", 60), n("LAmax", 80)),
		// Older observation arriving late: LAeq stays 60, the new attribute is kept.
		obs("n1", "NoiseLevelObserved", at(0), l, n("LAeq", 50), n("LA90", 40),
			twin.Attr{Name: "sonometerClass", Kind: twin.KindString, Str: "1"}),
	})
	sn, ok := s.Sensor(twin.DefaultTenant, "n1")
	if !ok {
		t.Fatal("sensor n1 missing")
	}
	if got := sn.Values["LAeq"]; got.Num != 60 || !got.Time.Equal(at(60)) || got.Kind != twin.KindNumber {
		t.Fatalf("LAeq = %+v, want 60 at %v", got, at(60))
	}
	if got := sn.Values["LA90"]; got.Num != 40 || !got.Time.Equal(at(0)) {
		t.Fatalf("LA90 = %+v", got)
	}
	if got := sn.Values["sonometerClass"]; got.Str != "1" || got.Kind != twin.KindString {
		t.Fatalf("sonometerClass = %+v", got)
	}
	if !sn.LastSeen.Equal(at(60)) || sn.Interval != 0 {
		t.Fatalf("LastSeen %v Interval %v, want %v and 0 (out-of-order does not count)", sn.LastSeen, sn.Interval, at(60))
	}
	if sn.Type != "NoiseLevelObserved" || sn.Domain != twin.DomainNoise || sn.Tenant != twin.DefaultTenant || sn.Links != l {
		t.Fatalf("metadata %+v", sn)
	}
	// Newer value replaces; booleans and units round-trip.
	s.Apply([]twin.Observation{obs("n1", "NoiseLevelObserved", at(120), geo.Links{},
		twin.Attr{Name: "LAeq", Kind: twin.KindNumber, Num: 65, Unit: "2N"},
		twin.Attr{Name: "ok", Kind: twin.KindBool, Bool: true})})
	sn, _ = s.Sensor(twin.DefaultTenant, "n1")
	if v := sn.Values["LAeq"]; v.Num != 65 || v.Unit != "2N" {
		t.Fatalf("LAeq = %+v", v)
	}
	if v := sn.Values["ok"]; !v.Bool || v.Kind != twin.KindBool {
		t.Fatalf("ok = %+v", v)
	}
	if sn.Links != (geo.Links{}) {
		t.Fatalf("a located observation with zero links unlinks the sensor, got %+v", sn.Links)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
	if _, ok := s.Sensor("other", "n1"); ok {
		t.Fatal("tenants must not share sensors")
	}
}

func TestApplyKeepsLinksWithoutLocation(t *testing.T) {
	s := twin.NewState(nil, twin.StateConfig{})
	s.Apply([]twin.Observation{obs("a", "AirQualityObserved", at(0), geo.Links{District: "D1"}, n("no2", 10))})
	o := obs("a", "AirQualityObserved", at(60), geo.Links{}, n("no2", 20))
	o.Location = nil
	s.Apply([]twin.Observation{o})
	sn, _ := s.Sensor(twin.DefaultTenant, "a")
	if sn.Links.District != "D1" || sn.Location == nil {
		t.Fatalf("links/location lost: %+v", sn)
	}
	ind := s.Indicators(geo.KindDistrict, "D1", at(60))
	near(t, "NO2", ind.NO2, 20, 0)
}

func TestStaleEWMA(t *testing.T) {
	s := twin.NewState(nil, twin.StateConfig{})
	l := geo.Links{District: "D1"}
	for i := 0; i <= 10; i++ {
		s.Apply([]twin.Observation{obs("t1", "TrafficFlowObserved", at(i*300), l, n("intensity", 10))})
	}
	sn, _ := s.Sensor(twin.DefaultTenant, "t1")
	if sn.Interval != 5*time.Minute {
		t.Fatalf("Interval = %v, want 5m", sn.Interval)
	}
	last := at(3000)
	for _, c := range []struct {
		after time.Duration
		stale bool
	}{{0, false}, {15 * time.Minute, false}, {15*time.Minute + time.Second, true}} {
		if got := s.Stale(last.Add(c.after), sn); got != c.stale {
			t.Errorf("after %v: stale = %v, want %v", c.after, got, c.stale)
		}
	}
	// One 10-minute gap moves the EWMA by 0.2·(10m − 5m) = 1m.
	s.Apply([]twin.Observation{obs("t1", "TrafficFlowObserved", at(3600), l, n("intensity", 10))})
	sn, _ = s.Sensor(twin.DefaultTenant, "t1")
	if sn.Interval != 6*time.Minute {
		t.Fatalf("Interval = %v, want 6m", sn.Interval)
	}
	// Indicators count stale sensors apart.
	ind := s.Indicators(geo.KindDistrict, "D1", at(3600).Add(19*time.Minute))
	if ind.Sensors != 0 || ind.StaleSensors != 1 || ind.Flow != nil {
		t.Fatalf("stale sensor counted: %+v", ind)
	}
	// A fast sensor is still bounded below by MinStale (2 min).
	s.Apply([]twin.Observation{
		obs("f", "NoiseLevelObserved", at(0), l, n("LAeq", 50)),
		obs("f", "NoiseLevelObserved", at(1), l, n("LAeq", 50)),
	})
	f, _ := s.Sensor(twin.DefaultTenant, "f")
	if s.Stale(at(1).Add(2*time.Minute), f) || !s.Stale(at(1).Add(2*time.Minute+1), f) {
		t.Fatal("MinStale bound not applied")
	}
	// Staleness agrees with Stale for every sensor.
	now := at(3600).Add(10 * time.Minute) // t1 (6 min interval) fresh, f stale
	got := map[string]bool{}
	s.Staleness(now, func(tenant, id string, stale bool) bool {
		if tenant != twin.DefaultTenant {
			t.Errorf("tenant %q", tenant)
		}
		got[id] = stale
		return true
	})
	t1, _ := s.Sensor(twin.DefaultTenant, "t1")
	if len(got) != 2 || got["t1"] != s.Stale(now, t1) || got["f"] != s.Stale(now, f) || got["t1"] || !got["f"] {
		t.Fatalf("Staleness %v, want t1 fresh and f stale as Stale says", got)
	}
}

func TestEnergeticMean(t *testing.T) {
	s := twin.NewState(nil, twin.StateConfig{})
	l := geo.Links{Neighbourhood: "N1", Road: "R1"}
	s.Apply([]twin.Observation{
		obs("n1", "NoiseLevelObserved", at(0), l, n("LAeq", 60)),
		obs("n2", "NoiseLevelObserved", at(0), l, n("LAeq", 70)),
	})
	for _, k := range []geo.Kind{geo.KindNeighbourhood, geo.KindRoad} {
		id := map[geo.Kind]string{geo.KindNeighbourhood: "N1", geo.KindRoad: "R1"}[k]
		ind := s.Indicators(k, id, at(10))
		// 10·lg((10^6 + 10^7)/2) = 67.40 dB.
		near(t, "LAeq", ind.LAeq, 10*math.Log10((1e6+1e7)/2), 1e-9)
		near(t, "LAeq rounded", ind.LAeq, 67.4, 0.005)
		if ind.NoiseSensors != 2 || ind.Sensors != 2 {
			t.Fatalf("%s counts %+v", k, ind)
		}
	}
	s.Apply([]twin.Observation{obs("n3", "NoiseLevelObserved", at(0), l, n("LAeq", 70))})
	ind := s.Indicators(geo.KindNeighbourhood, "N1", at(10))
	near(t, "LAeq 60,70,70", ind.LAeq, 10*math.Log10((1e6+2e7)/3), 1e-9) // 68.45
}

func TestAQIBands(t *testing.T) {
	cases := []struct {
		p      string
		bounds [5]float64
	}{
		{"pm25", [5]float64{10, 20, 25, 50, 75}},
		{"pm10", [5]float64{20, 40, 50, 100, 150}},
		{"no2", [5]float64{40, 90, 120, 230, 340}},
		{"o3", [5]float64{50, 100, 130, 240, 380}},
	}
	for _, c := range cases {
		if b, ok := twin.AQIBandOf(c.p, 0); !ok || b != 0 {
			t.Errorf("%s 0: band %d", c.p, b)
		}
		for i, u := range c.bounds {
			if b, _ := twin.AQIBandOf(c.p, u); b != i {
				t.Errorf("%s %g: band %d, want %d (upper bound inclusive)", c.p, u, b, i)
			}
			if b, _ := twin.AQIBandOf(c.p, u+0.1); b != i+1 {
				t.Errorf("%s %g: band %d, want %d", c.p, u+0.1, b, i+1)
			}
		}
		// Through the state: one sensor at the bound of "poor".
		s := twin.NewState(nil, twin.StateConfig{})
		s.Apply([]twin.Observation{obs("a", "AirQualityObserved", at(0), geo.Links{District: "D"}, n(c.p, c.bounds[3]))})
		ind := s.Indicators(geo.KindDistrict, "D", at(0))
		if ind.AQIBand != twin.AQIPoor || ind.AQIPollutant != c.p {
			t.Errorf("%s: band %q by %q, want poor by %s", c.p, ind.AQIBand, ind.AQIPollutant, c.p)
		}
	}
	if _, ok := twin.AQIBandOf("co", 1); ok {
		t.Error("co is not an index pollutant")
	}
	// Worst pollutant decides.
	band, p := twin.AQI(map[string]float64{"pm25": 5, "pm10": 45, "no2": 100, "o3": 60})
	if band != twin.AQIModerate || p != "pm10" {
		t.Fatalf("AQI = %q by %q, want moderate by pm10 (tie with no2 goes to the earlier pollutant)", band, p)
	}
	if band, p := twin.AQI(map[string]float64{"so2": 1}); band != "" || p != "" {
		t.Fatal("no index pollutant must give no band")
	}
	s := twin.NewState(nil, twin.StateConfig{})
	l := geo.Links{District: "D"}
	s.Apply([]twin.Observation{
		obs("a1", "AirQualityObserved", at(0), l, n("pm25", 12), n("no2", 30), n("o3", 390)),
		obs("a2", "AirQualityObserved", at(0), l, n("pm25", 28), n("no2", 50)),
	})
	ind := s.Indicators(geo.KindDistrict, "D", at(0))
	near(t, "PM25", ind.PM25, 20, 1e-12)
	near(t, "NO2", ind.NO2, 40, 1e-12)
	near(t, "O3", ind.O3, 390, 0)
	if ind.PM10 != nil || ind.AQIBand != twin.AQIExtremelyPoor || ind.AQIPollutant != "o3" {
		t.Fatalf("indicators %+v", ind)
	}
}

func testCity(t testing.TB) *geo.City {
	t.Helper()
	p := func(x, y float64) orb.Point { return orb.Point{9 + x*0.01, 45 + y*0.01} }
	box := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1), p(x0, y0)}
	}
	c, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{
		geo.KindDistrict: {{ID: "D1", Geometry: orb.Polygon{box(0, 0, 10, 10)}}, {ID: "D2", Geometry: orb.Polygon{box(10, 0, 20, 10)}}},
		geo.KindRoad: {
			{ID: "R30", SpeedLimit: 30, Geometry: orb.LineString{p(0, 5), p(10, 5)}},
			{ID: "Rnone", Geometry: orb.LineString{p(0, 2), p(10, 2)}},
		},
		geo.KindGreenArea:      {{ID: "G1", Geometry: orb.Polygon{box(20, 0, 24, 4)}}},
		geo.KindIrrigationZone: {{ID: "Z1", Parent: "G1", Geometry: orb.Polygon{box(20, 0, 22, 2)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCongestion(t *testing.T) {
	s := twin.NewState(testCity(t), twin.StateConfig{})
	// Earlier readings give the intensities their periods: t1 300 s, t2
	// 150 s; t4's first intensity takes its usual interval (60 s, from a
	// reading without intensity); t5 has one reading only.
	s.Apply([]twin.Observation{
		obs("t1", "TrafficFlowObserved", at(-300), geo.Links{Road: "R30", District: "D1"}, n("intensity", 90)),
		obs("t2", "TrafficFlowObserved", at(-150), geo.Links{Road: "R30", District: "D1"}, n("intensity", 40)),
		obs("t4", "TrafficFlowObserved", at(-60), geo.Links{Road: "Rnone", District: "D1"}, n("averageVehicleSpeed", 70)),
	})
	s.Apply([]twin.Observation{
		// Road limit 30: 1 − 15/30 = 0.5 beats occupancy 0.2.
		obs("t1", "TrafficFlowObserved", at(0), geo.Links{Road: "R30", District: "D1"},
			n("intensity", 100), n("occupancy", 0.2), n("averageVehicleSpeed", 15)),
		// Same road: occupancy 0.9 beats 1 − 30/30 = 0.
		obs("t2", "TrafficFlowObserved", at(0), geo.Links{Road: "R30", District: "D1"},
			n("intensity", 50), n("occupancy", 0.9), n("averageVehicleSpeed", 30)),
		// No speed limit: free flow 50, 1 − 40/50 = 0.2; faster than free flow clamps to 0.
		obs("t3", "TrafficFlowObserved", at(0), geo.Links{Road: "Rnone", District: "D1"}, n("averageVehicleSpeed", 40)),
		obs("t4", "TrafficFlowObserved", at(0), geo.Links{Road: "Rnone", District: "D1"}, n("averageVehicleSpeed", 70), n("intensity", 5)),
		obs("t5", "TrafficFlowObserved", at(0), geo.Links{Road: "Rnone", District: "D1"}, n("intensity", 7)),
	})
	r := s.Indicators(geo.KindRoad, "R30", at(0))
	near(t, "R30 congestion", r.Congestion, (0.5+0.9)/2, 1e-12)
	// 100 vehicles in 300 s + 50 in 150 s = 1,200 + 1,200 veh/h.
	near(t, "R30 flow", r.Flow, 2400, 1e-9)
	near(t, "R30 speed", r.Speed, 22.5, 1e-12)
	r = s.Indicators(geo.KindRoad, "Rnone", at(0))
	near(t, "Rnone congestion", r.Congestion, 0.1, 1e-12)
	// t4: 5 vehicles in its 60 s interval = 300 veh/h; t5 (period unknown) left out.
	near(t, "Rnone flow", r.Flow, 300, 1e-9)
	d := s.Indicators(geo.KindDistrict, "D1", at(0))
	near(t, "D1 congestion", d.Congestion, (0.5+0.9+0.2+0)/4, 1e-12)
	near(t, "D1 flow", d.Flow, 2700, 1e-9)
	if d.Sensors != 5 || d.LAeq != nil || d.AQIBand != "" || d.SoilMoisture != nil {
		t.Fatalf("D1 %+v", d)
	}
}

// TestFlowPeriod: an older intensity arriving late and a replacement at the
// same time leave the latest intensity's period as it was.
func TestFlowPeriod(t *testing.T) {
	s := twin.NewState(testCity(t), twin.StateConfig{})
	l := geo.Links{Road: "R30"}
	s.Apply([]twin.Observation{obs("t", "TrafficFlowObserved", at(0), l, n("intensity", 10))})
	if f := s.Indicators(geo.KindRoad, "R30", at(0)).Flow; f != nil {
		t.Fatalf("flow after a first reading = %v, want unknown", *f)
	}
	s.Apply([]twin.Observation{obs("t", "TrafficFlowObserved", at(120), l, n("intensity", 30))})
	near(t, "flow", s.Indicators(geo.KindRoad, "R30", at(120)).Flow, 900, 1e-9) // 30 per 2 min
	s.Apply([]twin.Observation{
		obs("t", "TrafficFlowObserved", at(60), l, n("intensity", 99)),  // older: ignored
		obs("t", "TrafficFlowObserved", at(120), l, n("intensity", 40)), // same time: replaces the count
	})
	near(t, "flow", s.Indicators(geo.KindRoad, "R30", at(120)).Flow, 1200, 1e-9) // 40 per 2 min
	// A stated period wins over the time since the previous count.
	o := obs("t", "TrafficFlowObserved", at(180), l, n("intensity", 50))
	o.Period = 5 * time.Minute
	s.Apply([]twin.Observation{o})
	near(t, "flow", s.Indicators(geo.KindRoad, "R30", at(180)).Flow, 600, 1e-9) // 50 per 5 min
}

func TestSoilMoisture(t *testing.T) {
	s := twin.NewState(testCity(t), twin.StateConfig{RefillByFeature: map[string]float64{"Z1": 0.25}})
	s.Apply([]twin.Observation{
		obs("g1", "GreenspaceRecord", at(0), geo.Links{GreenArea: "G1"}, n("soilMoistureVwc", 0.24)),
		// Linked to the zone only: rolls up to G1 through the zone's parent.
		obs("g2", "GreenspaceRecord", at(0), geo.Links{IrrigationZone: "Z1"}, n("soilMoistureVwc", 0.22)),
	})
	g := s.Indicators(geo.KindGreenArea, "G1", at(0))
	near(t, "G1 soil", g.SoilMoisture, 0.23, 1e-12)
	near(t, "G1 deficit", g.WaterDeficitMM, (0.32-0.23)*1000*0.3, 1e-9) // 27 mm
	if g.Sensors != 2 || g.NeedsWater == nil || *g.NeedsWater {
		t.Fatalf("G1 (0.23 > default 0.20) %+v", g)
	}
	z := s.Indicators(geo.KindIrrigationZone, "Z1", at(0))
	near(t, "Z1 soil", z.SoilMoisture, 0.22, 1e-12)
	if z.NeedsWater == nil || !*z.NeedsWater {
		t.Fatalf("Z1 (0.22 ≤ override 0.25) %+v", z)
	}
	// Threshold is inclusive; wet soil has no deficit.
	s2 := twin.NewState(nil, twin.StateConfig{})
	s2.Apply([]twin.Observation{
		obs("a", "GreenspaceRecord", at(0), geo.Links{GreenArea: "G", District: "D"}, n("soilMoistureVwc", 0.20)),
		obs("b", "GreenspaceRecord", at(0), geo.Links{GreenArea: "H"}, n("soilMoistureVwc", 0.40)),
	})
	if g := s2.Indicators(geo.KindGreenArea, "G", at(0)); !*g.NeedsWater {
		t.Fatal("0.20 ≤ 0.20 needs water")
	}
	h := s2.Indicators(geo.KindGreenArea, "H", at(0))
	near(t, "wet deficit", h.WaterDeficitMM, 0, 0)
	if d := s2.Indicators(geo.KindDistrict, "D", at(0)); d.NeedsWater != nil || d.SoilMoisture == nil {
		t.Fatalf("areas report soil moisture but not NeedsWater: %+v", d)
	}
}

func TestRelink(t *testing.T) {
	s := twin.NewState(testCity(t), twin.StateConfig{})
	s.Apply([]twin.Observation{obs("n", "NoiseLevelObserved", at(0), geo.Links{District: "D1", Road: "R30"}, n("LAeq", 55))})
	s.Apply([]twin.Observation{obs("n", "NoiseLevelObserved", at(60), geo.Links{District: "D2"}, n("LAeq", 56))})
	if i := s.Indicators(geo.KindDistrict, "D1", at(60)); i.Sensors != 0 || i.LAeq != nil {
		t.Fatalf("D1 still has the sensor: %+v", i)
	}
	if i := s.Indicators(geo.KindRoad, "R30", at(60)); i.Sensors != 0 {
		t.Fatalf("R30 still has the sensor: %+v", i)
	}
	near(t, "D2 LAeq", s.Indicators(geo.KindDistrict, "D2", at(60)).LAeq, 56, 0)
	// An older observation does not move it back.
	s.Apply([]twin.Observation{obs("n", "NoiseLevelObserved", at(30), geo.Links{District: "D1"}, n("LAeq", 40))})
	if i := s.Indicators(geo.KindDistrict, "D2", at(60)); i.Sensors != 1 {
		t.Fatalf("out-of-order observation relinked: %+v", i)
	}
	all := s.AllIndicators(geo.KindDistrict, at(60))
	if len(all) != 2 || all["D1"].Sensors != 0 || all["D2"].Sensors != 1 {
		t.Fatalf("AllIndicators %+v", all)
	}
}

func TestEmptyFeature(t *testing.T) {
	s := twin.NewState(testCity(t), twin.StateConfig{})
	if got := s.Indicators(geo.KindGreenArea, "G1", at(0)); got != (twin.Indicators{}) {
		t.Fatalf("empty feature: %+v", got)
	}
	if got := s.Indicators(geo.Kind("bogus"), "x", at(0)); got != (twin.Indicators{}) {
		t.Fatalf("unknown kind: %+v", got)
	}
	all := s.AllIndicators(geo.KindRoad, at(0))
	if len(all) != 2 {
		t.Fatalf("AllIndicators lists every road of the city: %v", all)
	}
	var seen int
	s.Sensors(func(twin.Sensor) bool { seen++; return true })
	if seen != 0 || s.Len() != 0 {
		t.Fatal("no sensors expected")
	}
}

func TestSensorsStop(t *testing.T) {
	s := twin.NewState(nil, twin.StateConfig{})
	for i := range 10 {
		s.Apply([]twin.Observation{obs(fmt.Sprint("s", i), "WeatherObserved", at(0), geo.Links{}, n("temperature", 20))})
	}
	var seen int
	s.Sensors(func(sn twin.Sensor) bool { seen++; return seen < 3 })
	if seen != 3 {
		t.Fatalf("seen %d, want 3", seen)
	}
}

func TestConcurrentApplyIndicators(t *testing.T) {
	s := twin.NewState(testCity(t), twin.StateConfig{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 500 {
			d := []string{"D1", "D2"}[i%2]
			s.Apply([]twin.Observation{
				obs(fmt.Sprint("n", i%20), "NoiseLevelObserved", at(i), geo.Links{District: d, Road: "R30"}, n("LAeq", 50+float64(i%10))),
				obs(fmt.Sprint("t", i%20), "TrafficFlowObserved", at(i), geo.Links{District: d, Road: "R30"}, n("occupancy", 0.5)),
			})
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_ = s.Indicators(geo.KindDistrict, "D1", at(i))
				_ = s.AllIndicators(geo.KindRoad, at(i))
				s.Sensors(func(sn twin.Sensor) bool { _ = sn.Values["LAeq"]; return true })
				_, _ = s.Sensor(twin.DefaultTenant, "n1")
			}
		}()
	}
	wg.Wait()
	if s.Len() != 40 {
		t.Fatalf("Len = %d, want 40", s.Len())
	}
	all := s.AllIndicators(geo.KindDistrict, at(500))
	if all["D1"].Sensors+all["D2"].Sensors != 40 {
		t.Fatalf("sensors lost in the index: %+v", all)
	}
}
