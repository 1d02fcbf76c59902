package democity_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
)

// configs are the cities every invariant is checked on.
var configs = []democity.Config{
	{},
	{Seed: 1},
	{Seed: 42},
	{Seed: -7, Center: orb.Point{12.49, 41.9}, RadiusKm: 4},
	{Seed: 3, Center: orb.Point{-3.7, 40.42}, RadiusKm: 9},
}

func name(cfg democity.Config) string {
	return fmt.Sprintf("seed=%d/center=%v/r=%g", cfg.Seed, cfg.Center, cfg.RadiusKm)
}

// centre and radius (metres) of the city of cfg, as documented.
func disc(cfg democity.Config) (orb.Point, float64) {
	c := cfg.Center
	if c == (orb.Point{}) {
		c = orb.Point{democity.DefaultLon, democity.DefaultLat}
	}
	r := cfg.RadiusKm
	if r <= 0 {
		r = democity.DefaultRadiusKm
	}
	return c, r * 1000
}

// offset returns the point dx, dy metres from c.
func offset(c orb.Point, dx, dy float64) orb.Point {
	const mPerDeg = 111_320.0
	return orb.Point{c[0] + dx/(mPerDeg*math.Cos(c[1]*math.Pi/180)), c[1] + dy/mPerDeg}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := democity.Generate(democity.Config{Seed: 7})
	b := democity.Generate(democity.Config{Seed: 7})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two cities generated with seed 7 differ")
	}
	if !reflect.DeepEqual(democity.Generate(democity.Config{}), democity.Generate(democity.Config{Center: orb.Point{9.19, 45.46}, RadiusKm: 6})) {
		t.Error("the zero Config is not the documented default")
	}
	c := democity.Generate(democity.Config{Seed: 8})
	for _, k := range []geo.Kind{geo.KindDistrict, geo.KindNeighbourhood, geo.KindRoad, geo.KindGreenArea, geo.KindIrrigationZone} {
		if reflect.DeepEqual(a[k], c[k]) {
			t.Errorf("layer %s is the same for seeds 7 and 8", k)
		}
	}
	if reflect.DeepEqual(a[geo.KindGreenArea][0].Geometry, c[geo.KindGreenArea][0].Geometry) {
		t.Error("the first park has the same place for seeds 7 and 8")
	}
}

func TestCounts(t *testing.T) {
	idRe := map[geo.Kind]*regexp.Regexp{
		geo.KindDistrict:       regexp.MustCompile(`^d[1-9]$`),
		geo.KindNeighbourhood:  regexp.MustCompile(`^n\d{2}$`),
		geo.KindRoad:           regexp.MustCompile(`^r\d{4}$`),
		geo.KindGreenArea:      regexp.MustCompile(`^g\d{2}$`),
		geo.KindIrrigationZone: regexp.MustCompile(`^z\d{2}-[1-4]$`),
	}
	for _, seed := range []int64{0, 1, 2, 3, 4, 5, 99, -1} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			l := democity.Generate(democity.Config{Seed: seed})
			for _, k := range geo.Kinds {
				seen := map[string]bool{}
				for _, f := range l[k] {
					if f.Kind != k {
						t.Errorf("%s %s has kind %s", k, f.ID, f.Kind)
					}
					if !idRe[k].MatchString(f.ID) || seen[f.ID] {
						t.Errorf("%s id %q malformed or repeated", k, f.ID)
					}
					seen[f.ID] = true
					if f.Name == "" {
						t.Errorf("%s %s has no name", k, f.ID)
					}
				}
			}
			between := func(what string, n, lo, hi int) {
				t.Helper()
				if n < lo || n > hi {
					t.Errorf("%d %s, want %d to %d", n, what, lo, hi)
				}
			}
			between("districts", len(l[geo.KindDistrict]), 9, 9)
			between("neighbourhoods", len(l[geo.KindNeighbourhood]), 32, 50)
			between("road segments", len(l[geo.KindRoad]), 2000, 4000)
			between("parks", len(l[geo.KindGreenArea]), 20, 30)

			children := map[string]int{}
			for _, f := range l[geo.KindNeighbourhood] {
				children[f.Parent]++
			}
			for _, d := range l[geo.KindDistrict] {
				between("neighbourhoods in "+d.ID, children[d.ID], 3, 6)
				delete(children, d.ID)
			}
			if len(children) > 0 {
				t.Errorf("neighbourhoods of unknown districts: %v", children)
			}
			zones := map[string]int{}
			for _, f := range l[geo.KindIrrigationZone] {
				zones[f.Parent]++
			}
			for _, p := range l[geo.KindGreenArea] {
				between("irrigation zones in "+p.ID, zones[p.ID], 1, 4)
				if p.Props["irrigation_zones"] != zones[p.ID] {
					t.Errorf("park %s says %v zones, has %d", p.ID, p.Props["irrigation_zones"], zones[p.ID])
				}
				delete(zones, p.ID)
			}
			if len(zones) > 0 {
				t.Errorf("irrigation zones of unknown parks: %v", zones)
			}

			attrs := map[string]struct {
				lanes int
				speed float64
			}{"primary": {4, 50}, "secondary": {2, 50}, "residential": {2, 30}}
			classes := map[string]int{}
			streets := map[string]string{}
			for _, r := range l[geo.KindRoad] {
				want, ok := attrs[r.RoadClass]
				if !ok || r.Lanes != want.lanes || r.SpeedLimit != want.speed {
					t.Errorf("road %s: class %q, %d lanes, %g km/h", r.ID, r.RoadClass, r.Lanes, r.SpeedLimit)
				}
				classes[r.RoadClass]++
				if c, ok := streets[r.Name]; ok && c != r.RoadClass {
					t.Errorf("street %q has segments of classes %s and %s", r.Name, c, r.RoadClass)
				}
				streets[r.Name] = r.RoadClass
			}
			if classes["primary"] < 100 || classes["secondary"] < 100 || classes["residential"] < 1000 {
				t.Errorf("segments by class: %v", classes)
			}
			if n := len(streets); n < 50 || n > len(l[geo.KindRoad])/4 {
				t.Errorf("%d street names for %d segments", n, len(l[geo.KindRoad]))
			}
		})
	}
}

