package democity

import (
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/citytwin/citytwin/geo"
)

// Park sizes, hectares.
const (
	minParkHa = 2.0
	maxParkHa = 30.0
	parkVerts = 20
)

// parks returns the green areas and their irrigation zones. A park is a
// rounded rectangle or an ellipse (a superellipse with exponent 2 to 4),
// convex, 2–30 ha, that overlaps no other park; its 1–4 irrigation zones are
// parallel strips across its long axis, which tile it exactly.
func (c *city) parks() (parks, zones []geo.Feature) {
	want := int(math.Round(25 * (c.R / 6000) * (c.R / 6000)))
	want = max(3, min(60, want))
	for attempt := 0; len(parks) < want && attempt < 200*want; attempt++ {
		ha := minParkHa + (maxParkHa-minParkHa)*math.Pow(c.rng.Float64(), 1.8)
		exp := 2 + 2*c.rng.Float64()
		aspect := 1 + 1.2*c.rng.Float64()
		rot := 2 * math.Pi * c.rng.Float64()
		// The shape, centred on the origin and with its long axis along x,
		// scaled to the wanted area.
		shape := superellipse(exp, aspect, c.rng.Float64())
		scale := math.Sqrt(ha * 10_000 / ringArea(shape))
		reach := 0.0
		for i := range shape {
			shape[i] = orb.Point{shape[i][0] * scale, shape[i][1] * scale}
			reach = math.Max(reach, math.Hypot(shape[i][0], shape[i][1]))
		}
		// A centre in the city, off the other parks.
		maxR := 0.92*c.R - reach
		if maxR <= 0 {
			continue
		}
		rr := maxR * math.Sqrt(c.rng.Float64())
		th := 2 * math.Pi * c.rng.Float64()
		ctr := orb.Point{rr * math.Cos(th), rr * math.Sin(th)}
		if c.crowded(ctr, reach) {
			continue
		}
		place := func(r orb.Ring) orb.Ring {
			out := make(orb.Ring, len(r))
			sin, cos := math.Sincos(rot)
			for i, p := range r {
				out[i] = orb.Point{ctr[0] + p[0]*cos - p[1]*sin, ctr[1] + p[0]*sin + p[1]*cos}
			}
			return out
		}

		n := len(parks) + 1
		pid := id("g", n, 2)
		name := c.names.fromList("Parco ", parkBases)
		if ha < 5 {
			name = "Giardino" + name[len("Parco"):]
		}
		c.parkShapes = append(c.parkShapes, orb.Polygon{place(shape)})
		c.parkRadius = append(c.parkRadius, reach)
		c.parkCenter = append(c.parkCenter, ctr)

		// The outline carries the zones' cut points too, so that after
		// rounding to 1e-7° the zones still tile it exactly.
		strips, cuts := zoneStrips(shape, 1+c.rng.IntN(4))
		outline := place(withCuts(shape, cuts))
		parks = append(parks, geo.Feature{
			ID:       pid,
			Kind:     geo.KindGreenArea,
			Name:     name,
			Geometry: c.fr.polygon(outline),
			Props: map[string]any{
				"area_m2":          round(ringArea(outline), 1),
				"irrigation_zones": len(strips),
			},
		})
		for z, s := range strips {
			r := place(s)
			zones = append(zones, geo.Feature{
				ID:       fmt.Sprintf("z%02d-%d", n, z+1),
				Kind:     geo.KindIrrigationZone,
				Name:     fmt.Sprintf("%s, settore %c", name, 'A'+z),
				Geometry: c.fr.polygon(r),
				Parent:   pid,
				Props:    map[string]any{"area_m2": round(ringArea(r), 1)},
			})
		}
	}
	return parks, zones
}

// crowded reports whether a park of the given reach at ctr would come
// within 60 m of another park.
func (c *city) crowded(ctr orb.Point, reach float64) bool {
	for i, o := range c.parkCenter {
		if math.Hypot(ctr[0]-o[0], ctr[1]-o[1]) < reach+c.parkRadius[i]+60 {
			return true
		}
	}
	return false
}

