package geo

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// City is the loaded cartography with its spatial indexes. It is immutable
// and safe for concurrent use.
type City struct {
	layers map[Kind]*layer
	bound  orb.Bound
}

type layer struct {
	features []*Feature
	byID     map[string]int
	area     []float64 // planar area in degrees², areas only, to pick the smallest
	prep     []*preparedArea
	tree     *rtree    // areas: one item per feature; roads: one item per segment
	segs     []segment // roads only
}

// segment is one straight piece of a road feature.
type segment struct {
	a, b orb.Point
	feat int32
}

// Report says what loading did to each layer.
type Report struct {
	PerLayer map[Kind]LayerReport
}

// LayerReport counts the features of one layer: read from the source,
// loaded into the city, repaired (loaded with changed geometry) and dropped.
// Problems name each repaired or dropped feature and what happened to it.
type LayerReport struct {
	Read, Loaded, Repaired, Dropped int
	Problems                        []string
}

// String summarises the report, one line per layer, in Kinds order.
func (r Report) String() string {
	var sb strings.Builder
	for _, k := range Kinds {
		lr, ok := r.PerLayer[k]
		if !ok {
			continue
		}
		fmt.Fprintf(&sb, "%s: read %d, loaded %d, repaired %d, dropped %d\n", k, lr.Read, lr.Loaded, lr.Repaired, lr.Dropped)
		for _, p := range lr.Problems {
			fmt.Fprintf(&sb, "  %s\n", p)
		}
	}
	return sb.String()
}

// NewCity validates, repairs and indexes in-memory features, as Load does
// for files. The map key is each feature's kind (Feature.Kind is set from
// it). Features without an ID get their index in the slice. Features are
// copied; the caller keeps ownership of its slices.
func NewCity(features map[Kind][]Feature) (*City, Report, error) {
	b := newBuilder()
	for _, k := range Kinds {
		for i, f := range features[k] {
			if f.ID == "" {
				f.ID = strconv.Itoa(i)
			}
			b.add(k, f)
		}
	}
	for k := range features {
		if !slices.Contains(Kinds, k) {
			return nil, Report{}, fmt.Errorf("geo: unknown layer kind %q", k)
		}
	}
	c, rep := b.build()
	return c, rep, nil
}

// builder accumulates validated features before indexing.
type builder struct {
	rep    *repairer
	feats  map[Kind][]*Feature
	ids    map[Kind]map[string]bool
	report Report
}

func newBuilder() *builder {
	return &builder{
		rep:    newRepairer(),
		feats:  map[Kind][]*Feature{},
		ids:    map[Kind]map[string]bool{},
		report: Report{PerLayer: map[Kind]LayerReport{}},
	}
}

// drop records a feature that could not even be decoded.
func (b *builder) drop(k Kind, id string, err error) {
	lr := b.report.PerLayer[k]
	lr.Read++
	lr.Dropped++
	lr.Problems = append(lr.Problems, fmt.Sprintf("%s %q: dropped: %v", k, id, err))
	b.report.PerLayer[k] = lr
}

// add validates and repairs one feature and keeps it, or records why not.
func (b *builder) add(k Kind, f Feature) {
	lr := b.report.PerLayer[k]
	defer func() { b.report.PerLayer[k] = lr }()
	lr.Read++
	if b.ids[k] == nil {
		b.ids[k] = map[string]bool{}
	}
	if b.ids[k][f.ID] {
		lr.Dropped++
		lr.Problems = append(lr.Problems, fmt.Sprintf("%s %q: dropped: duplicate id", k, f.ID))
		return
	}
	g, note, err := b.rep.repair(k, f.Geometry)
	if err != nil {
		lr.Dropped++
		lr.Problems = append(lr.Problems, fmt.Sprintf("%s %q: dropped: %v", k, f.ID, err))
		return
	}
	if note != "" {
		lr.Repaired++
		lr.Problems = append(lr.Problems, fmt.Sprintf("%s %q: repaired: %s", k, f.ID, note))
	}
	b.ids[k][f.ID] = true
	f.Kind = k
	f.Geometry = g
	lr.Loaded++
	b.feats[k] = append(b.feats[k], &f)
}

func (b *builder) build() (*City, Report) {
	c := &City{layers: map[Kind]*layer{}}
	first := true
	for _, k := range Kinds {
		feats := b.feats[k]
		l := &layer{features: feats, byID: make(map[string]int, len(feats))}
		var items []rtreeItem
		for i, f := range feats {
			l.byID[f.ID] = i
			fb := f.Geometry.Bound()
			if first {
				c.bound, first = fb, false
			} else {
				c.bound = c.bound.Union(fb)
			}
			if isArea(k) {
				l.area = append(l.area, areaOf(f.Geometry))
				l.prep = append(l.prep, prepareArea(f.Geometry))
				items = append(items, rtreeItem{b: fb, id: int32(i)})
				continue
			}
			eachLine(f.Geometry, func(ls orb.LineString) {
				for j := 0; j+1 < len(ls); j++ {
					s := segment{a: ls[j], b: ls[j+1], feat: int32(i)}
					items = append(items, rtreeItem{b: orb.Bound{Min: s.a, Max: s.a}.Extend(s.b), id: int32(len(l.segs))})
					l.segs = append(l.segs, s)
				}
			})
		}
		l.tree = newRtree(items)
		c.layers[k] = l
	}
	return c, b.report
}

