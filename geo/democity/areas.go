package democity

import (
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// windNames names the ring districts after the wind blowing from their
// direction; index k is the sector centred near k*45° counter-clockwise from
// east.
var windNames = [sectors]string{
	"Levante", "Grecale", "Tramontana", "Maestrale",
	"Ponente", "Libeccio", "Ostro", "Scirocco",
}

// districtOrder numbers the ring districts clockwise from the north, as
// sector indices: d2 is the northern sector, d3 the north-eastern one...
var districtOrder = [sectors]int{2, 1, 0, 7, 6, 5, 4, 3}

// areas returns the districts and their neighbourhoods. District 1 is the
// disc of radius r1, split into the historic core (radius r0) and 3 or 4
// pieces of the ring around it. Districts 2–9 are the sectors of the ring
// from r1 to R, each split into an inner band (r1 to r2, 1 or 2 pieces) and
// an outer band (r2 to R, 2 to 4 pieces).
func (c *city) areas() (districts, hoods []geo.Feature) {
	hoodNames := c.names.hoods()
	addHood := func(district string, r orb.Ring) {
		n := len(hoods) + 1
		hoods = append(hoods, geo.Feature{
			ID:       id("n", n, 2),
			Kind:     geo.KindNeighbourhood,
			Name:     hoodNames[(n-1)%len(hoodNames)],
			Geometry: c.fr.polygon(r),
			Parent:   district,
			Props:    map[string]any{"area_m2": round(ringArea(r), 1)},
		})
	}

	// District 1 and its neighbourhoods.
	disc := c.arc(c.r1, 0, steps)
	districts = append(districts, geo.Feature{
		ID:       "d1",
		Kind:     geo.KindDistrict,
		Name:     "Centro Storico",
		Geometry: c.fr.polygon(disc),
		Props:    map[string]any{"area_m2": round(ringArea(disc), 1), "number": 1},
	})
	addHood("d1", c.arc(c.r0, 0, steps))
	parts := 3 + c.rng.IntN(2)
	start := c.rng.IntN(steps / parts)
	for p := range parts {
		i := start + p*steps/parts
		addHood("d1", c.band(c.r0, c.r1, i, i+steps/parts))
	}

	// Districts 2–9.
	for n, k := range districtOrder {
		did := id("d", n+2, 1)
		i, j := k*stepsPerSector, (k+1)*stepsPerSector
		outline := c.arc(c.R, i, j)
		outline = append(outline, c.polar(c.r2, j))
		outline = append(outline, c.arc(c.r1, j, i)...)
		outline = append(outline, c.polar(c.r2, i))
		outline = closed(outline)
		districts = append(districts, geo.Feature{
			ID:       did,
			Kind:     geo.KindDistrict,
			Name:     windNames[k],
			Geometry: c.fr.polygon(outline),
			Props:    map[string]any{"area_m2": round(ringArea(outline), 1), "number": n + 2},
		})
		inner := 1 + c.rng.IntN(2)
		outer := 2 + c.rng.IntN(3)
		for p := range inner {
			w := stepsPerSector / inner
			addHood(did, c.band(c.r1, c.r2, i+p*w, i+(p+1)*w))
		}
		for p := range outer {
			w := stepsPerSector / outer
			addHood(did, c.band(c.r2, c.R, i+p*w, i+(p+1)*w))
		}
	}
	return districts, hoods
}

// arc returns the points at radius r on steps from i to j inclusive, going
// counter-clockwise if j > i and clockwise if j < i. A full circle (j = i +
// steps) comes back closed.
func (c *city) arc(r float64, i, j int) []orb.Point {
	var pts []orb.Point
	d := 1
	if j < i {
		d = -1
	}
	for s := i; ; s += d {
		pts = append(pts, c.polar(r, s))
		if s == j {
			break
		}
	}
	if j-i == steps {
		pts[len(pts)-1] = pts[0]
	}
	return pts
}

// band returns the closed ring of the piece of annulus between radii rin
// and rout and steps i to j (j > i), counter-clockwise.
func (c *city) band(rin, rout float64, i, j int) orb.Ring {
	pts := c.arc(rout, i, j)
	pts = append(pts, c.arc(rin, j, i)...)
	return closed(pts)
}