// inPark reports whether p (metres) lies in a park.
func (c *city) inPark(p orb.Point) bool {
	for i, o := range c.parkCenter {
		if math.Hypot(p[0]-o[0], p[1]-o[1]) <= c.parkRadius[i] && planar.PolygonContains(c.parkShapes[i], p) {
			return true
		}
	}
	return false
}

// superellipse returns a closed counter-clockwise ring of parkVerts points
// on |x/a|^e + |y|^e = 1 with a = aspect, rotated along the curve by phase
// (a fraction of a step). Points on a convex curve are in convex position,
// so the ring is convex.
func superellipse(e, aspect, phase float64) orb.Ring {
	r := make(orb.Ring, 0, parkVerts+1)
	for i := range parkVerts {
		t := 2 * math.Pi * (float64(i) + phase) / parkVerts
		ct, st := math.Cos(t), math.Sin(t)
		x := aspect * math.Copysign(math.Pow(math.Abs(ct), 2/e), ct)
		y := math.Copysign(math.Pow(math.Abs(st), 2/e), st)
		r = append(r, orb.Point{x, y})
	}
	return closed(r)
}

// zoneStrips cuts the convex ring into n strips by lines x = const evenly
// spaced across it, and returns them with the x of the cuts. A strip is
// the run of vertices of withCuts(r, cuts) inside its slab, so neighbouring
// strips share the cut points exactly.
func zoneStrips(r orb.Ring, n int) ([]orb.Ring, []float64) {
	if n <= 1 {
		return []orb.Ring{r}, nil
	}
	b := r.Bound()
	cuts := make([]float64, n-1)
	for i := range cuts {
		cuts[i] = b.Min[0] + (b.Max[0]-b.Min[0])*float64(i+1)/float64(n)
	}
	full := withCuts(r, cuts)
	out := make([]orb.Ring, 0, n)
	for i := range n {
		lo, hi := math.Inf(-1), math.Inf(1)
		if i > 0 {
			lo = cuts[i-1]
		}
		if i < n-1 {
			hi = cuts[i]
		}
		var s []orb.Point
		for _, p := range full[:len(full)-1] {
			if p[0] >= lo && p[0] <= hi {
				s = append(s, p)
			}
		}
		out = append(out, closed(s))
	}
	return out, cuts
}

// withCuts returns the ring with the points where the lines x = cuts cross
// its edges inserted, computed as clipX does.
func withCuts(r orb.Ring, cuts []float64) orb.Ring {
	var out []orb.Point
	for i := 0; i+1 < len(r); i++ {
		p, q := r[i], r[i+1]
		out = append(out, p)
		var xs []float64
		for _, at := range cuts {
			if (p[0] < at) != (q[0] < at) {
				xs = append(xs, at)
			}
		}
		// In order along the edge.
		slices.Sort(xs)
		if q[0] < p[0] {
			slices.Reverse(xs)
		}
		for _, at := range xs {
			t := (at - p[0]) / (q[0] - p[0])
			out = append(out, orb.Point{at, p[1] + t*(q[1]-p[1])})
		}
	}
	return closed(out)
}

// clipX keeps the part of the convex closed ring with x >= at (keepRight)
// or x <= at (Sutherland–Hodgman against one line). An intersection point
// is computed from the edge's endpoints in ring order, so the strips on
// either side of a cut get identical points.
func clipX(r orb.Ring, at float64, keepRight bool) orb.Ring {
	if math.IsInf(at, 0) {
		return r
	}
	in := func(p orb.Point) bool {
		if keepRight {
			return p[0] >= at
		}
		return p[0] <= at
	}
	var out []orb.Point
	for i := 0; i+1 < len(r); i++ {
		p, q := r[i], r[i+1]
		if in(p) {
			out = append(out, p)
		}
		if in(p) != in(q) {
			t := (at - p[0]) / (q[0] - p[0])
			out = append(out, orb.Point{at, p[1] + t*(q[1]-p[1])})
		}
	}
	return closed(out)
}
