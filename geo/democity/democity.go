package democity

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// Defaults for the zero Config.
const (
	DefaultLon      = 9.19  // longitude of the default centre
	DefaultLat      = 45.46 // latitude of the default centre
	DefaultRadiusKm = 6.0
)

// Config says which demo city to generate. The zero value is the default
// city: seed 0, centred at [9.19, 45.46] with a 6 km radius.
type Config struct {
	// Seed selects one of the possible cities; 0 is a seed like any other.
	Seed int64
	// Center is the city centre, [lon, lat]; the zero point means
	// [DefaultLon, DefaultLat]. Latitude is clamped to ±80°.
	Center orb.Point
	// RadiusKm is the radius of the city disc; 0 (or less) means
	// DefaultRadiusKm. It is clamped to [1, 20] km. Feature counts in the
	// package documentation are for the default radius; roads and parks
	// scale with the area.
	RadiusKm float64
}

// Road classes and their attributes.
const (
	classPrimary     = "primary"
	classSecondary   = "secondary"
	classResidential = "residential"
)

// Layout of the polar grid the areas are drawn on: sectors (districts 2–9)
// each split into stepsPerSector angular steps.
const (
	sectors        = 8
	stepsPerSector = 12
	steps          = sectors * stepsPerSector
)

// Generate returns the demo city's features by layer (every kind of
// geo.Kinds is present). It is deterministic for a Config.
func Generate(cfg Config) map[geo.Kind][]geo.Feature {
	c := newCity(cfg)
	out := map[geo.Kind][]geo.Feature{}
	out[geo.KindDistrict], out[geo.KindNeighbourhood] = c.areas()
	out[geo.KindGreenArea], out[geo.KindIrrigationZone] = c.parks()
	out[geo.KindRoad] = c.roads()
	return out
}

// city is the generator's state: the plane, the random source and the polar
// grid the districts, neighbourhoods, ring roads and avenues share.
type city struct {
	rng   *rand.Rand
	names *namer
	fr    frame
	// radii of the historic core, of district 1, of the split between the
	// inner and outer bands of districts 2–9, and of the city.
	r0, r1, r2, R float64
	// angle[i] is the angle (radians, counter-clockwise from east) of step
	// i of the polar grid; sector k spans steps k*stepsPerSector to
	// (k+1)*stepsPerSector.
	angle [steps]float64
	// parks in metres, kept to keep local streets out of them.
	parkShapes []orb.Polygon
	parkRadius []float64
	parkCenter []orb.Point
}

func newCity(cfg Config) *city {
	ctr := cfg.Center
	if ctr == (orb.Point{}) {
		ctr = orb.Point{DefaultLon, DefaultLat}
	}
	ctr[1] = math.Max(-80, math.Min(80, ctr[1]))
	rk := cfg.RadiusKm
	if !(rk > 0) {
		rk = DefaultRadiusKm
	}
	rk = math.Max(1, math.Min(20, rk))
	R := rk * 1000

	// The seed and a fixed stream id; PCG output is specified, so a seed
	// yields the same city everywhere.
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x636974797477696e))
	c := &city{
		rng: rng,
		fr:  newFrame(ctr),
		R:   R,
	}
	c.names = newNamer(rng)
	c.r0 = R * (0.14 + 0.02*rng.Float64())
	c.r1 = R * (0.36 + 0.04*rng.Float64())
	c.r2 = R * (0.63 + 0.06*rng.Float64())

	// Sector k is centred near compass direction k*45° (0 = east) with its
	// boundaries jittered by up to ±4°.
	var bound [sectors + 1]float64
	for k := range sectors {
		bound[k] = deg2rad(float64(k)*45 - 22.5 + 8*(rng.Float64()-0.5))
	}
	bound[sectors] = bound[0] + 2*math.Pi
	for k := range sectors {
		w := (bound[k+1] - bound[k]) / stepsPerSector
		for j := range stepsPerSector {
			c.angle[k*stepsPerSector+j] = bound[k] + float64(j)*w
		}
	}
	return c
}

func deg2rad(d float64) float64 { return d * math.Pi / 180 }

// polar returns the point at radius r (metres) on step i (taken modulo
// steps) of the polar grid, in metres. The same (r, i) always gives the
// same point, which is what makes shared edges share their vertices.
func (c *city) polar(r float64, i int) orb.Point {
	a := c.angle[((i%steps)+steps)%steps]
	return orb.Point{r * math.Cos(a), r * math.Sin(a)}
}

// frame maps the local plane (metres east and north of the centre) to WGS84.
type frame struct {
	center     orb.Point
	mPerDegLon float64
	mPerDegLat float64
}

const mPerDegLat = 111_320.0

func newFrame(center orb.Point) frame {
	return frame{
		center:     center,
		mPerDegLat: mPerDegLat,
		mPerDegLon: mPerDegLat * math.Cos(deg2rad(center[1])),
	}
}

// point projects a point of the plane to [lon, lat] rounded to 1e-7°.
func (f frame) point(p orb.Point) orb.Point {
	return orb.Point{
		round(f.center[0]+p[0]/f.mPerDegLon, 1e7),
		round(f.center[1]+p[1]/f.mPerDegLat, 1e7),
	}
}

func round(v, scale float64) float64 { return math.Round(v*scale) / scale }

// ring projects a closed ring of the plane, counter-clockwise, dropping
// points that rounding made equal to the previous one.
func (f frame) ring(r orb.Ring) orb.Ring {
	out := make(orb.Ring, 0, len(r))
	for _, p := range r {
		if q := f.point(p); len(out) == 0 || q != out[len(out)-1] {
			out = append(out, q)
		}
	}
	if out.Orientation() == orb.CW {
		out.Reverse()
	}
	return out
}

func (f frame) polygon(r orb.Ring) orb.Polygon { return orb.Polygon{f.ring(r)} }

// closed appends the first point to pts if needed and returns it as a ring.
func closed(pts []orb.Point) orb.Ring {
	r := orb.Ring(pts)
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

// ringArea is the absolute area of a ring of the plane, in m².
func ringArea(r orb.Ring) float64 {
	s := 0.0
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return math.Abs(s) / 2
}

func id(prefix string, n, width int) string { return fmt.Sprintf("%s%0*d", prefix, width, n) }
