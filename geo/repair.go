package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/twpayne/go-geos"
)

// repairer validates and repairs geometry with GEOS. It is used only while
// loading; a geos.Context is not safe for concurrent use, so each load owns
// one.
type repairer struct {
	ctx *geos.Context
}

func newRepairer() *repairer { return &repairer{ctx: geos.NewContext()} }

// isArea reports whether k is a polygonal layer.
func isArea(k Kind) bool { return k != KindRoad }

// repair returns the valid geometry to keep for a feature of kind k, a note
// when it was changed (empty otherwise), or an error saying why the feature
// must be dropped.
func (r *repairer) repair(k Kind, g orb.Geometry) (out orb.Geometry, note string, err error) {
	if g == nil {
		return nil, "", fmt.Errorf("no geometry")
	}
	if !finite(g) {
		return nil, "", fmt.Errorf("non-finite or out-of-range coordinate")
	}
	var pre []string
	if isArea(k) {
		g, pre, err = prepareAreal(g)
	} else {
		g, pre, err = prepareLineal(g)
	}
	if err != nil {
		return nil, "", err
	}
	// Anything that reaches GEOS is structurally sound (closed rings of four
	// or more points, lines of two or more), so GEOS does not panic; recover
	// anyway so a GEOS surprise drops one feature instead of the process.
	defer func() {
		if p := recover(); p != nil {
			out, note, err = nil, "", fmt.Errorf("geos: %v", p)
		}
	}()
	b, err := wkb.Marshal(g)
	if err != nil {
		return nil, "", fmt.Errorf("encode wkb: %w", err)
	}
	gg, err := r.ctx.NewGeomFromWKB(b)
	if err != nil {
		return nil, "", fmt.Errorf("geos: %w", err)
	}
	defer gg.Destroy()
	if gg.IsValid() {
		if isArea(k) && gg.Area() == 0 {
			return nil, "", fmt.Errorf("degenerate: zero area")
		}
		return g, joinNotes(pre), nil
	}
	reason := gg.IsValidReason()
	fixed := gg.MakeValid()
	defer fixed.Destroy()
	back, err := wkb.Unmarshal(fixed.ToWKB())
	if err != nil {
		return nil, "", fmt.Errorf("invalid (%s); decode repaired wkb: %w", reason, err)
	}
	if isArea(k) {
		back = polygonal(back)
	} else {
		back = lineal(back)
	}
	if back == nil {
		return nil, "", fmt.Errorf("invalid (%s) and MakeValid left nothing %s", reason, map[bool]string{true: "polygonal", false: "lineal"}[isArea(k)])
	}
	if isArea(k) && areaOf(back) == 0 {
		return nil, "", fmt.Errorf("degenerate: zero area after MakeValid (%s)", reason)
	}
	pre = append(pre, fmt.Sprintf("MakeValid: %s -> %s", reason, back.GeoJSONType()))
	return back, joinNotes(pre), nil
}

func joinNotes(n []string) string {
	s := ""
	for i, x := range n {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

func finite(g orb.Geometry) bool {
	ok := true
	visit(g, func(p orb.Point) {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) ||
			p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			ok = false
		}
	})
	return ok
}

func visit(g orb.Geometry, fn func(orb.Point)) {
	switch g := g.(type) {
	case orb.Point:
		fn(g)
	case orb.MultiPoint:
		for _, p := range g {
			fn(p)
		}
	case orb.LineString:
		for _, p := range g {
			fn(p)
		}
	case orb.MultiLineString:
		for _, l := range g {
			visit(l, fn)
		}
	case orb.Ring:
		for _, p := range g {
			fn(p)
		}
	case orb.Polygon:
		for _, r := range g {
			visit(r, fn)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			visit(p, fn)
		}
	case orb.Collection:
		for _, c := range g {
			visit(c, fn)
		}
	}
}

