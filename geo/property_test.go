package geo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/citytwin/citytwin/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/planar"
)

// randomCity builds random layers over a 0.2° square near Milan: boxes and
// star-shaped polygons (simple by construction) for areas, short random
// polylines for roads.
func randomCity(t testing.TB, r *rand.Rand, nAreas, nRoads int) *geo.City {
	t.Helper()
	const x0, y0, span = 9.1, 45.4, 0.2
	rp := func() orb.Point { return orb.Point{x0 + r.Float64()*span, y0 + r.Float64()*span} }
	shape := func() orb.Ring {
		c := rp()
		size := 0.002 + r.Float64()*0.04
		var ring orb.Ring
		if r.IntN(2) == 0 {
			w, h := size*(0.3+r.Float64()), size*(0.3+r.Float64())
			ring = orb.Ring{c, {c[0] + w, c[1]}, {c[0] + w, c[1] + h}, {c[0], c[1] + h}, c}
		} else {
			n := 3 + r.IntN(12)
			for j := range n {
				a := 2 * math.Pi * (float64(j) + 0.8*r.Float64()) / float64(n)
				rad := size * (0.2 + r.Float64())
				ring = append(ring, orb.Point{c[0] + rad*math.Cos(a), c[1] + rad*math.Sin(a)})
			}
			ring = append(ring, ring[0])
		}
		return ring
	}
	// A quarter are MultiPolygons of two shapes (overlapping parts are
	// merged by MakeValid at load) and a quarter are boxes with a hole.
	area := func(i int) geo.Feature {
		var g orb.Geometry = orb.Polygon{shape()}
		switch r.IntN(4) {
		case 0:
			g = orb.MultiPolygon{{shape()}, {shape()}}
		case 1:
			c, w := rp(), 0.005+r.Float64()*0.03
			g = orb.Polygon{
				{c, {c[0] + w, c[1]}, {c[0] + w, c[1] + w}, {c[0], c[1] + w}, c},
				{{c[0] + w/4, c[1] + w/4}, {c[0] + w/4, c[1] + w*3/4}, {c[0] + w*3/4, c[1] + w*3/4}, {c[0] + w*3/4, c[1] + w/4}, {c[0] + w/4, c[1] + w/4}},
			}
		}
		return geo.Feature{ID: fmt.Sprint("a", i), Geometry: g}
	}
	fs := map[geo.Kind][]geo.Feature{}
	for _, k := range []geo.Kind{geo.KindDistrict, geo.KindNeighbourhood, geo.KindGreenArea} {
		for i := range nAreas {
			fs[k] = append(fs[k], area(i))
		}
	}
	for i := range nRoads {
		l := orb.LineString{rp()}
		for range 1 + r.IntN(3) {
			last := l[len(l)-1]
			l = append(l, orb.Point{last[0] + (r.Float64()-0.5)*0.01, last[1] + (r.Float64()-0.5)*0.01})
		}
		fs[geo.KindRoad] = append(fs[geo.KindRoad], geo.Feature{ID: fmt.Sprint("r", i), Geometry: l})
	}
	c, rep, err := geo.NewCity(fs)
	if err != nil {
		t.Fatal(err)
	}
	for k, lr := range rep.PerLayer {
		if lr.Dropped > 0 {
			t.Fatalf("%s: random layer lost features: %q", k, lr.Problems)
		}
	}
	return c
}

// bruteContaining scans every area: smallest containing one, first on ties.
func bruteContaining(c *geo.City, k geo.Kind, pt orb.Point) *geo.Feature {
	var best *geo.Feature
	bestA := math.Inf(1)
	for _, f := range c.Features(k) {
		var in bool
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			in = planar.PolygonContains(g, pt)
		case orb.MultiPolygon:
			in = planar.MultiPolygonContains(g, pt)
		}
		if a := math.Abs(planar.Area(f.Geometry)); in && a < bestA {
			best, bestA = f, a
		}
	}
	return best
}

// sphereDist is the test's own point-to-segment distance in metres, on a
// local equirectangular projection of a sphere of the mean Earth radius
// (within 0.5% of the package's ellipsoidal frame at 45°).
func sphereDist(pt, a, b orb.Point) float64 {
	const r = 6371008.8 * math.Pi / 180
	kx, ky := r*math.Cos(pt[1]*math.Pi/180), r
	ax, ay := (a[0]-pt[0])*kx, (a[1]-pt[1])*ky
	bx, by := (b[0]-pt[0])*kx, (b[1]-pt[1])*ky
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}

