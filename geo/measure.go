package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// localFrame is an equirectangular projection around an origin: metres per
// degree of longitude (kx) and latitude (ky) from the WGS84 radii of
// curvature at the origin's latitude.
type localFrame struct {
	o      orb.Point
	kx, ky float64
}

func newLocalFrame(o orb.Point) localFrame {
	const e2 = wgs84F * (2 - wgs84F)
	phi := o[1] * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - e2*s*s
	n := wgs84A / math.Sqrt(w)                  // prime vertical radius
	m := wgs84A * (1 - e2) / (w * math.Sqrt(w)) // meridional radius
	return localFrame{o: o, kx: n * math.Cos(phi) * math.Pi / 180, ky: m * math.Pi / 180}
}

func (f localFrame) xy(p orb.Point) (x, y float64) {
	return (p[0] - f.o[0]) * f.kx, (p[1] - f.o[1]) * f.ky
}

// around returns the bound of the square of half-side metres centred on the
// frame's origin.
func (f localFrame) around(metres float64) orb.Bound {
	dx, dy := metres/f.kx, metres/f.ky
	return orb.Bound{Min: orb.Point{f.o[0] - dx, f.o[1] - dy}, Max: orb.Point{f.o[0] + dx, f.o[1] + dy}}
}

// distToSegment is the distance in metres from the point (px, py) to the
// segment a-b, all in frame coordinates.
func distToSegment(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = ((px-ax)*dx + (py-ay)*dy) / l2
		t = max(0, min(1, t))
	}
	return math.Hypot(px-(ax+t*dx), py-(ay+t*dy))
}

// segSegDist is the distance between segments p1-p2 and q1-q2 in a plane.
func segSegDist(p1x, p1y, p2x, p2y, q1x, q1y, q2x, q2y float64) float64 {
	if segmentsIntersect(orb.Point{p1x, p1y}, orb.Point{p2x, p2y}, orb.Point{q1x, q1y}, orb.Point{q2x, q2y}) {
		return 0
	}
	return min(
		distToSegment(p1x, p1y, q1x, q1y, q2x, q2y),
		distToSegment(p2x, p2y, q1x, q1y, q2x, q2y),
		distToSegment(q1x, q1y, p1x, p1y, p2x, p2y),
		distToSegment(q2x, q2y, p1x, p1y, p2x, p2y),
	)
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSegment(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) &&
		min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// segmentsIntersect reports whether closed segments a-b and c-d share a
// point. Degenerate segments (points) are handled.
func segmentsIntersect(a, b, c, d orb.Point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// parts splits a geometry into its vertices' paths (each a sequence of
// connected points; a lone point is a path of one) and its polygons.
func parts(g orb.Geometry) (paths []orb.LineString, polys []orb.Polygon) {
	switch g := g.(type) {
	case orb.Point:
		paths = append(paths, orb.LineString{g})
	case orb.MultiPoint:
		for _, p := range g {
			paths = append(paths, orb.LineString{p})
		}
	case orb.LineString:
		paths = append(paths, g)
	case orb.MultiLineString:
		for _, l := range g {
			paths = append(paths, l)
		}
	case orb.Ring:
		return parts(orb.Polygon{g})
	case orb.Polygon:
		polys = append(polys, g)
		for _, r := range g {
			paths = append(paths, orb.LineString(r))
		}
	case orb.MultiPolygon:
		for _, p := range g {
			pp, pl := parts(p)
			paths, polys = append(paths, pp...), append(polys, pl...)
		}
	case orb.Bound:
		return parts(g.ToPolygon())
	case orb.Collection:
		for _, c := range g {
			pp, pl := parts(c)
			paths, polys = append(paths, pp...), append(polys, pl...)
		}
	}
	return paths, polys
}

// intersects reports whether two geometries share at least one point
// (boundaries included), planar in lon/lat.
func intersects(a, b orb.Geometry) bool {
	if a == nil || b == nil || !boundsIntersect(a.Bound(), b.Bound()) {
		return false
	}
	pa, ga := parts(a)
	pb, gb := parts(b)
	for _, la := range pa {
		for _, lb := range pb {
			if pathsIntersect(la, lb) {
				return true
			}
		}
	}
	// No boundary crossing: one geometry is inside the other or they are
	// disjoint. One vertex of each path decides.
	for _, poly := range gb {
		for _, la := range pa {
			if len(la) > 0 && planar.PolygonContains(poly, la[0]) {
				return true
			}
		}
	}
	for _, poly := range ga {
		for _, lb := range pb {
			if len(lb) > 0 && planar.PolygonContains(poly, lb[0]) {
				return true
			}
		}
	}
	return false
}

func pathsIntersect(a, b orb.LineString) bool {
	if len(a) == 0 || len(b) == 0 || !boundsIntersect(a.Bound(), b.Bound()) {
		return false
	}
	seg := func(l orb.LineString, i int) (orb.Point, orb.Point) {
		if len(l) == 1 {
			return l[0], l[0]
		}
		return l[i], l[i+1]
	}
	na, nb := max(1, len(a)-1), max(1, len(b)-1)
	for i := 0; i < na; i++ {
		a1, a2 := seg(a, i)
		for j := 0; j < nb; j++ {
			b1, b2 := seg(b, j)
			if segmentsIntersect(a1, a2, b1, b2) {
				return true
			}
		}
	}
	return false
}
