package dynamap_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin/dynamap"
)

// lat0 is the latitude of the synthetic test cities.
const lat0 = 45.0

// Metres per degree at lat0, measured with geo's own distance so that the
// test cities have the intended sizes.
var (
	metresPerDegLat = geo.DistanceMetres(orb.Point{9, lat0 - 0.005}, orb.LineString{{9, lat0 + 0.005}, {9, lat0 + 0.005}}) / 0.01
	metresPerDegLon = geo.DistanceMetres(orb.Point{9, lat0}, orb.LineString{{9.01, lat0}, {9.01, lat0}}) / 0.01
)

// road returns an east-west road from x0 to x1 metres east of lon 9 at y
// metres north of lat0.
func road(id string, x0, x1, y float64) geo.Feature {
	kx := metresPerDegLon
	lat := lat0 + y/metresPerDegLat
	return geo.Feature{ID: id, RoadClass: "test", Geometry: orb.LineString{{9 + x0/kx, lat}, {9 + x1/kx, lat}}}
}

// at returns the point x metres east of lon 9 and y metres north of lat0.
func at(x, y float64) orb.Point {
	return orb.Point{9 + x/metresPerDegLon, lat0 + y/metresPerDegLat}
}

func newCity(t testing.TB, roads ...geo.Feature) *geo.City {
	t.Helper()
	c, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{geo.KindRoad: roads})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixedEmission makes every road emit lw dB/m.
func fixedEmission(lw float64) func(*geo.Feature, float64) float64 {
	return func(*geo.Feature, float64) float64 { return lw }
}

func energyDB(e []float64) float64 {
	s := 0.0
	for _, v := range e {
		s += v
	}
	return 10 * math.Log10(s)
}