// prepareAreal closes open rings and drops rings too short to be rings,
// so that the geometry can be handed to GEOS.
func prepareAreal(g orb.Geometry) (orb.Geometry, []string, error) {
	var notes []string
	fixPoly := func(p orb.Polygon, where string) (orb.Polygon, error) {
		var out orb.Polygon
		for i, r := range p {
			r = dedupe(r)
			if len(r) > 0 && !r.Closed() {
				r = append(r[:len(r):len(r)], r[0])
				notes = append(notes, fmt.Sprintf("closed ring %d%s", i, where))
			}
			if len(r) < 4 {
				if i == 0 {
					return nil, fmt.Errorf("degenerate: outer ring%s has %d distinct points", where, max(0, len(r)-1))
				}
				notes = append(notes, fmt.Sprintf("dropped degenerate hole %d%s", i, where))
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	switch g := g.(type) {
	case orb.Polygon:
		p, err := fixPoly(g, "")
		return p, notes, err
	case orb.MultiPolygon:
		var out orb.MultiPolygon
		for i, p := range g {
			q, err := fixPoly(p, fmt.Sprintf(" of part %d", i))
			if err != nil {
				notes = append(notes, "dropped part: "+err.Error())
				continue
			}
			out = append(out, q)
		}
		if len(out) == 0 {
			return nil, notes, fmt.Errorf("degenerate: no usable polygon part")
		}
		return out, notes, nil
	}
	return nil, nil, fmt.Errorf("geometry %s is not a Polygon or MultiPolygon", g.GeoJSONType())
}

// prepareLineal removes repeated points and lines of fewer than two
// distinct points.
func prepareLineal(g orb.Geometry) (orb.Geometry, []string, error) {
	switch g := g.(type) {
	case orb.LineString:
		l := orb.LineString(dedupe(orb.Ring(g)))
		if len(l) < 2 {
			return nil, nil, fmt.Errorf("degenerate: line has %d distinct points", len(l))
		}
		return l, nil, nil
	case orb.MultiLineString:
		var out orb.MultiLineString
		var notes []string
		for i, l := range g {
			l = orb.LineString(dedupe(orb.Ring(l)))
			if len(l) < 2 {
				notes = append(notes, fmt.Sprintf("dropped degenerate part %d", i))
				continue
			}
			out = append(out, l)
		}
		if len(out) == 0 {
			return nil, notes, fmt.Errorf("degenerate: no line part has two distinct points")
		}
		return out, notes, nil
	}
	return nil, nil, fmt.Errorf("geometry %s is not a LineString or MultiLineString", g.GeoJSONType())
}

// dedupe drops consecutive repeated points (returns a copy).
func dedupe(r orb.Ring) orb.Ring {
	out := make(orb.Ring, 0, len(r))
	for i, p := range r {
		if i > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// polygonal keeps the polygonal parts of a geometry, nil if none.
func polygonal(g orb.Geometry) orb.Geometry {
	var mp orb.MultiPolygon
	var walk func(orb.Geometry)
	walk = func(g orb.Geometry) {
		switch g := g.(type) {
		case orb.Polygon:
			mp = append(mp, g)
		case orb.MultiPolygon:
			mp = append(mp, g...)
		case orb.Collection:
			for _, c := range g {
				walk(c)
			}
		}
	}
	walk(g)
	switch len(mp) {
	case 0:
		return nil
	case 1:
		return mp[0]
	}
	return mp
}

// lineal keeps the lineal parts of a geometry, nil if none.
func lineal(g orb.Geometry) orb.Geometry {
	var ml orb.MultiLineString
	var walk func(orb.Geometry)
	walk = func(g orb.Geometry) {
		switch g := g.(type) {
		case orb.LineString:
			ml = append(ml, g)
		case orb.MultiLineString:
			ml = append(ml, g...)
		case orb.Collection:
			for _, c := range g {
				walk(c)
			}
		}
	}
	walk(g)
	switch len(ml) {
	case 0:
		return nil
	case 1:
		return ml[0]
	}
	return ml
}
