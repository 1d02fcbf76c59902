package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"
	"github.com/twpayne/go-geos"
)

// GeoRel is a geometric relation between an entity's geometry and a query
// geometry, as in NGSI-LD geo-queries (ETSI GS CIM 009 §4.10).
type GeoRel string

// The relations. Each reads "entity georel query geometry": Within keeps
// entities inside the query polygon, Contains entities that contain the
// query geometry (the areas around a point), Near entities within
// MaxDistance metres (and at least MinDistance metres) of the query point.
const (
	Near       GeoRel = "near"
	Within     GeoRel = "within"
	Contains   GeoRel = "contains"
	Intersects GeoRel = "intersects"
	Equals     GeoRel = "equals"
	Disjoint   GeoRel = "disjoint"
	Overlaps   GeoRel = "overlaps"
)

// Relation is a geo-query: a relation to a query geometry (WGS84).
type Relation struct {
	Rel      GeoRel
	Geometry orb.Geometry
	// MaxDistance and MinDistance (metres) apply to Near; a zero
	// MaxDistance means no upper bound.
	MaxDistance, MinDistance float64
}

// Check validates r: Near needs a Point and non-negative distances, the
// other relations a geometry; the error names the rule.
func (r Relation) Check() error {
	if r.Geometry == nil {
		return fmt.Errorf("no geometry")
	}
	if !finite(r.Geometry) {
		return fmt.Errorf("coordinates must be finite WGS84 longitude, latitude")
	}
	switch r.Rel {
	case Near:
		if _, ok := r.Geometry.(orb.Point); !ok {
			return fmt.Errorf("near needs a Point geometry, got %s", r.Geometry.GeoJSONType())
		}
		if r.MaxDistance < 0 || r.MinDistance < 0 || math.IsNaN(r.MaxDistance+r.MinDistance) {
			return fmt.Errorf("maxDistance and minDistance must be non-negative numbers")
		}
		if r.MaxDistance == 0 && r.MinDistance == 0 {
			return fmt.Errorf("near needs maxDistance or minDistance")
		}
	case Within, Contains, Intersects, Equals, Disjoint, Overlaps:
		if _, err := wkb.Marshal(r.Geometry); err != nil {
			return fmt.Errorf("geometry: %v", err)
		}
		if r.Rel == Within {
			if _, polys := parts(r.Geometry); len(polys) == 0 {
				return fmt.Errorf("within needs a Polygon or MultiPolygon geometry, got %s", r.Geometry.GeoJSONType())
			}
		}
	default:
		return fmt.Errorf("unknown georel %q: want near, within, contains, intersects, equals, disjoint or overlaps", r.Rel)
	}
	return nil
}

// Bound returns the bound every matching geometry's bound meets, for a
// spatial index to pre-filter candidates, and false when the relation
// cannot be narrowed that way (disjoint, near with only a minimum).
func (r Relation) Bound() (orb.Bound, bool) {
	switch r.Rel {
	case Disjoint:
		return orb.Bound{}, false
	case Near:
		if r.MaxDistance == 0 {
			return orb.Bound{}, false
		}
		// around is a square of half-side MaxDistance in a local frame;
		// pad by 0.1 % so rounding at the edge never drops a match.
		return newLocalFrame(r.Geometry.(orb.Point)).around(r.MaxDistance * 1.001), true
	}
	return r.Geometry.Bound(), true
}

// Matcher tests entity geometries against one Relation. It holds a GEOS
// context and prepared geometry, so it is not safe for concurrent use;
// Close frees it.
type Matcher struct {
	r     Relation
	ctx   *geos.Context
	q     *geos.Geom
	prep  *geos.PrepGeom
	frame localFrame
}

// NewMatcher prepares r (which must pass Check).
func NewMatcher(r Relation) (*Matcher, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	m := &Matcher{r: r}
	if r.Rel == Near {
		m.frame = newLocalFrame(r.Geometry.(orb.Point))
		return m, nil
	}
	b, err := wkb.Marshal(r.Geometry)
	if err != nil {
		return nil, err
	}
	m.ctx = geos.NewContext()
	if m.q, err = m.ctx.NewGeomFromWKB(b); err != nil {
		return nil, fmt.Errorf("geometry: %w", err)
	}
	if !m.q.IsValid() {
		reason := m.q.IsValidReason()
		m.q.Destroy()
		return nil, fmt.Errorf("geometry is not valid: %s", reason)
	}
	m.prep = m.q.Prepare()
	return m, nil
}

// Close frees the GEOS objects.
func (m *Matcher) Close() {
	if m.prep != nil {
		m.prep.Destroy()
		m.q.Destroy()
		m.prep, m.q = nil, nil
	}
}

// Distance returns the distance in metres from the Near point to g (zero
// when g covers it); it is meaningful only for Near matchers.
func (m *Matcher) Distance(g orb.Geometry) float64 {
	return distanceFrom(m.frame, g)
}

// Match reports whether g stands in the relation to the query geometry. A
// geometry GEOS cannot evaluate does not match.
func (m *Matcher) Match(g orb.Geometry) (ok bool) {
	if g == nil {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if m.r.Rel == Near {
		d := distanceFrom(m.frame, g)
		return (m.r.MaxDistance == 0 || d <= m.r.MaxDistance) && d >= m.r.MinDistance
	}
	var e *geos.Geom
	if p, ok := g.(orb.Point); ok {
		e = m.ctx.NewPoint([]float64{p[0], p[1]})
	} else {
		b, err := wkb.Marshal(g)
		if err != nil {
			return false
		}
		if e, err = m.ctx.NewGeomFromWKB(b); err != nil {
			return false
		}
	}
	defer e.Destroy()
	switch m.r.Rel {
	case Within:
		return m.prep.Contains(e)
	case Contains:
		return m.prep.Within(e)
	case Intersects:
		return m.prep.Intersects(e)
	case Disjoint:
		return m.prep.Disjoint(e)
	case Overlaps:
		return m.prep.Overlaps(e)
	case Equals:
		return m.q.Equals(e)
	}
	return false
}

// DistanceMetres returns the distance in metres from p to g: zero when a
// polygon of g contains p, otherwise the shortest distance to g's vertices
// and segments, in a local equirectangular frame around p (accurate to well
// under 0.1 % at city scale).
func DistanceMetres(p orb.Point, g orb.Geometry) float64 {
	return distanceFrom(newLocalFrame(p), g)
}

func distanceFrom(fr localFrame, g orb.Geometry) float64 {
	if p, ok := g.(orb.Point); ok { // the common case, without allocation
		x, y := fr.xy(p)
		return math.Hypot(x, y)
	}
	paths, polys := parts(g)
	for _, poly := range polys {
		if planar.PolygonContains(poly, fr.o) {
			return 0
		}
	}
	best := math.Inf(1)
	for _, l := range paths {
		if len(l) == 1 {
			x, y := fr.xy(l[0])
			best = min(best, math.Hypot(x, y))
			continue
		}
		for i := 0; i+1 < len(l); i++ {
			ax, ay := fr.xy(l[i])
			bx, by := fr.xy(l[i+1])
			best = min(best, distToSegment(0, 0, ax, ay, bx, by))
		}
	}
	return best
}
