package planner_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
)

// A small city: road r-a crosses neighbourhood n-1, road r-b crosses n-2
// 2.2 km north (beyond the 500 m propagation cutoff), one park g-1 in n-1.
func testCity(t testing.TB) *geo.City {
	t.Helper()
	box := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	city, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{
		geo.KindDistrict:      {{ID: "d-1", Name: "Municipio 1", Geometry: box(9.16, 45.44, 9.22, 45.50)}},
		geo.KindNeighbourhood: {{ID: "n-1", Name: "South", Geometry: box(9.17, 45.45, 9.21, 45.47)}, {ID: "n-2", Name: "North", Geometry: box(9.17, 45.47, 9.21, 45.49)}},
		geo.KindRoad: {
			{ID: "r-a", Name: "Via A", RoadClass: "primary", SpeedLimit: 50, Geometry: orb.LineString{{9.18, 45.46}, {9.20, 45.46}}},
			{ID: "r-b", Name: "Via B", RoadClass: "primary", SpeedLimit: 50, Geometry: orb.LineString{{9.18, 45.48}, {9.20, 45.48}}},
		},
		geo.KindGreenArea: {{ID: "g-1", Name: "Parco", Geometry: box(9.185, 45.452, 9.187, 45.454)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return city
}

type sensor struct {
	id, typ string
	at      orb.Point
	links   geo.Links
}

var sensors = []sensor{
	{"n1", "NoiseLevelObserved", orb.Point{9.190, 45.4601}, geo.Links{District: "d-1", Neighbourhood: "n-1", Road: "r-a", RoadDistance: 11}},
	{"n2", "NoiseLevelObserved", orb.Point{9.190, 45.4801}, geo.Links{District: "d-1", Neighbourhood: "n-2", Road: "r-b", RoadDistance: 11}},
	{"a1", "AirQualityObserved", orb.Point{9.195, 45.4601}, geo.Links{District: "d-1", Neighbourhood: "n-1", Road: "r-a", RoadDistance: 11}},
	{"t1", "TrafficFlowObserved", orb.Point{9.185, 45.460}, geo.Links{District: "d-1", Neighbourhood: "n-1", Road: "r-a"}},
	{"s1", "GreenspaceRecord", orb.Point{9.186, 45.453}, geo.Links{District: "d-1", Neighbourhood: "n-1", GreenArea: "g-1"}},
	{"w1", "WeatherObserved", orb.Point{9.190, 45.455}, geo.Links{District: "d-1", Neighbourhood: "n-1"}},
}

// The synthetic history, as hourly rollups: two local days (Europe/Rome)
// from 2026-11-10 00:00. Noise: 66 dB(A) from 07 to 23 local, 56 at night
// (both sensors); NO2 40 µg/m³; traffic 600 veh/h on r-a; soil 0.25
// m³/m³; weather 18–30 °C, RH 40–80 %, wind 2 m/s, 250 W/m², no rain.
func writeHistory(t *testing.T, db *testenv.InfluxDB, start time.Time, hours int) {
	rome, _ := time.LoadLocation("Europe/Rome")
	var b strings.Builder
	for i := range hours {
		h := start.Add(time.Duration(i) * time.Hour)
		local := h.In(rome).Hour()
		laeq := 56.0
		if local >= 7 && local < 23 {
			laeq = 66
		}
		for _, s := range sensors {
			var fields string
			switch s.typ {
			case "NoiseLevelObserved":
				fields = fmt.Sprintf("LAeq=%g,LAeq_n=60", laeq)
			case "AirQualityObserved":
				fields = "no2=40,no2_n=60"
			case "TrafficFlowObserved":
				fields = "intensity_sum=600,intensity=10,averageVehicleSpeed=45,occupancy=0.2"
			case "GreenspaceRecord":
				fields = "soilMoistureVwc=0.25"
			case "WeatherObserved":
				fields = "temperature_max=30,temperature_min=18,relativeHumidity=0.6,relativeHumidity_max=0.8,relativeHumidity_min=0.4,windSpeed=2,solarRadiation=250,precipitation_sum=0"
			}
			tags := fmt.Sprintf("district=%s,entity_id=%s,tenant=t1,type=%s", s.links.District, s.id, s.typ)
			if s.links.Neighbourhood != "" {
				tags += ",neighbourhood=" + s.links.Neighbourhood
			}
			if s.links.Road != "" {
				tags += ",road=" + s.links.Road
			}
			if s.links.GreenArea != "" {
				tags += ",greenspace=" + s.links.GreenArea
			}
			fields += fmt.Sprintf(`,location="{\"type\":\"Point\",\"coordinates\":[%g,%g]}"`, s.at[0], s.at[1])
			fmt.Fprintf(&b, "%s,%s %s %d\n", history.HourlyMeasurement, tags, fields, h.UnixNano())
		}
	}
	db.Write(t, b.String())
}

func newPlanner(t *testing.T, now time.Time, twinCfg ...twin.StateConfig) (*planner.Planner, *geo.City) {
	db := testenv.StartInfluxDB(t)
	city := testCity(t)
	start := time.Date(2026, 11, 10, 0, 0, 0, 0, mustRome())
	writeHistory(t, db, start, 48)
	hist, err := history.New(history.Config{URL: db.URL, Token: db.Token, Org: db.Org, Bucket: db.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hist.Close)
	// The live twin knows nothing: sensors are placed by the locations
	// stored with their rollups.
	var sc twin.StateConfig
	if len(twinCfg) > 0 {
		sc = twinCfg[0]
	}
	state := twin.NewState(city, sc)
	model, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New(planner.Config{Now: func() time.Time { return now }}, city, state, hist, model)
	if err != nil {
		t.Fatal(err)
	}
	return p, city
}

func mustRome() *time.Location {
	l, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return l
}

func lden(day, evening, night float64) float64 {
	return 10 * math.Log10((12*math.Pow(10, day/10)+4*math.Pow(10, (evening+5)/10)+8*math.Pow(10, (night+10)/10))/24)
}

func near(t *testing.T, what string, got *float64, want, tol float64) {
	t.Helper()
	if got == nil || math.Abs(*got-want) > tol {
		g := "null"
		if got != nil {
			g = fmt.Sprint(*got)
		}
		t.Errorf("%s = %s, want %.4f ± %g", what, g, want, tol)
	}
}

// A 30 % traffic cut on the roads of n-1 against the synthetic history:
// every figure is recomputed here from the inputs, independently of the
// planner's code path.
func TestTrafficScenario(t *testing.T) {
	rome := mustRome()
	now := time.Date(2026, 11, 12, 9, 30, 0, 0, rome)
	p, _ := newPlanner(t, now)
	share := 0.5
	spec := planner.Spec{Name: "n-1 −30 %", Tenant: "t1",
		Baseline: planner.Window{Start: time.Date(2026, 11, 10, 0, 0, 0, 0, rome), End: time.Date(2026, 11, 12, 0, 0, 0, 0, rome)},
		Area:     planner.Area{Neighbourhoods: []string{"n-1"}},
		Traffic:  &planner.TrafficSpec{FlowChangePct: -30},
		Air:      &planner.AirSpec{BackgroundShare: &share},
	}
	res, err := p.Run(t.Context(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second run on the same window reuses the baseline and gives the
	// same answer.
	again, err := p.Run(t.Context(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Timing.Cached || res.Timing.Cached || again.Timing.Points != 0 || len(again.Traffic.Sensors) != len(res.Traffic.Sensors) ||
		*again.Traffic.Areas[0].Noise.LdenAfter != *res.Traffic.Areas[0].Noise.LdenAfter {
		t.Errorf("second run: cached %v (first %v), points %d, %d sensors", again.Timing.Cached, res.Timing.Cached, again.Timing.Points, len(again.Traffic.Sensors))
	}
	tr := res.Traffic
	dl := 10 * math.Log10(0.7) // −1.549 dB: flow only, any mix and speed

	roads := map[string]planner.RoadResult{}
	for _, r := range tr.Roads {
		roads[r.ID] = r
	}
	if len(roads) != 1 {
		t.Fatalf("roads %v, want only r-a (the road of n-1)", tr.Roads)
	}
	ra := roads["r-a"]
	near(t, "r-a deltaDb", ra.DeltaDB, dl, 0.005)
	if ra.FlowBefore != 600 || ra.FlowAfter != 420 || !ra.MeasuredFlow {
		t.Errorf("r-a flow %g → %g measured %v, want 600 → 420 from its traffic sensor", ra.FlowBefore, ra.FlowAfter, ra.MeasuredFlow)
	}
	// Roadside NO2 near r-a: 40·(0.5 + 0.5·0.7) − 40 = −6.
	near(t, "r-a no2Delta", ra.NO2Delta, -6, 1e-9)

	// n1 hears only r-a (r-b is beyond the cutoff): its hours shift by ΔL.
	before, after := lden(66, 66, 56), lden(66+dl, 66+dl, 56+dl)
	got := map[string]planner.SensorResult{}
	for _, s := range tr.Sensors {
		got[s.ID] = s
	}
	n1 := got["n1"]
	near(t, "n1 Lden before", n1.Noise.LdenBefore, before, 0.005)
	near(t, "n1 Lden after", n1.Noise.LdenAfter, after, 0.005)
	if math.Abs(n1.DeltaDB-dl) > 0.005 || n1.ChangedShare != 1 {
		t.Errorf("n1 shift %g share %g, want %.3f and 1", n1.DeltaDB, n1.ChangedShare, dl)
	}
	// Hours above class IV (65 day 06–22, 55 night 22–06) per local day:
	// before 07–21 at 66 (15) + 22 at 66 + 23–05 at 56 (7) = 23; after
	// 64.45/54.45: only 22 at 64.45 > 55 = 1. Two days.
	if n1.Noise.HoursAboveBefore != 46 || n1.Noise.HoursAboveAfter != 2 {
		t.Errorf("n1 hours above %d → %d, want 46 → 2", n1.Noise.HoursAboveBefore, n1.Noise.HoursAboveAfter)
	}
	n2 := got["n2"]
	if n2.DeltaDB != 0 || *n2.Noise.LdenDelta != 0 {
		t.Errorf("n2 (far from r-a) changed: shift %g, Lden delta %v", n2.DeltaDB, *n2.Noise.LdenDelta)
	}
	a1 := got["a1"]
	near(t, "a1 NO2 after", a1.NO2.MeanAfter, 34, 1e-9)
	if a1.TrafficRatio != 0.7 {
		t.Errorf("a1 traffic ratio %g, want 0.7", a1.TrafficRatio)
	}
	areas := map[string]planner.AreaResult{}
	for _, a := range tr.Areas {
		areas[string(a.Kind)+"/"+a.ID] = a
	}
	n1a := areas["neighbourhood/n-1"]
	near(t, "n-1 Lden delta", n1a.Noise.LdenDelta, after-before, 0.01)
	near(t, "n-1 NO2 delta", n1a.NO2Delta, -6, 1e-9)
	// The district holds n1 and n2: energetic mean of both, hour by hour.
	dBefore := lden(66, 66, 56) // both at the same level before
	dAfter := lden(10*math.Log10((math.Pow(10, (66+dl)/10)+math.Pow(10, 6.6))/2), 10*math.Log10((math.Pow(10, (66+dl)/10)+math.Pow(10, 6.6))/2),
		10*math.Log10((math.Pow(10, (56+dl)/10)+math.Pow(10, 5.6))/2))
	near(t, "d-1 Lden delta", areas["district/d-1"].Noise.LdenDelta, dAfter-dBefore, 0.01)
	if tr.Background.Share != 0.5 {
		t.Errorf("background %+v, want the given 0.5", tr.Background)
	}
	if res.Timing.Points == 0 || res.Timing.InfluxMs <= 0 || len(res.Assumptions) < 5 {
		t.Errorf("timing %+v, %d assumptions", res.Timing, len(res.Assumptions))
	}

	// Exports: the CSV has the road row, the GeoJSON the road and areas.
	var buf bytes.Buffer
	if err := planner.WriteCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if r[2] == "r-a" && r[4] == "flow_veh_h" && r[6] == "600" && r[7] == "420" {
			found = true
		}
	}
	if !found {
		t.Errorf("CSV has no r-a flow row 600 → 420: %v", rows[:min(5, len(rows))])
	}
	fc := p.GeoJSON(res)
	layers := map[string]int{}
	for _, f := range fc.Features {
		layers[f.Properties["layer"].(string)]++
	}
	if layers["road"] != 1 || layers["neighbourhood"] != 2 || layers["sensor"] != 3 {
		t.Errorf("GeoJSON layers %v, want 1 road, 2 neighbourhoods, 3 sensors", layers)
	}
}

// Closing r-a and moving 60 % of its traffic to r-b: r-a's emission is
// gone, r-b's flow grows by 360 veh/h.
func TestClosureAndDiversion(t *testing.T) {
	rome := mustRome()
	now := time.Date(2026, 11, 12, 9, 30, 0, 0, rome)
	p, _ := newPlanner(t, now)
	res, err := p.Run(t.Context(), planner.Spec{Name: "close r-a", Tenant: "t1",
		Baseline: planner.Window{Start: time.Date(2026, 11, 10, 0, 0, 0, 0, rome), End: time.Date(2026, 11, 12, 0, 0, 0, 0, rome)},
		Area:     planner.Area{Roads: []string{"r-a"}},
		Traffic:  &planner.TrafficSpec{Close: []string{"r-a"}, Divert: map[string]float64{"r-b": 60}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Traffic.Roads {
		switch r.ID {
		case "r-a":
			if !r.Closed || r.DeltaDB != nil || r.FlowAfter != 0 {
				t.Errorf("r-a %+v, want closed with no emission", r)
			}
		case "r-b":
			// r-b has no traffic sensor: its flow is the class table's.
			want := 10 * math.Log10((r.FlowBefore+360)/r.FlowBefore)
			near(t, "r-b deltaDb", r.DeltaDB, want, 0.01)
			if !r.Diverted {
				t.Error("r-b not marked diverted")
			}
		}
	}
}

// The parks' water needs for a week under two policies.
func TestIrrigationScenario(t *testing.T) {
	rome := mustRome()
	now := time.Date(2026, 11, 12, 9, 30, 0, 0, rome)
	p, _ := newPlanner(t, now)
	res, err := p.Run(t.Context(), planner.Spec{Name: "parks", Tenant: "t1",
		Baseline: planner.Window{Start: time.Date(2026, 11, 10, 0, 0, 0, 0, rome), End: time.Date(2026, 11, 12, 0, 0, 0, 0, rome)},
		Area:     planner.Area{Neighbourhoods: []string{"n-1"}},
		Irrigation: &planner.IrrigationSpec{HorizonDays: 7, Policies: []planner.PolicySpec{
			{Policy: "threshold"}, {Policy: "fixed", EveryDays: 2, DepthMM: 10}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ir := res.Irrigation
	if len(ir.GreenAreas) != 1 || ir.GreenAreas[0].ID != "g-1" || !ir.GreenAreas[0].Measured {
		t.Fatalf("green areas %+v, want g-1 with measured soil", ir.GreenAreas)
	}
	g := ir.GreenAreas[0]
	// Fixed: days 0, 2, 4, 6 → 4 events of 10 mm; volume = 40 mm × area.
	fixed := g.Results[1]
	if fixed.Events != 4 || fixed.IrrigationMM != 40 || math.Abs(fixed.VolumeM3-40*g.AreaM2/1000) > 0.05 {
		t.Errorf("fixed %+v (area %g m²), want 4 events, 40 mm, %g m³", fixed, g.AreaM2, 40*g.AreaM2/1000)
	}
	// The threshold policy refills at the live twin's refill point 0.20:
	// 0.32 − p·(0.32 − 0.12) = 0.20 → p = 0.6; TAW = 1000·0.20·0.3 = 60 mm,
	// RAW = 0.6·60 = 36 mm.
	if g.P != 0.6 || g.TAWMM != 60 || g.RAWMM != 36 {
		t.Errorf("p %g, TAW %g, RAW %g: want 0.6, 60, 36", g.P, g.TAWMM, g.RAWMM)
	}
	if a := strings.Join(res.Assumptions, " "); !strings.Contains(a, "p 0.6 (the live twin's refill point") {
		t.Errorf("assumptions do not state p: %s", a)
	}
	// Threshold: the depletion starts near 1000·(0.32 − 0.25)·0.3 = 21 mm
	// plus a day of ET; with ETc of a few mm a day it reaches RAW and
	// refills within the week, to field capacity each time.
	th := g.Results[0]
	if th.Events < 1 || th.StressDays != 0 {
		t.Errorf("threshold %+v, want at least one refill and no stress day", th)
	}
	var sum float64
	for _, e := range th.Schedule {
		sum += e.MM
		if e.MM < g.RAWMM {
			t.Errorf("threshold event %+v below RAW %g", e, g.RAWMM)
		}
	}
	if math.Abs(sum-th.IrrigationMM) > 0.05 {
		t.Errorf("schedule sums to %g mm, total %g", sum, th.IrrigationMM)
	}
	if len(ir.Weather) != 7 || ir.Weather[0].Method == "" || ir.Weather[0].ET0MM <= 0 {
		t.Errorf("horizon weather %+v", ir.Weather)
	}
}

// A green area whose refill point the operator set (twin RefillByFeature)
// gets its p from it; a p in the spec wins.
func TestIrrigationRefillPoint(t *testing.T) {
	rome := mustRome()
	now := time.Date(2026, 11, 12, 9, 30, 0, 0, rome)
	p, _ := newPlanner(t, now, twin.StateConfig{RefillByFeature: map[string]float64{"g-1": 0.24}})
	spec := planner.Spec{Name: "parks", Tenant: "t1",
		Baseline:   planner.Window{Start: time.Date(2026, 11, 10, 0, 0, 0, 0, rome), End: time.Date(2026, 11, 12, 0, 0, 0, 0, rome)},
		Area:       planner.Area{Neighbourhoods: []string{"n-1"}},
		Irrigation: &planner.IrrigationSpec{HorizonDays: 3, Policies: []planner.PolicySpec{{Policy: "threshold"}}},
	}
	for _, tc := range []struct {
		p, wantP, wantRAW float64
	}{
		{0, 0.4, 24},   // 0.32 − p·0.20 = 0.24 → p 0.4; RAW 0.4·60
		{0.5, 0.5, 30}, // given
	} {
		spec.Irrigation.P = tc.p
		res, err := p.Run(t.Context(), spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := res.Irrigation.GreenAreas[0]
		if g.P != tc.wantP || g.RAWMM != tc.wantRAW {
			t.Errorf("spec p %g: p %g RAW %g, want %g, %g", tc.p, g.P, g.RAWMM, tc.wantP, tc.wantRAW)
		}
	}
}

// Analytics: the noise of each neighbourhood over the two days.
func TestAnalyticsNoise(t *testing.T) {
	rome := mustRome()
	now := time.Date(2026, 11, 12, 9, 30, 0, 0, rome)
	p, _ := newPlanner(t, now)
	an, err := p.Analyze(t.Context(), planner.Query{Domain: planner.DomainNoise, Tenant: "t1", GroupBy: planner.ByNeighbourhood,
		Window: planner.Window{Start: time.Date(2026, 11, 10, 0, 0, 0, 0, rome), End: time.Date(2026, 11, 12, 0, 0, 0, 0, rome)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(an.Rows) != 2 {
		t.Fatalf("rows %+v, want n-1 and n-2", an.Rows)
	}
	for _, r := range an.Rows {
		near(t, r.ID+" Lden", r.Metrics["Lden"].(*float64), lden(66, 66, 56), 0.005)
		if r.Metrics["hoursAbove"] != 46 || r.Hours != 48 {
			t.Errorf("%s hours above %v of %d, want 46 of 48", r.ID, r.Metrics["hoursAbove"], r.Hours)
		}
	}
	tr, err := p.Analyze(t.Context(), planner.Query{Domain: planner.DomainTraffic, Tenant: "t1", GroupBy: planner.ByRoad,
		Window: planner.Window{Start: time.Date(2026, 11, 10, 0, 0, 0, 0, rome), End: time.Date(2026, 11, 12, 0, 0, 0, 0, rome)}})
	if err != nil {
		t.Fatal(err)
	}
	// 600 veh/h × 48 h; speed 45 vs limit 50: congestion 0.1, occupancy
	// 0.2 → index 0.2, never congested.
	if len(tr.Rows) != 1 || tr.Rows[0].Metrics["volume"] != 28800.0 || tr.Rows[0].Metrics["congestedHours"] != 0 {
		t.Errorf("traffic rows %+v", tr.Rows)
	}
}

func TestSpecErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ doc, field string }{
		{"name: x\nbaseline: {last: 7d}\narea: {roads: [r-a]}\ntraffic: {flowChangePct: -130}\n", "traffic.flowChangePct"},
		{"name: x\nbaseline: {last: 7x}\narea: {roads: [r-a]}\ntraffic: {flowChangePct: -30}\n", "baseline.last"},
		{"name: x\nbaseline: {last: 7d}\narea: {}\ntraffic: {flowChangePct: -30}\n", "area"},
		{`{"name":"x","baseline":{"last":"7d"},"area":{"roads":["r-a"]},"traffic":{"flowChangePct":-30},"noise":{"limitClass":"VII"}}`, "noise.limitClass"},
		{`{"name":"x","baseline":{"last":"7d"},"area":{"roads":["r-a"]},"irrigation":{"policies":[{"policy":"daily"}]}}`, "irrigation.policies[0].policy"},
		{`{"name":"x","baseline":{"last":"7d"},"area":{"roads":["r-a"]},"traffic":{"flowChange":-30}}`, "flowChange"},
		{`{"name":"x","baseline":{"last":"7d"},"area":{"roads":["r-a"]},"traffic":{"close":["r-a"],"divert":{"r-b":70,"r-c":40}}}`, "traffic.divert"},
	} {
		spec, err := planner.ParseSpec([]byte(tc.doc))
		if err == nil {
			err = spec.Validate()
		}
		se, ok := err.(*planner.SpecError)
		if !ok || (se.Field != tc.field && !strings.Contains(se.Rule, tc.field)) {
			t.Errorf("%s: error %v, want one naming %s", tc.doc, err, tc.field)
		}
	}
}

func TestStore(t *testing.T) {
	s, err := planner.OpenStore(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.Save(&planner.Result{Name: "a", Tenant: "t1", RanAt: time.Unix(100, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(&planner.Result{Name: "b", Tenant: "t1", RanAt: time.Unix(200, 0)}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.List("t1")
	if len(list) != 2 || list[0].Name != "b" {
		t.Fatalf("list %+v, want b then a", list)
	}
	if l, _ := s.List("t2"); len(l) != 0 {
		t.Errorf("tenant t2 sees %v", l)
	}
	sv, err := s.Update(a.ID, &planner.Result{Name: "a", Tenant: "t1", RanAt: time.Unix(300, 0)})
	if err != nil || sv.Runs != 2 {
		t.Fatalf("update: %v, runs %d", err, sv.Runs)
	}
	if err := s.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(a.ID); err != planner.ErrNotFound {
		t.Errorf("get after delete: %v", err)
	}
}