// TestPointSource checks the point-source attenuation by hand on a 1 m road
// (a single source of power L_W′ + 10·lg(1 m) = 70 dB) at 100 m:
//
//	L = 70 − 20·lg(100) − 11 − 0.005·100 = 70 − 40 − 11 − 0.5 = 18.5 dB
//
// at 3 m (clamped to the 5 m minimum):
//
//	L = 70 − 20·lg(5) − 11 − 0.005·5 = 70 − 13.979 − 11 − 0.025 = 44.996 dB
//
// and nothing beyond the 500 m cutoff.
func TestPointSource(t *testing.T) {
	city := newCity(t, road("r", 0, 1, 0))
	m, err := dynamap.New(dynamap.Config{Emission: fixedEmission(70), CellMetres: 50}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sources() != 1 {
		t.Fatalf("sources = %d, want 1", m.Sources())
	}
	src := at(0.5, 0)
	for _, tc := range []struct {
		dist, want float64
	}{{100, 18.5}, {3, 44.996}} {
		p := at(0.5, tc.dist)
		d := geo.DistanceMetres(p, orb.LineString{src, src})
		// Correct the hand value for the placement's distance error (a few
		// centimetres): 20·lg(d/dist) plus the absorption's share.
		want := tc.want
		if tc.dist >= 5 {
			want -= 20*math.Log10(d/tc.dist) + 0.005*(d-tc.dist)
		}
		if got := energyDB(m.ReferenceEnergy(p)); math.Abs(got-want) > 0.001 {
			t.Errorf("at %.3f m: %.4f dB, want %.4f", d, got, want)
		}
	}
	if e := m.ReferenceEnergy(at(0.5, 501)); e[0] != 0 {
		t.Errorf("at 501 m: energy %g, want 0 (beyond the cutoff)", e[0])
	}
}

// TestLineSource compares the discretised sum along a long straight road
// with an independent integration over the angle of view. A line of power
// W′ per metre seen at distance h: a piece dl at angle θ is at d = h/cos θ,
// dl = h/cos²θ dθ, so
//
//	E = 10^(L_W′/10)·10^(−1.1)·∫ e^(−β·h/cos θ)/h dθ,  β = α·ln10/10,
//
// over |θ| ≤ acos(h/500) (the cutoff). Without absorption and cutoff this is
// the infinite line: L = L_W′ − 11 + 10·lg(π/h), e.g. at h = 10 m,
// 70 − 11 − 5.03 = 53.97 dB; at 100 m, 70 − 11 − 15.03 = 43.97 dB. The
// integral is done with Simpson's rule on 20,000 intervals.
func TestLineSource(t *testing.T) {
	city := newCity(t, road("r", -2000, 2000, 0))
	m, err := dynamap.New(dynamap.Config{Emission: fixedEmission(70), CellMetres: 200}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	beta := 0.005 * math.Ln10 / 10
	for _, h0 := range []float64{10, 100, 20, 300} {
		p := at(3, h0) // not on a source's abscissa
		h := geo.DistanceMetres(p, city.Features(geo.KindRoad)[0].Geometry)
		tm := math.Acos(h / 500)
		const n = 20000
		step := 2 * tm / n
		s := 0.0
		for i := 0; i <= n; i++ {
			th := -tm + float64(i)*step
			w := 2.0
			if i == 0 || i == n {
				w = 1
			} else if i%2 == 1 {
				w = 4
			}
			s += w * math.Exp(-beta*h/math.Cos(th))
		}
		integral := s * step / 3 / h
		want := 70 - 11 + 10*math.Log10(integral)
		infinite := 70 - 11 + 10*math.Log10(math.Pi/h)
		got := energyDB(m.ReferenceEnergy(p))
		t.Logf("h = %.2f m: sum %.3f dB, angular integral %.3f dB, infinite line without absorption %.3f dB", h, got, want, infinite)
		if math.Abs(got-want) > 0.05 {
			t.Errorf("h = %.2f m: discretised %.3f dB, integrated %.3f dB: differ by more than 0.05 dB", h, got, want)
		}
	}
}

func TestDefaultEmission(t *testing.T) {
	// L_WR = 99.8 + 34·lg(50/70) = 94.832; L_WP = 91.8 + 7.9·(−20/70) = 89.543;
	// L_W = 10·lg(10^9.4832 + 10^8.9543) = 95.957; Q = 1000/24 = 41.67 veh/h;
	// L_W′ = 95.957 + 10·lg(41.67/50,000) = 95.957 − 30.792 = 65.165 dB/m.
	r := &geo.Feature{SpeedLimit: 50}
	if got := dynamap.DefaultEmission(r, 1000); math.Abs(got-65.165) > 0.005 {
		t.Errorf("1000 veh/day at 50 km/h: %.3f dB/m, want 65.165", got)
	}
	// No speed limit means 50 km/h; doubling the flow adds 10·lg 2 = 3.01 dB.
	if got := dynamap.DefaultEmission(&geo.Feature{}, 2000); math.Abs(got-(65.165+3.0103)) > 0.005 {
		t.Errorf("2000 veh/day, no limit: %.3f dB/m, want 68.175", got)
	}
}

func TestFlows(t *testing.T) {
	rd := func(id, class string, lanes int) geo.Feature {
		f := road(id, 0, 100, float64(len(id))*1000)
		f.RoadClass, f.Lanes = class, lanes
		return f
	}
	city := newCity(t, rd("a", "primary", 4), rd("bb", "residential", 0), rd("ccc", "footway", 0),
		rd("dddd", "primary_link", 1), rd("eeeee", "weird", 2), rd("ffffff", "residential", 2))
	m, err := dynamap.New(dynamap.Config{}, city, map[string]float64{"ffffff": 1234})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]float64{
		"a":      40000, // 20,000 · 4/2
		"bb":     1000,  // lanes unknown
		"ccc":    0,     // no motor traffic
		"dddd":   10000, // primary's 20,000 · 1/2
		"eeeee":  1000,  // "other"
		"ffffff": 1234,  // measured
	} {
		r, ok := m.Road(id)
		if !ok || r.DailyFlow != want || r.Measured != (id == "ffffff") || (r.Group < 0) != (want == 0) {
			t.Errorf("road %s: %+v, want flow %g", id, r, want)
		}
	}
}

// TestGroups checks the quantile grouping. x = lg(flow) = 1, 1.25, …, 3.75
// (12 roads), G = 6: thresholds at ranks ⌊i·12/6⌋ = 2, 4, 6, 8, 10, that is
// x = 1.5, 2, 2.5, 3, 3.5, so the roads pair up: group = k/2. With ties,
// x = 1 (8 roads), 2, 3, 4, 5 and G = 4: ranks 3, 6, 9 give thresholds 1, 1,
// 3; 1 is the smallest x and merges away, leaving one threshold (3): groups
// {1,…,1,2} (9 roads) and {3,4,5} (3 roads).
func TestGroups(t *testing.T) {
	var roads []geo.Feature
	flows := map[string]float64{}
	for k := range 12 {
		id := fmt.Sprintf("r%02d", k)
		roads = append(roads, road(id, 0, 50, float64(k)*100))
		flows[id] = math.Pow(10, 1+0.25*float64(k))
	}
	city := newCity(t, roads...)
	m, err := dynamap.New(dynamap.Config{}, city, flows)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Groups()); n != 6 {
		t.Fatalf("%d groups, want 6", n)
	}
	for k := range 12 {
		if r, _ := m.Road(fmt.Sprintf("r%02d", k)); r.Group != k/2 {
			t.Errorf("road %d (x = %.2f): group %d, want %d", k, math.Log10(r.DailyFlow), r.Group, k/2)
		}
	}
	for _, g := range m.Groups() {
		if g.Roads != 2 {
			t.Errorf("group %d: %d roads, want 2", g.Index, g.Roads)
		}
	}

	for k, x := range []float64{1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5} {
		flows[fmt.Sprintf("r%02d", k)] = math.Pow(10, x)
	}
	m, err = dynamap.New(dynamap.Config{Groups: 4}, city, flows)
	if err != nil {
		t.Fatal(err)
	}
	gs := m.Groups()
	if len(gs) != 2 || gs[0].Roads != 9 || gs[1].Roads != 3 || gs[0].MaxLgFlow != 2 || gs[1].MinLgFlow != 3 {
		t.Errorf("groups with ties: %+v, want 9 roads with x ≤ 2 and 3 with x ≥ 3", gs)
	}
}

