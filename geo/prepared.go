package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// preparedArea answers point-in-area in about constant time for polygons
// with thousands of vertices (Milan's Municipi have up to 9 310): the
// edges of all its rings are bucketed into horizontal bands, and the
// even-odd crossing test only looks at the band holding the point. Valid
// polygons (as repaired at load) have non-overlapping parts and holes
// inside their shells, so parity over all rings is containment. Points on
// any edge count as inside.
type preparedArea struct {
	bound     orb.Bound
	bandH     float64
	bandStart []int32 // edges of band i: edgeIdx[bandStart[i]:bandStart[i+1]]
	edgeIdx   []int32
	edges     [][2]orb.Point
}

func prepareArea(g orb.Geometry) *preparedArea {
	pa := &preparedArea{bound: g.Bound()}
	addRing := func(r orb.Ring) {
		for i := 0; i+1 < len(r); i++ {
			if r[i] != r[i+1] {
				pa.edges = append(pa.edges, [2]orb.Point{r[i], r[i+1]})
			}
		}
	}
	switch g := g.(type) {
	case orb.Polygon:
		for _, r := range g {
			addRing(r)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				addRing(r)
			}
		}
	}
	nb := max(1, len(pa.edges)/4)
	h := (pa.bound.Max[1] - pa.bound.Min[1]) / float64(nb)
	if !(h > 0) {
		nb, h = 1, math.Inf(1)
	}
	pa.bandH = h
	band := func(y float64) int {
		b := int((y - pa.bound.Min[1]) / h)
		return max(0, min(nb-1, b))
	}
	counts := make([]int32, nb+1)
	for _, e := range pa.edges {
		lo, hi := band(min(e[0][1], e[1][1])), band(max(e[0][1], e[1][1]))
		for b := lo; b <= hi; b++ {
			counts[b+1]++
		}
	}
	for i := 1; i <= nb; i++ {
		counts[i] += counts[i-1]
	}
	pa.bandStart = counts
	pa.edgeIdx = make([]int32, counts[nb])
	fill := make([]int32, nb)
	copy(fill, counts[:nb])
	for i, e := range pa.edges {
		lo, hi := band(min(e[0][1], e[1][1])), band(max(e[0][1], e[1][1]))
		for b := lo; b <= hi; b++ {
			pa.edgeIdx[fill[b]] = int32(i)
			fill[b]++
		}
	}
	return pa
}

func (pa *preparedArea) contains(p orb.Point) bool {
	if p[0] < pa.bound.Min[0] || p[0] > pa.bound.Max[0] || p[1] < pa.bound.Min[1] || p[1] > pa.bound.Max[1] {
		return false
	}
	nb := len(pa.bandStart) - 1
	b := 0
	if !math.IsInf(pa.bandH, 1) {
		b = max(0, min(nb-1, int((p[1]-pa.bound.Min[1])/pa.bandH)))
	}
	in := false
	for _, ei := range pa.edgeIdx[pa.bandStart[b]:pa.bandStart[b+1]] {
		a, c := pa.edges[ei][0], pa.edges[ei][1]
		if (a[1] > p[1]) != (c[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(c[0]-a[0])/(c[1]-a[1])
			if x == p[0] {
				return true // on the edge
			}
			if p[0] < x {
				in = !in
			}
		} else if a[1] == p[1] && c[1] == p[1] && p[0] >= min(a[0], c[0]) && p[0] <= max(a[0], c[0]) {
			return true // on a horizontal edge
		} else if (a == p) || (c == p) {
			return true // on a vertex
		}
	}
	return in
}
