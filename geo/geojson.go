package geo

import (
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"
)

// A small GeoJSON (RFC 7946) reader for feature collections. orb's geojson
// package would pull the MongoDB BSON module into the build for nothing;
// this reader also keeps the legacy "crs" member (GeoJSON 2008) that
// Italian open data still uses.

type gjCollection struct {
	Type     string      `json:"type"`
	CRS      *gjCRS      `json:"crs"`
	Features []gjFeature `json:"features"`
}

type gjCRS struct {
	Properties struct {
		Name string `json:"name"`
	} `json:"properties"`
}

type gjFeature struct {
	ID         any             `json:"id"`
	Properties map[string]any  `json:"properties"`
	Geometry   json.RawMessage `json:"geometry"`
}

type gjGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  []gjGeometry    `json:"geometries"`
}

// decodeGeometry turns a GeoJSON geometry into an orb geometry; null gives
// nil. Extra position members (altitude) are ignored.
func decodeGeometry(raw json.RawMessage) (orb.Geometry, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var g gjGeometry
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	return g.orb()
}

func (g gjGeometry) orb() (orb.Geometry, error) {
	pt := func(c []float64) (orb.Point, error) {
		if len(c) < 2 {
			return orb.Point{}, fmt.Errorf("position with %d members", len(c))
		}
		return orb.Point{c[0], c[1]}, nil
	}
	pts := func(cs [][]float64) ([]orb.Point, error) {
		out := make([]orb.Point, len(cs))
		for i, c := range cs {
			p, err := pt(c)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	poly := func(rs [][][]float64) (orb.Polygon, error) {
		out := make(orb.Polygon, len(rs))
		for i, r := range rs {
			ps, err := pts(r)
			if err != nil {
				return nil, err
			}
			out[i] = ps
		}
		return out, nil
	}
	var err error
	switch g.Type {
	case "Point":
		var c []float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			return pt(c)
		}
	case "MultiPoint":
		var c [][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			ps, err := pts(c)
			return orb.MultiPoint(ps), err
		}
	case "LineString":
		var c [][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			ps, err := pts(c)
			return orb.LineString(ps), err
		}
	case "MultiLineString":
		var c [][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			out := make(orb.MultiLineString, len(c))
			for i, l := range c {
				ps, err := pts(l)
				if err != nil {
					return nil, err
				}
				out[i] = ps
			}
			return out, nil
		}
	case "Polygon":
		var c [][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			return poly(c)
		}
	case "MultiPolygon":
		var c [][][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			out := make(orb.MultiPolygon, len(c))
			for i, p := range c {
				if out[i], err = poly(p); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	case "GeometryCollection":
		out := make(orb.Collection, 0, len(g.Geometries))
		for _, c := range g.Geometries {
			o, err := c.orb()
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown geometry type %q", g.Type)
	}
	return nil, fmt.Errorf("%s coordinates: %w", g.Type, err)
}
