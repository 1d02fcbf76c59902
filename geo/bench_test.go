package geo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/citytwin/citytwin/geo"
	"github.com/paulmach/orb"
)

// benchCity is 88 NIL and 9 Municipi (Milan's when the open data is
// present, else a synthetic 3×3 / 11×8 tiling of the same extent) plus
// 20 000 synthetic road segments: a 100×100 grid of cells, one
// horizontal and one vertical segment per cell (~200 m each).
func benchCity(b testing.TB) *geo.City {
	b.Helper()
	fs := map[geo.Kind][]geo.Feature{}
	if _, err := os.Stat("../../shared/data/milano"); err == nil {
		c, _ := loadMilan(b)
		for _, k := range []geo.Kind{geo.KindDistrict, geo.KindNeighbourhood} {
			for _, f := range c.Features(k) {
				fs[k] = append(fs[k], *f)
			}
		}
	} else {
		b.Log("Milan open data absent: synthetic areas")
		tile := func(k geo.Kind, nx, ny int) {
			for i := range nx {
				for j := range ny {
					x0, y0 := 9.04+0.24*float64(i)/float64(nx), 45.39+0.15*float64(j)/float64(ny)
					x1, y1 := 9.04+0.24*float64(i+1)/float64(nx), 45.39+0.15*float64(j+1)/float64(ny)
					fs[k] = append(fs[k], geo.Feature{ID: fmt.Sprint(i, "-", j), Geometry: orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}})
				}
			}
		}
		tile(geo.KindDistrict, 3, 3)
		tile(geo.KindNeighbourhood, 11, 8)
	}
	const n = 100
	dx, dy := 0.27/n, 0.17/n // Milan's extent: 9.04-9.31 E, 45.38-45.55 N
	for i := range n {
		for j := range n {
			x, y := 9.04+float64(i)*dx, 45.38+float64(j)*dy
			fs[geo.KindRoad] = append(fs[geo.KindRoad],
				geo.Feature{ID: fmt.Sprint("h", i, "-", j), Geometry: orb.LineString{{x, y}, {x + dx, y}}},
				geo.Feature{ID: fmt.Sprint("v", i, "-", j), Geometry: orb.LineString{{x, y}, {x, y + dy}}})
		}
	}
	c, _, err := geo.NewCity(fs)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchPoints(c *geo.City) []orb.Point {
	r := rand.New(rand.NewPCG(1, 2))
	bd := c.Bound()
	pts := make([]orb.Point, 4096)
	for i := range pts {
		pts[i] = orb.Point{bd.Min[0] + r.Float64()*(bd.Max[0]-bd.Min[0]), bd.Min[1] + r.Float64()*(bd.Max[1]-bd.Min[1])}
	}
	return pts
}

// BenchmarkLink links one sensor (areas at both levels and the nearest
// road within 100 m) through the R-tree indexes.
func BenchmarkLink(b *testing.B) {
	c := benchCity(b)
	pts := benchPoints(c)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		c.Link(pts[i%len(pts)], nil, 100)
		i++
	}
}

// BenchmarkLinkLinearScan is the naive baseline: every area tested for
// containment, every road segment measured.
func BenchmarkLinkLinearScan(b *testing.B) {
	c := benchCity(b)
	pts := benchPoints(c)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		linearLink(c, pts[i%len(pts)], 100)
		i++
	}
}

func linearLink(c *geo.City, pt orb.Point, maxM float64) geo.Links {
	var ln geo.Links
	if f := bruteContaining(c, geo.KindDistrict, pt); f != nil {
		ln.District = f.ID
	}
	if f := bruteContaining(c, geo.KindNeighbourhood, pt); f != nil {
		ln.Neighbourhood = f.ID
	}
	ln.RoadDistance = math.Inf(1)
	if f, d := bruteNearest(c, pt); f != nil && d <= maxM {
		ln.Road, ln.RoadDistance = f.ID, d
	}
	return ln
}

// TestLinkMatchesLinearScan keeps the benchmark honest: both sides of it
// compute the same links.
func TestLinkMatchesLinearScan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the 20 000-road benchmark city")
	}
	c := benchCity(t)
	for _, pt := range benchPoints(c)[:300] {
		got, want := c.Link(pt, nil, 100), linearLink(c, pt, 100)
		if got.District != want.District || got.Neighbourhood != want.Neighbourhood {
			t.Fatalf("Link(%v) areas %+v, linear scan %+v", pt, got, want)
		}
		if got.Road != want.Road && math.Abs(got.RoadDistance-want.RoadDistance) > 0.01*want.RoadDistance {
			t.Fatalf("Link(%v) road %+v, linear scan %+v", pt, got, want)
		}
	}
}