func TestNewErrors(t *testing.T) {
	city := newCity(t, road("r", 0, 100, 0))
	for _, tc := range []struct {
		cfg   dynamap.Config
		flows map[string]float64
		want  string
	}{
		{dynamap.Config{Groups: -1}, nil, "Groups"},
		{dynamap.Config{CellMetres: -5}, nil, "CellMetres"},
		{dynamap.Config{CellMetres: 0.01}, nil, "CellMetres"},
		{dynamap.Config{CutoffMetres: math.NaN()}, nil, "CutoffMetres"},
		{dynamap.Config{MinDistanceMetres: 1000}, nil, "MinDistanceMetres"},
		{dynamap.Config{AirAbsorption: -1}, nil, "AirAbsorption"},
		{dynamap.Config{ClassFlow: map[string]float64{"other": -3}}, nil, `ClassFlow["other"]`},
		{dynamap.Config{Bound: orb.Bound{Min: orb.Point{10, 45}, Max: orb.Point{9, 46}}}, nil, "Bound"},
		{dynamap.Config{CellMetres: 1, Bound: orb.Bound{Min: orb.Point{9, 45}, Max: orb.Point{10, 46}}}, nil, "MaxCells"},
		{dynamap.Config{}, map[string]float64{"nope": 10}, `flows["nope"]: no road`},
		{dynamap.Config{}, map[string]float64{"r": math.Inf(1)}, `flows["r"]`},
		{dynamap.Config{Emission: fixedEmission(math.NaN())}, nil, `emission of road "r"`},
		{dynamap.Config{ClassFlow: map[string]float64{"other": 0}}, nil, "no road carries traffic"},
	} {
		_, err := dynamap.New(tc.cfg, city, tc.flows)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v, %v): error %v, want one naming %s", tc.cfg, tc.flows, err, tc.want)
		}
	}
	if _, err := dynamap.New(dynamap.Config{}, nil, nil); err == nil {
		t.Error("New with a nil city: no error")
	}
}

func TestGrid(t *testing.T) {
	city := newCity(t, road("r", 0, 1000, 0), road("s", 0, 1000, 950))
	m, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Grid()
	// The bound is about 1000 m × 950 m: 10 × 10 cells of 100 m.
	if g.NX != 10 || g.NY != 10 || g.Len() != 100 {
		t.Fatalf("grid %d × %d, want 10 × 10", g.NX, g.NY)
	}
	for _, i := range []int{0, 9, 55, 99} {
		c := g.Center(i)
		if j, ok := g.Cell(c); !ok || j != i {
			t.Errorf("Cell(Center(%d)) = %d, %v", i, j, ok)
		}
		b := g.CellBound(i)
		w := geo.DistanceMetres(orb.Point{b.Min[0], c[1]}, orb.LineString{{b.Max[0], c[1]}, {b.Max[0], c[1]}})
		h := geo.DistanceMetres(orb.Point{c[0], b.Min[1]}, orb.LineString{{c[0], b.Max[1]}, {c[0], b.Max[1]}})
		if math.Abs(w-100) > 0.1 || math.Abs(h-100) > 0.1 {
			t.Errorf("cell %d is %.2f × %.2f m, want 100 × 100", i, w, h)
		}
	}
	// Row 0 is the north: the first cell's centre is north-west.
	if c0, c99 := g.Center(0), g.Center(99); c0[0] >= c99[0] || c0[1] <= c99[1] {
		t.Errorf("cell 0 at %v, cell 99 at %v: want 0 north-west of 99", c0, c99)
	}
	if _, ok := g.Cell(at(-50, 0)); ok {
		t.Error("a point west of the raster has a cell")
	}
}

// The roads' energies at a point sum to the groups' reference energy there.
func TestRoadEnergySumsToReference(t *testing.T) {
	city := demoCity(t)
	m, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := city.Bound().Center()
	var byRoad, byGroup float64
	for _, e := range m.RoadEnergy(p) {
		byRoad += e
	}
	for _, e := range m.ReferenceEnergy(p) {
		byGroup += e
	}
	if byGroup == 0 || math.Abs(byRoad-byGroup) > 1e-9*byGroup {
		t.Fatalf("roads sum to %g, groups to %g", byRoad, byGroup)
	}
}
