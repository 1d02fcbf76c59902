package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// The query square Q is 0.01° on a side near Milan; a, b, c are probes:
//
//	45.47 +---------+
//	      |    a    |        c (outside)
//	      |   +--+  |
//	      |   |S |  |   b on the east edge
//	45.46 +---+--+--+
//	     9.18      9.19
func TestMatcher(t *testing.T) {
	q := orb.Polygon{{{9.18, 45.46}, {9.19, 45.46}, {9.19, 45.47}, {9.18, 45.47}, {9.18, 45.46}}}
	small := orb.Polygon{{{9.184, 45.46}, {9.186, 45.46}, {9.186, 45.462}, {9.184, 45.462}, {9.184, 45.46}}}
	big := orb.Polygon{{{9.17, 45.45}, {9.20, 45.45}, {9.20, 45.48}, {9.17, 45.48}, {9.17, 45.45}}}
	a, b, c := orb.Point{9.185, 45.468}, orb.Point{9.19, 45.465}, orb.Point{9.2, 45.465}
	crossing := orb.LineString{{9.175, 45.465}, {9.185, 45.465}}
	cases := []struct {
		rel  GeoRel
		g    orb.Geometry
		want bool
	}{
		{Within, a, true}, {Within, b, false /* boundary */}, {Within, c, false},
		{Within, small, true}, {Within, crossing, false}, {Within, big, false},
		{Intersects, b, true}, {Intersects, crossing, true}, {Intersects, c, false},
		{Disjoint, c, true}, {Disjoint, a, false}, {Disjoint, crossing, false},
		{Contains, big, true}, {Contains, small, false}, {Contains, a, false},
		{Overlaps, big, false}, {Equals, q, true}, {Equals, small, false},
	}
	for _, tc := range cases {
		m, err := NewMatcher(Relation{Rel: tc.rel, Geometry: q})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(tc.g); got != tc.want {
			t.Errorf("%s %s: got %v, want %v", tc.g.GeoJSONType(), tc.rel, got, tc.want)
		}
		m.Close()
	}
}

func TestNear(t *testing.T) {
	o := orb.Point{9.19, 45.4642} // Duomo
	// 0.001° of latitude is ~111 m; of longitude at 45.46° ~78 m.
	north := orb.Point{9.19, 45.4652}
	east := orb.Point{9.192, 45.4642}
	road := orb.LineString{{9.185, 45.4662}, {9.195, 45.4662}} // 222 m north
	for _, tc := range []struct {
		g        orb.Geometry
		wantM    float64
		max, min float64
		want     bool
	}{
		{north, 111.1, 150, 0, true},
		{north, 111.1, 100, 0, false},
		{east, 156.2, 200, 160, false},
		{east, 156.2, 200, 150, true},
		{road, 222.3, 250, 0, true},
		{orb.Polygon{{{9.18, 45.46}, {9.2, 45.46}, {9.2, 45.47}, {9.18, 45.47}, {9.18, 45.46}}}, 0, 1, 0, true},
	} {
		if d := DistanceMetres(o, tc.g); math.Abs(d-tc.wantM) > 0.5 {
			t.Errorf("distance to %s = %.1f m, want %.1f", tc.g.GeoJSONType(), d, tc.wantM)
		}
		m, err := NewMatcher(Relation{Rel: Near, Geometry: o, MaxDistance: tc.max, MinDistance: tc.min})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(tc.g); got != tc.want {
			t.Errorf("%s near max %v min %v: got %v", tc.g.GeoJSONType(), tc.max, tc.min, got)
		}
		if b, ok := (Relation{Rel: Near, Geometry: o, MaxDistance: tc.max}).Bound(); !ok || (tc.want && tc.min == 0 && !b.Intersects(tc.g.Bound())) {
			t.Errorf("bound %v misses a match", b)
		}
	}
}

func TestRelationCheck(t *testing.T) {
	for _, r := range []Relation{
		{Rel: Near, Geometry: orb.Point{9, 45}},
		{Rel: Near, Geometry: orb.LineString{{9, 45}, {9, 46}}, MaxDistance: 5},
		{Rel: Near, Geometry: orb.Point{9, 45}, MaxDistance: -1},
		{Rel: Within, Geometry: orb.Point{9, 45}},
		{Rel: "around", Geometry: orb.Point{9, 45}},
		{Rel: Intersects, Geometry: orb.Point{200, 45}},
		{Rel: Intersects},
	} {
		if err := r.Check(); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
	bowtie := orb.Polygon{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}
	if _, err := NewMatcher(Relation{Rel: Within, Geometry: bowtie}); err == nil {
		t.Error("self-intersecting query polygon accepted")
	}
}
