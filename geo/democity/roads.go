package democity

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// Segment lengths, metres: ring and avenue segments aim at targetSeg, and
// no segment is shorter than minSeg or longer than maxSeg.
const (
	minSeg    = 110.0
	targetSeg = 200.0
	maxSeg    = 260.0
)

type roadKind struct {
	class string
	lanes int
	speed float64
}

var (
	ringRoad   = roadKind{classPrimary, 4, 50}
	avenue     = roadKind{classSecondary, 2, 50}
	localRoad  = roadKind{classResidential, 2, 30}
	radialStep = steps / 16 // 16 avenues: on the sector boundaries and midlines
)

// roads returns the road network as segments of two points: ring roads
// along the historic core, district 1 and the inner/outer band boundary;
// 16 radial avenues from the core to the edge; and a grid of local streets,
// rotated by a seed-dependent angle, that stays out of the parks.
func (c *city) roads() []geo.Feature {
	var out []geo.Feature
	add := func(k roadKind, name string, a, b orb.Point) {
		out = append(out, geo.Feature{
			ID:         id("r", len(out)+1, 4),
			Kind:       geo.KindRoad,
			Name:       name,
			Geometry:   orb.LineString{c.fr.point(a), c.fr.point(b)},
			RoadClass:  k.class,
			Lanes:      k.lanes,
			SpeedLimit: k.speed,
			Props:      map[string]any{"length_m": round(math.Hypot(b[0]-a[0], b[1]-a[1]), 10)},
		})
	}
	addLine := func(k roadKind, name string, a, b orb.Point) {
		n := max(1, int(math.Ceil(math.Hypot(b[0]-a[0], b[1]-a[1])/maxSeg)))
		prev := a
		for i := 1; i <= n; i++ {
			t := float64(i) / float64(n)
			next := orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
			if i == n {
				next = b
			}
			add(k, name, prev, next)
			prev = next
		}
	}

	// Ring roads, through the vertices of the polar grid every m steps,
	// with m the smallest divisor of the step count giving chords of at
	// least minSeg.
	for ri, r := range []float64{c.r0, c.r1, c.r2} {
		name := c.names.fromList("", ringNames[ri])
		m := 1
		for ; m < steps; m++ {
			if steps%m == 0 && c.minChord(r, m) >= minSeg {
				break
			}
		}
		for i := 0; i < steps; i += m {
			addLine(ringRoad, name, c.polar(r, i), c.polar(r, i+m))
		}
	}

	// Radial avenues from the core ring to just inside the edge.
	for i := 0; i < steps; i += radialStep {
		prefix := "Viale"
		if (i/radialStep)%2 == 1 {
			prefix = "Corso"
		}
		name := c.names.street(prefix)
		from, to := c.polar(c.r0, i), c.polar(0.98*c.R, i)
		n := max(1, int(math.Round(math.Hypot(to[0]-from[0], to[1]-from[1])/targetSeg)))
		for s := range n {
			a := lerp(from, to, float64(s)/float64(n))
			b := to
			if s+1 < n {
				b = lerp(from, to, float64(s+1)/float64(n))
			}
			add(avenue, name, a, b)
		}
	}

	// Local streets: a grid of blocks of side `side`, each block edge
	// split in two segments, kept where both ends and the middle are in the
	// city and out of the parks. A grid line is cut into streets of 6 to
	// 14 segments, each with its own name.
	side := 420 + 60*c.rng.Float64()
	rot := math.Pi / 2 * c.rng.Float64()
	offU, offV := side*c.rng.Float64(), side*c.rng.Float64()
	sin, cos := math.Sincos(rot)
	toPlane := func(u, v float64) orb.Point { return orb.Point{u*cos - v*sin, u*sin + v*cos} }
	limit := 0.97 * c.R
	half := side / 2
	lines := int(math.Ceil(limit/side)) + 1
	for dir := range 2 {
		for li := -lines; li <= lines; li++ {
			u := offU + float64(li)*side
			if dir == 1 {
				u = offV + float64(li)*side
			}
			name, left := "", 0
			for sj := -2 * lines; sj < 2*lines; sj++ {
				v0 := float64(sj) * half
				v1 := v0 + half
				var a, b orb.Point
				if dir == 0 {
					a, b = toPlane(u, v0+offV), toPlane(u, v1+offV)
				} else {
					a, b = toPlane(v0+offU, u), toPlane(v1+offU, u)
				}
				mid := lerp(a, b, 0.5)
				if norm(a) > limit || norm(b) > limit || c.inPark(a) || c.inPark(b) || c.inPark(mid) {
					left = 0 // a gap ends the street
					continue
				}
				if left == 0 {
					name, left = c.names.street("Via"), 6+c.rng.IntN(9)
				}
				add(localRoad, name, a, b)
				left--
			}
		}
	}
	return out
}

// minChord is the shortest chord between grid steps m apart at radius r.
func (c *city) minChord(r float64, m int) float64 {
	least := math.Inf(1)
	for i := 0; i < steps; i += m {
		a, b := c.polar(r, i), c.polar(r, i+m)
		least = math.Min(least, math.Hypot(b[0]-a[0], b[1]-a[1]))
	}
	return least
}

func lerp(a, b orb.Point, t float64) orb.Point {
	return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}

func norm(p orb.Point) float64 { return math.Hypot(p[0], p[1]) }