func TestGeometryIsValid(t *testing.T) {
	for _, cfg := range configs {
		t.Run(name(cfg), func(t *testing.T) {
			ctr, R := disc(cfg)
			l := democity.Generate(cfg)
			for _, k := range geo.Kinds {
				for _, f := range l[k] {
					if k == geo.KindRoad {
						checkSegment(t, f, ctr, R)
						continue
					}
					p, ok := f.Geometry.(orb.Polygon)
					if !ok {
						t.Errorf("%s %s: geometry is %T, want orb.Polygon", k, f.ID, f.Geometry)
						continue
					}
					checkPolygon(t, k, f.ID, p)
					area, ok := f.Props["area_m2"].(float64)
					if got := orbgeo.Area(p); !ok || math.Abs(got-area) > 0.01*area {
						t.Errorf("%s %s: area_m2 %v, geodesic area %.0f", k, f.ID, f.Props["area_m2"], got)
					}
				}
			}
		})
	}
}

func checkPolygon(t *testing.T, k geo.Kind, id string, p orb.Polygon) {
	t.Helper()
	if len(p) != 1 {
		t.Errorf("%s %s: %d rings, want 1", k, id, len(p))
	}
	for _, r := range p {
		if len(r) < 4 || !r.Closed() {
			t.Errorf("%s %s: ring of %d points, closed %v", k, id, len(r), r.Closed())
			return
		}
		for _, pt := range r {
			if !finite(pt) {
				t.Errorf("%s %s: bad point %v", k, id, pt)
				return
			}
		}
		if r.Orientation() != orb.CCW {
			t.Errorf("%s %s: outer ring is not counter-clockwise", k, id)
		}
		if i, j, bad := selfIntersection(r); bad {
			t.Errorf("%s %s: edges %d and %d of the ring meet", k, id, i, j)
		}
	}
}

func finite(p orb.Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0) &&
		p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90
}