func eachLine(g orb.Geometry, fn func(orb.LineString)) {
	switch g := g.(type) {
	case orb.LineString:
		fn(g)
	case orb.MultiLineString:
		for _, l := range g {
			fn(l)
		}
	}
}

func areaOf(g orb.Geometry) float64 {
	switch g := g.(type) {
	case orb.Polygon:
		return math.Abs(planar.Area(g))
	case orb.MultiPolygon:
		return math.Abs(planar.Area(g))
	}
	return 0
}

// Features returns the features of a layer in load order. The slice is
// shared: do not modify it.
func (c *City) Features(k Kind) []*Feature {
	if l := c.layers[k]; l != nil {
		return l.features
	}
	return nil
}

// Feature returns the feature of layer k with the given id.
func (c *City) Feature(k Kind, id string) (*Feature, bool) {
	l := c.layers[k]
	if l == nil {
		return nil, false
	}
	i, ok := l.byID[id]
	if !ok {
		return nil, false
	}
	return l.features[i], true
}

// Bound is the bounding box of every loaded feature.
func (c *City) Bound() orb.Bound { return c.bound }

// Containing returns the area of layer k containing p (boundary included),
// the smallest one if several overlap, or nil. For the road layer it
// returns nil.
func (c *City) Containing(k Kind, p orb.Point) *Feature {
	l := c.layers[k]
	if l == nil || !isArea(k) {
		return nil
	}
	best := int32(-1)
	l.tree.search(orb.Bound{Min: p, Max: p}, func(id int32) bool {
		if (best < 0 || l.area[id] < l.area[best] || (l.area[id] == l.area[best] && id < best)) &&
			l.prep[id].contains(p) {
			best = id
		}
		return true
	})
	if best < 0 {
		return nil
	}
	return l.features[best]
}

// NearestRoad returns the road segment nearest to p within maxMetres and
// its distance in metres, or nil and +Inf when there is none.
func (c *City) NearestRoad(p orb.Point, maxMetres float64) (*Feature, float64) {
	return c.nearestRoad(p, nil, maxMetres)
}

// nearestRoad finds the road nearest to the point p or, when line is not
// empty, to the line.
func (c *City) nearestRoad(p orb.Point, line orb.LineString, maxMetres float64) (*Feature, float64) {
	l := c.layers[KindRoad]
	if l == nil || !(maxMetres >= 0) {
		return nil, math.Inf(1)
	}
	if len(line) > 0 {
		p = line[0]
	}
	fr := newLocalFrame(p)
	q := orb.Bound{Min: p, Max: p}
	if len(line) > 0 {
		q = line.Bound()
	}
	if !math.IsInf(maxMetres, 1) {
		pad := fr.around(maxMetres)
		q = orb.Bound{
			Min: orb.Point{q.Min[0] - (fr.o[0] - pad.Min[0]), q.Min[1] - (fr.o[1] - pad.Min[1])},
			Max: orb.Point{q.Max[0] + (pad.Max[0] - fr.o[0]), q.Max[1] + (pad.Max[1] - fr.o[1])},
		}
	} else {
		q = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	}
	best, bestD := int32(-1), math.Inf(1)
	l.tree.search(q, func(id int32) bool {
		s := &l.segs[id]
		var d float64
		if len(line) == 0 {
			px, py := fr.xy(p)
			ax, ay := fr.xy(s.a)
			bx, by := fr.xy(s.b)
			d = distToSegment(px, py, ax, ay, bx, by)
		} else {
			d = lineSegDist(fr, line, s.a, s.b)
		}
		if d <= maxMetres && (d < bestD || (d == bestD && s.feat < best)) {
			best, bestD = s.feat, d
		}
		return true
	})
	if best < 0 {
		return nil, math.Inf(1)
	}
	return l.features[best], bestD
}

// lineSegDist is the distance in metres between a point or line and the
// segment a-b, in the local frame fr.
func lineSegDist(fr localFrame, line orb.LineString, a, b orb.Point) float64 {
	ax, ay := fr.xy(a)
	bx, by := fr.xy(b)
	if len(line) == 1 {
		px, py := fr.xy(line[0])
		return distToSegment(px, py, ax, ay, bx, by)
	}
	d := math.Inf(1)
	for i := 0; i+1 < len(line); i++ {
		p1x, p1y := fr.xy(line[i])
		p2x, p2y := fr.xy(line[i+1])
		d = min(d, segSegDist(p1x, p1y, p2x, p2y, ax, ay, bx, by))
	}
	return d
}

