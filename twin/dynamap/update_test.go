package dynamap_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin/dynamap"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// sixRoads is a synthetic city of six parallel 2 km roads 200 m apart, with
// flows 10^2, 10^2.5, …, 10^4.5 veh/day (one road per group), and two
// sensors 8 m north of each road, linked to it.
func sixRoads(t testing.TB) (*dynamap.Model, *dynamap.Calibration) {
	t.Helper()
	roads := make([]geo.Feature, 0, 6)
	flows := map[string]float64{}
	var sensors []dynamap.Sensor
	for k := range 6 {
		id := fmt.Sprintf("r%d", k)
		roads = append(roads, road(id, 0, 2000, float64(k)*200))
		flows[id] = math.Pow(10, 2+0.5*float64(k))
		for _, x := range []float64{500, 1500} {
			sensors = append(sensors, dynamap.Sensor{ID: fmt.Sprintf("s%d-%g", k, x), Point: at(x, float64(k)*200+8), Road: id})
		}
	}
	m, err := dynamap.New(dynamap.Config{}, newCity(t, roads...), flows)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups()) != 6 {
		t.Fatalf("%d groups, want 6", len(m.Groups()))
	}
	c, err := m.Calibrate(sensors)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// TestUpdateUniformShift: every sensor measures its reference + 3 dB, so