// selfIntersection finds two non-adjacent edges of the closed ring that
// touch, or a repeated vertex.
func selfIntersection(r orb.Ring) (int, int, bool) {
	n := len(r) - 1
	for i := range n {
		for j := i + 1; j < n; j++ {
			if r[i] == r[j] {
				return i, j, true
			}
			if j == i+1 || (i == 0 && j == n-1) {
				continue
			}
			if segmentsMeet(r[i], r[i+1], r[j], r[j+1]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func cross(o, a, b orb.Point) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

func segmentsMeet(a, b, c, d orb.Point) bool {
	d1, d2 := cross(c, d, a), cross(c, d, b)
	d3, d4 := cross(a, b, c), cross(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	on := func(p, q, x orb.Point, o float64) bool {
		return o == 0 && math.Min(p[0], q[0]) <= x[0] && x[0] <= math.Max(p[0], q[0]) &&
			math.Min(p[1], q[1]) <= x[1] && x[1] <= math.Max(p[1], q[1])
	}
	return on(c, d, a, d1) || on(c, d, b, d2) || on(a, b, c, d3) || on(a, b, d, d4)
}

func checkSegment(t *testing.T, f geo.Feature, ctr orb.Point, R float64) {
	t.Helper()
	ls, ok := f.Geometry.(orb.LineString)
	if !ok || len(ls) != 2 || ls[0] == ls[1] || !finite(ls[0]) || !finite(ls[1]) {
		t.Errorf("road %s: geometry %v is not a segment of 2 distinct points", f.ID, f.Geometry)
		return
	}
	got := orbgeo.Distance(ls[0], ls[1])
	length, _ := f.Props["length_m"].(float64)
	if got < 100 || got > 300 || math.Abs(got-length) > 0.01*length {
		t.Errorf("road %s: %.1f m long, length_m %v", f.ID, got, f.Props["length_m"])
	}
	for _, p := range ls {
		if d := orbgeo.Distance(ctr, p); d > R {
			t.Errorf("road %s: end %v is %.0f m from the centre, out of the %.0f m city", f.ID, p, d, R)
		}
	}
}

// TestDistrictsTileTheCity samples points in the city disc: each must lie
// in exactly one district and in exactly one neighbourhood, of that district.
func TestDistrictsTileTheCity(t *testing.T) {
	for _, cfg := range configs {
		t.Run(name(cfg), func(t *testing.T) {
			ctr, R := disc(cfg)
			l := democity.Generate(cfg)
			rng := rand.New(rand.NewPCG(1, 2))
			for range 2000 {
				r := 0.97 * R * math.Sqrt(rng.Float64())
				th := 2 * math.Pi * rng.Float64()
				p := offset(ctr, r*math.Cos(th), r*math.Sin(th))
				ds := containing(l[geo.KindDistrict], p)
				ns := containing(l[geo.KindNeighbourhood], p)
				if len(ds) != 1 || len(ns) != 1 {
					t.Fatalf("%v is in districts %v and neighbourhoods %v, want one of each", p, ids(ds), ids(ns))
				}
				if ns[0].Parent != ds[0].ID {
					t.Fatalf("%v is in district %s and neighbourhood %s of district %s", p, ds[0].ID, ns[0].ID, ns[0].Parent)
				}
			}
			// No gaps or overlaps in measure either: the areas add up.
			sum := func(k geo.Kind) (s float64) {
				for _, f := range l[k] {
					s += planar.Area(f.Geometry)
				}
				return s
			}
			if d, n := sum(geo.KindDistrict), sum(geo.KindNeighbourhood); math.Abs(d-n) > 1e-9*d {
				t.Errorf("districts cover %g deg², neighbourhoods %g", d, n)
			}
		})
	}
}

func containing(fs []geo.Feature, p orb.Point) []geo.Feature {
	var out []geo.Feature
	for _, f := range fs {
		if planar.PolygonContains(f.Geometry.(orb.Polygon), p) {
			out = append(out, f)
		}
	}
	return out
}

func ids(fs []geo.Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// TestParks checks park sizes, that parks do not overlap, and that the
// irrigation zones tile their park.
func TestParks(t *testing.T) {
	for _, cfg := range configs {
		t.Run(name(cfg), func(t *testing.T) {
			l := democity.Generate(cfg)
			parks := map[string]orb.Polygon{}
			for _, p := range l[geo.KindGreenArea] {
				poly := p.Geometry.(orb.Polygon)
				parks[p.ID] = poly
				if ha := p.Props["area_m2"].(float64) / 10_000; ha < 2 || ha > 30 {
					t.Errorf("park %s: %.1f ha", p.ID, ha)
				}
				for _, q := range l[geo.KindGreenArea] {
					if q.ID != p.ID && planar.PolygonContains(q.Geometry.(orb.Polygon), poly[0][0]) {
						t.Errorf("parks %s and %s overlap", p.ID, q.ID)
					}
				}
			}
			zoneArea := map[string]float64{}
			for _, z := range l[geo.KindIrrigationZone] {
				park, ok := parks[z.Parent]
				if !ok {
					t.Errorf("zone %s: unknown park %q", z.ID, z.Parent)
					continue
				}
				c, a := planar.CentroidArea(z.Geometry)
				if !planar.PolygonContains(park, c) {
					t.Errorf("zone %s: centroid %v outside park %s", z.ID, c, z.Parent)
				}
				for _, pt := range z.Geometry.(orb.Polygon)[0] {
					if !planar.PolygonContains(park, pt) && !onBoundary(park[0], pt) {
						t.Errorf("zone %s: vertex %v outside park %s", z.ID, pt, z.Parent)
					}
				}
				zoneArea[z.Parent] += a
			}
			for id, p := range parks {
				if a := planar.Area(p); math.Abs(a-zoneArea[id]) > 1e-6*a {
					t.Errorf("park %s: area %g deg², its zones %g", id, a, zoneArea[id])
				}
			}
		})
	}
}

// onBoundary reports whether p lies on the ring's boundary, within
// rounding (1e-7°).
func onBoundary(r orb.Ring, p orb.Point) bool {
	for i := 0; i+1 < len(r); i++ {
		if planar.DistanceFromSegment(r[i], r[i+1], p) < 2e-7 {
			return true
		}
	}
	return false
}