// Within returns the features of layer k that intersect the bound b
// (exactly, not just by their own bounding box), in load order.
func (c *City) Within(k Kind, b orb.Bound) []*Feature {
	return c.Intersecting(k, b)
}

// Intersecting returns the features of layer k that share at least one
// point with g (planar test in lon/lat, boundaries included), in load order.
// g may be any orb geometry, including an orb.Bound.
func (c *City) Intersecting(k Kind, g orb.Geometry) []*Feature {
	l := c.layers[k]
	if l == nil || g == nil {
		return nil
	}
	var hit []int32
	seen := map[int32]bool{}
	l.tree.search(g.Bound(), func(id int32) bool {
		fi := id
		if !isArea(k) {
			fi = l.segs[id].feat
		}
		if seen[fi] {
			return true
		}
		seen[fi] = true
		if intersects(l.features[fi].Geometry, g) {
			hit = append(hit, fi)
		}
		return true
	})
	slices.Sort(hit)
	out := make([]*Feature, len(hit))
	for i, id := range hit {
		out[i] = l.features[id]
	}
	return out
}

// Link ties a sensor to the features around it. g is the sensor's location:
// a Point, or a LineString (its midpoint along its length is used for the
// areas, the whole line for the nearest road); for other geometries the
// centre of the bound is used. refs are the sensor's references
// ("refRoadSegment", "refGreenspace"); when one names a known feature, as a
// plain id or a URN whose last ':'-separated part is the id, it wins over
// geometry. refGreenspace may name a green area or an irrigation zone.
// roadMetres bounds the nearest-road search.
func (c *City) Link(g orb.Geometry, refs map[string]string, roadMetres float64) Links {
	var (
		at   orb.Point
		line orb.LineString
	)
	switch g := g.(type) {
	case orb.Point:
		at = g
	case orb.LineString:
		if len(g) == 0 {
			return Links{RoadDistance: math.Inf(1)}
		}
		at, line = midpoint(g), g
	case nil:
		return Links{RoadDistance: math.Inf(1)}
	default:
		at = g.Bound().Center()
	}
	var ln Links
	if f := c.Containing(KindDistrict, at); f != nil {
		ln.District = f.ID
	}
	if f := c.Containing(KindNeighbourhood, at); f != nil {
		ln.Neighbourhood = f.ID
	}
	if f := c.Containing(KindGreenArea, at); f != nil {
		ln.GreenArea = f.ID
	}
	if f := c.Containing(KindIrrigationZone, at); f != nil {
		ln.IrrigationZone = f.ID
	}
	if f, ok := c.byRef(KindRoad, refs["refRoadSegment"]); ok {
		ln.Road = f.ID
		ln.RoadDistance = c.distanceTo(at, line, f)
	} else if f, d := c.nearestRoad(at, line, roadMetres); f != nil {
		ln.Road, ln.RoadDistance = f.ID, d
	} else {
		ln.RoadDistance = math.Inf(1)
	}
	if ref := refs["refGreenspace"]; ref != "" {
		if f, ok := c.byRef(KindGreenArea, ref); ok {
			ln.GreenArea = f.ID
		} else if f, ok := c.byRef(KindIrrigationZone, ref); ok {
			ln.IrrigationZone = f.ID
			if f.Parent != "" {
				ln.GreenArea = f.Parent
			}
		}
	}
	return ln
}

// byRef finds a feature by a plain id or an NGSI-LD URN ending in ":<id>".
func (c *City) byRef(k Kind, ref string) (*Feature, bool) {
	if ref == "" {
		return nil, false
	}
	if f, ok := c.Feature(k, ref); ok {
		return f, true
	}
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		return c.Feature(k, ref[i+1:])
	}
	return nil, false
}

// distanceTo is the distance in metres from a point (line empty) or a line
// to a road.
func (c *City) distanceTo(p orb.Point, line orb.LineString, f *Feature) float64 {
	if len(line) == 0 {
		line = orb.LineString{p}
	}
	fr := newLocalFrame(line[0])
	d := math.Inf(1)
	eachLine(f.Geometry, func(ls orb.LineString) {
		for j := 0; j+1 < len(ls); j++ {
			d = min(d, lineSegDist(fr, line, ls[j], ls[j+1]))
		}
	})
	return d
}

// midpoint is the point halfway along a line's length.
func midpoint(l orb.LineString) orb.Point {
	if len(l) == 1 {
		return l[0]
	}
	fr := newLocalFrame(l[0])
	seg := make([]float64, len(l)-1)
	total := 0.0
	for i := range seg {
		ax, ay := fr.xy(l[i])
		bx, by := fr.xy(l[i+1])
		seg[i] = math.Hypot(bx-ax, by-ay)
		total += seg[i]
	}
	half := total / 2
	for i, s := range seg {
		if half <= s && s > 0 {
			t := half / s
			return orb.Point{l[i][0] + t*(l[i+1][0]-l[i][0]), l[i][1] + t*(l[i+1][1]-l[i][1])}
		}
		half -= s
	}
	return l[len(l)-1]
}
