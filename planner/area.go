package planner

import (
	"fmt"
	"slices"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// area is a scenario's Area resolved against the city.
type area struct {
	geoms      []orb.Geometry // the named areas and the polygon
	roads      map[string]bool
	greenAreas map[string]bool
}

func (p *Planner) resolveArea(a Area) (*area, error) {
	out := &area{roads: make(map[string]bool), greenAreas: make(map[string]bool)}
	add := func(kind geo.Kind, field string, ids []string) error {
		for i, id := range ids {
			f, ok := p.city.Feature(kind, id)
			if !ok {
				return fieldErr(fmt.Sprintf("area.%s[%d]", field, i), "no %s with id %q in the city", kind, id)
			}
			out.geoms = append(out.geoms, f.Geometry)
		}
		return nil
	}
	if err := add(geo.KindDistrict, "districts", a.Districts); err != nil {
		return nil, err
	}
	if err := add(geo.KindNeighbourhood, "neighbourhoods", a.Neighbourhoods); err != nil {
		return nil, err
	}
	if len(a.Polygon) > 0 {
		ring := make(orb.Ring, 0, len(a.Polygon)+1)
		for _, pt := range a.Polygon {
			ring = append(ring, orb.Point{pt[0], pt[1]})
		}
		if !ring.Closed() {
			ring = append(ring, ring[0])
		}
		out.geoms = append(out.geoms, orb.Polygon{ring})
	}
	for i, id := range a.Roads {
		if _, ok := p.city.Feature(geo.KindRoad, id); !ok {
			return nil, fieldErr(fmt.Sprintf("area.roads[%d]", i), "no road segment with id %q in the city", id)
		}
		out.roads[id] = true
	}
	for i, id := range a.GreenAreas {
		if _, ok := p.city.Feature(geo.KindGreenArea, id); !ok {
			return nil, fieldErr(fmt.Sprintf("area.greenAreas[%d]", i), "no green area with id %q in the city", id)
		}
		out.greenAreas[id] = true
	}
	for _, g := range out.geoms {
		for _, f := range p.city.Intersecting(geo.KindRoad, g) {
			out.roads[f.ID] = true
		}
		for _, f := range p.city.Intersecting(geo.KindGreenArea, g) {
			out.greenAreas[f.ID] = true
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