func bruteNearest(c *geo.City, pt orb.Point) (*geo.Feature, float64) {
	var best *geo.Feature
	bestD := math.Inf(1)
	for _, f := range c.Features(geo.KindRoad) {
		l := f.Geometry.(orb.LineString)
		for i := 0; i+1 < len(l); i++ {
			if d := sphereDist(pt, l[i], l[i+1]); d < bestD {
				best, bestD = f, d
			}
		}
	}
	return best, bestD
}

func bruteWithin(c *geo.City, k geo.Kind, b orb.Bound) map[string]bool {
	out := map[string]bool{}
	for _, f := range c.Features(k) {
		var polys orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.MultiPolygon:
			polys = g
		case orb.Polygon:
			polys = orb.MultiPolygon{g}
		}
		for _, g := range polys {
			// clip can leave a zero-area sliver along the bound's edge
			// when the polygon is outside it.
			if p := clip.Polygon(b, g.Clone()); len(p) > 0 && planar.Area(p) != 0 {
				out[f.ID] = true
			}
		}
		switch g := f.Geometry.(type) {
		case orb.LineString:
			if ml := clip.LineString(b, g.Clone()); len(ml) > 0 {
				out[f.ID] = true
			}
		}
	}
	return out
}

func TestIndexAgreesWithBruteForce(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 42))
		c := randomCity(t, r, 20+r.IntN(200), 50+r.IntN(2000))
		for range 500 {
			pt := orb.Point{9.08 + r.Float64()*0.24, 45.38 + r.Float64()*0.24}
			for _, k := range []geo.Kind{geo.KindDistrict, geo.KindNeighbourhood, geo.KindGreenArea} {
				if got, want := id(c.Containing(k, pt)), id(bruteContaining(c, k, pt)); got != want {
					t.Fatalf("seed %d: Containing(%s, %v) = %q, brute force %q", seed, k, pt, got, want)
				}
			}
			maxM := r.Float64() * 800
			got, d := c.NearestRoad(pt, maxM)
			want, wd := bruteNearest(c, pt)
			switch {
			case got == nil && wd < 0.99*maxM:
				t.Fatalf("seed %d: NearestRoad(%v, %.0f) = none, brute force %q at %.1f m", seed, pt, maxM, id(want), wd)
			case got != nil && math.Abs(d-wd) > 0.01*wd+0.01:
				t.Fatalf("seed %d: NearestRoad(%v) = %q at %.2f m, brute force %q at %.2f m", seed, pt, id(got), d, id(want), wd)
			case got != nil && got != want:
				// Only a near-tie between two roads may resolve differently
				// under the two metrics.
				if od := sphereDistTo(pt, got); math.Abs(od-wd) > 0.01*wd {
					t.Fatalf("seed %d: NearestRoad(%v) = %q at %.2f m, brute force %q at %.2f m", seed, pt, id(got), d, id(want), wd)
				}
			}
			w, h := r.Float64()*0.03, r.Float64()*0.03
			b := orb.Bound{Min: pt, Max: orb.Point{pt[0] + w, pt[1] + h}}
			for _, k := range []geo.Kind{geo.KindNeighbourhood, geo.KindRoad} {
				gotW := c.Within(k, b)
				wantW := bruteWithin(c, k, b)
				if len(gotW) != len(wantW) {
					t.Fatalf("seed %d: Within(%s, %v) has %d features, brute force %d", seed, k, b, len(gotW), len(wantW))
				}
				for _, f := range gotW {
					if !wantW[f.ID] {
						t.Fatalf("seed %d: Within(%s, %v) has %q, brute force does not", seed, k, b, f.ID)
					}
				}
			}
		}
	}
}

func sphereDistTo(pt orb.Point, f *geo.Feature) float64 {
	l := f.Geometry.(orb.LineString)
	d := math.Inf(1)
	for i := 0; i+1 < len(l); i++ {
		d = math.Min(d, sphereDist(pt, l[i], l[i+1]))
	}
	return d
}