// δ_j = 3 for all j and L(k) = 10·lg Σ_j E_j·10^0.3 = L_ref(k) + 3 exactly.
func TestUpdateUniformShift(t *testing.T) {
	_, c := sixRoads(t)
	ref, err := c.Update(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]float64{}
	for _, s := range c.Sensors() {
		levels[s.ID] = s.RefDB + 3
	}
	mp, err := c.Update(levels, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range mp.Groups {
		if g.Reporting != 2 || g.Reference || math.Abs(g.DeltaDB-3) > 1e-9 {
			t.Errorf("group %+v: want 2 reporting, δ = 3", g)
		}
	}
	valued := 0
	for k, l := range mp.Levels {
		r := ref.Levels[k]
		if math.IsNaN(float64(r)) != math.IsNaN(float64(l)) {
			t.Fatalf("cell %d: reference %v, shifted %v", k, r, l)
		}
		if math.IsNaN(float64(r)) {
			continue
		}
		valued++
		if d := float64(l - r); math.Abs(d-3) > 1e-3 {
			t.Errorf("cell %d: rose by %.5f dB, want 3", k, d)
		}
	}
	if valued == 0 {
		t.Fatal("no cell has a level")
	}
}

// TestUpdateOneGroup: sensors of group 2 only, +6 dB. A cell whose energy is
// a share s of group 2 rises by 10·lg(1 + s·(10^0.6 − 1)); e.g. s = ½ gives
// 10·lg(1 + 0.5·2.981) = 10·lg(2.491) = 3.96 dB, s = 1 gives 6 dB, s = 0
// nothing. The other groups keep their reference (δ = 0).
func TestUpdateOneGroup(t *testing.T) {
	m, c := sixRoads(t)
	ref, _ := c.Update(nil, t0)
	levels := map[string]float64{}
	for _, s := range c.Sensors() {
		if s.Group == 2 {
			levels[s.ID] = s.RefDB + 6
		}
	}
	mp, err := c.Update(levels, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range mp.Groups {
		if wantRef := g.Group != 2; g.Reference != wantRef || (wantRef && (g.DeltaDB != 0 || g.Reporting != 0)) {
			t.Errorf("group %+v: reference %v, want %v", g, g.Reference, wantRef)
		}
	}
	seenHalf := false
	for k, l := range mp.Levels {
		if math.IsNaN(float64(l)) {
			continue
		}
		e := m.CellEnergy(k)
		share := e[2] / (e[0] + e[1] + e[2] + e[3] + e[4] + e[5])
		want := 10 * math.Log10(1+share*(math.Pow(10, 0.6)-1))
		if d := float64(l - ref.Levels[k]); math.Abs(d-want) > 1e-3 {
			t.Errorf("cell %d (share %.3f): rose by %.4f dB, want %.4f", k, share, d, want)
		}
		seenHalf = seenHalf || (share > 0.3 && share < 0.7)
	}
	if !seenHalf {
		t.Error("no cell with a mixed share: the test city does not test the energetic share")
	}
}

// TestHeldOutConsistent: when every sensor measures reference + 4.2 dB, each
// group's δ without any one sensor is still 4.2 (the other sensor of the
// group says the same), so every prediction is exact.
func TestHeldOutConsistent(t *testing.T) {
	_, c := sixRoads(t)
	levels := map[string]float64{}
	for _, s := range c.Sensors() {
		levels[s.ID] = s.RefDB + 4.2
	}
	mp, err := c.Update(levels, t0)
	if err != nil {
		t.Fatal(err)
	}
	h := mp.HeldOut
	if h.N != 12 || math.Abs(h.BiasDB) > 1e-9 || h.MAEDB > 1e-9 || h.RMSEDB > 1e-9 || h.Within3DB != 1 {
		t.Errorf("held out %+v, want 12 exact predictions", h)
	}
}

// TestHeldOutByHand: one road, so one group and L_pred = L_ref + δ. Two
// sensors with residuals +2 and −2: δ = 0; without the first, δ = −2 and
// the prediction misses it by −2 − 2 = −4 dB; without the second, +4 dB.
// Bias 0, MAE 4, RMSE 4, within 3 dB: none.
func TestHeldOutByHand(t *testing.T) {
	m, err := dynamap.New(dynamap.Config{}, newCity(t, road("r", 0, 2000, 0)), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Calibrate([]dynamap.Sensor{{ID: "a", Point: at(500, 10)}, {ID: "b", Point: at(1500, 20)}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Sensor("a")
	b, _ := c.Sensor("b")
	if a.Road != "r" || math.Abs(a.RoadMetres-10) > 0.01 || math.Abs(a.RefDB-a.OwnDB) > 1e-12 {
		t.Errorf("sensor a: %+v, want road r at 10 m, own group = all", a)
	}
	mp, err := c.Update(map[string]float64{"a": a.RefDB + 2, "b": b.RefDB - 2, "stranger": 60}, t0)
	if err != nil {
		t.Fatal(err)
	}
	h := mp.HeldOut
	if h.N != 2 || math.Abs(h.BiasDB) > 1e-9 || math.Abs(h.MAEDB-4) > 1e-9 || math.Abs(h.RMSEDB-4) > 1e-9 || h.Within3DB != 0 {
		t.Errorf("held out %+v, want n 2, bias 0, MAE 4, RMSE 4, within 3 dB 0", h)
	}
	if mp.Reporting != 2 || mp.Ignored != 1 || math.Abs(mp.Groups[0].DeltaDB) > 1e-9 {
		t.Errorf("map: reporting %d, ignored %d, δ %g; want 2, 1, 0", mp.Reporting, mp.Ignored, mp.Groups[0].DeltaDB)
	}
	// A lone sensor's held-out prediction is the reference: error = −residual.
	mp, _ = c.Update(map[string]float64{"a": a.RefDB + 2.5}, t0)
	if h := mp.HeldOut; h.N != 1 || math.Abs(h.BiasDB+2.5) > 1e-9 || h.Within3DB != 1 {
		t.Errorf("lone sensor: held out %+v, want n 1, bias −2.5, within 3 dB 1", h)
	}
}

func TestCalibrateRules(t *testing.T) {
	city := newCity(t, road("r", 0, 2000, 0), road("quiet", 0, 2000, 1000))
	m, err := dynamap.New(dynamap.Config{}, city, map[string]float64{"quiet": 0})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Calibrate([]dynamap.Sensor{
		{ID: "near", Point: at(100, 30)},                     // nearest road r at 30 m
		{ID: "far", Point: at(100, 400)},                     // 400 m from r: unused
		{ID: "quiet", Point: at(100, 1005)},                  // only a road without traffic near it
		{ID: "linked", Point: at(100, 300), Road: "r"},       // linked wins over the 50 m rule
		{ID: "linkedFar", Point: at(100, 900), Road: "r"},    // linked, beyond the cutoff: unused
		{ID: "badLink", Point: at(100, 20), Road: "nope"},    // unknown link: nearest road
		{ID: "quietLink", Point: at(100, 10), Road: "quiet"}, // linked road emits nothing: nearest emitting road, r
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Unused(), ","); got != "far,linkedFar,quiet" {
		t.Errorf("unused %s, want far,linkedFar,quiet", got)
	}
	for id, wantM := range map[string]float64{"near": 30, "linked": 300, "badLink": 20, "quietLink": 10} {
		s, ok := c.Sensor(id)
		if !ok || s.Road != "r" || math.Abs(s.RoadMetres-wantM) > 0.01 {
			t.Errorf("sensor %s: %+v, want road r at %g m", id, s, wantM)
		}
	}
	for _, tc := range []struct {
		sensors []dynamap.Sensor
		want    string
	}{
		{[]dynamap.Sensor{{ID: "", Point: at(0, 0)}}, "sensors[0].ID is empty"},
		{[]dynamap.Sensor{{ID: "a", Point: at(0, 0)}, {ID: "a", Point: at(0, 0)}}, `sensors[1].ID "a" is a duplicate`},
		{[]dynamap.Sensor{{ID: "a", Point: [2]float64{200, 45}}}, "sensors[0].Point"},
	} {
		if _, err := m.Calibrate(tc.sensors); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Calibrate(%v): %v, want an error with %q", tc.sensors, err, tc.want)
		}
	}
	for _, l := range []float64{math.NaN(), -1, 201, math.Inf(1)} {
		if _, err := c.Update(map[string]float64{"near": l}, t0); err == nil || !strings.Contains(err.Error(), `levels["near"]`) {
			t.Errorf("Update with level %g: %v, want an error naming levels[\"near\"]", l, err)
		}
	}
}

func TestEncodings(t *testing.T) {
	m, c := sixRoads(t)
	levels := map[string]float64{}
	for _, s := range c.Sensors() {
		levels[s.ID] = s.RefDB + 1
	}
	mp, err := c.Update(levels, t0)
	if err != nil {
		t.Fatal(err)
	}
	var grid struct {
		BBox       [4]float64 `json:"bbox"`
		NX, NY     int
		CellMetres float64
		Origin     string
		Time       time.Time
		Levels     []*float64
		Groups     []struct {
			Group, Roads, Sensors, Reporting int
			DeltaDb                          float64
			Reference                        bool
		}
		HeldOut struct{ N int }
		Sensors struct{ Reporting, Ignored, Unused int }
	}
	if err := json.Unmarshal(mp.AppendJSON(nil), &grid); err != nil {
		t.Fatal(err)
	}
	g := m.Grid()
	if grid.NX != g.NX || grid.NY != g.NY || len(grid.Levels) != g.Len() || grid.CellMetres != 100 || grid.Origin != "north-west" ||
		!grid.Time.Equal(t0) || len(grid.Groups) != 6 || grid.Groups[3].DeltaDb != 1 || grid.Groups[3].Reporting != 2 ||
		grid.HeldOut.N != 12 || grid.Sensors.Reporting != 12 || math.Abs(grid.BBox[0]-g.Bound.Min[0]) > 1e-7 {
		t.Errorf("grid JSON %+v does not match the map", grid)
	}
	nulls, valued := 0, 0
	for k, v := range grid.Levels {
		if v == nil {
			nulls++
			if !math.IsNaN(float64(mp.Levels[k])) {
				t.Errorf("cell %d: null, want %v", k, mp.Levels[k])
			}
			continue
		}
		valued++
		if math.Abs(*v-float64(mp.Levels[k])) > 0.05+1e-6 || math.Round(*v*10) != *v*10 {
			t.Errorf("cell %d: %v, want %v rounded to 0.1", k, *v, mp.Levels[k])
		}
	}
	var fc struct {
		Type     string
		Features []struct {
			Geometry struct {
				Type        string
				Coordinates [][][2]float64
			}
			Properties struct {
				Cell int
				LAeq float64
			}
		}
	}
	if err := json.Unmarshal(mp.AppendGeoJSON(nil), &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != valued {
		t.Fatalf("GeoJSON: %s with %d features, want %d", fc.Type, len(fc.Features), valued)
	}
	f := fc.Features[0]
	ring := f.Geometry.Coordinates[0]
	c0 := g.Center(f.Properties.Cell)
	if len(ring) != 5 || ring[0] != ring[4] || ring[0][0] > c0[0] || ring[0][1] > c0[1] || ring[2][0] < c0[0] || ring[2][1] < c0[1] {
		t.Errorf("cell %d polygon %v around %v", f.Properties.Cell, ring, c0)
	}
	if *grid.Levels[f.Properties.Cell] != f.Properties.LAeq {
		t.Errorf("GeoJSON LAeq %v, grid %v", f.Properties.LAeq, *grid.Levels[f.Properties.Cell])
	}
	t.Logf("%d cells with a level, %d null; grid JSON %d bytes, GeoJSON %d bytes", valued, nulls, len(mp.AppendJSON(nil)), len(mp.AppendGeoJSON(nil)))
}

// TestConcurrentUse runs Calibrate and Update from several goroutines on
// one model (run with -race): the same inputs give the same map.
func TestConcurrentUse(t *testing.T) {
	m, c := sixRoads(t)
	levels := map[string]float64{}
	var sensors []dynamap.Sensor
	for _, s := range c.Sensors() {
		levels[s.ID] = s.RefDB + 1.5
	}
	for k := range 6 {
		sensors = append(sensors, dynamap.Sensor{ID: fmt.Sprint(k), Point: at(700, float64(k)*200+5)})
	}
	want, _ := c.Update(levels, t0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := m.Calibrate(sensors); err != nil {
				t.Error(err)
			}
			got, err := c.Update(levels, t0)
			if err != nil {
				t.Error(err)
				return
			}
			for k, l := range got.Levels {
				if l != want.Levels[k] && !math.IsNaN(float64(l)) {
					t.Errorf("cell %d: %v, want %v", k, l, want.Levels[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
