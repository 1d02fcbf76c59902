package democity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// manifestName is the file naming the layers of a CITYTWIN_CITY folder.
const manifestName = "city.json"

// manifest is city.json.
type manifest struct {
	Layers []layerSpec `json:"layers"`
}

// layerSpec names one layer's file and the properties holding the
// feature's attributes.
type layerSpec struct {
	Kind          geo.Kind `json:"kind"`
	Path          string   `json:"path"`
	IDProp        string   `json:"id_prop"`
	NameProp      string   `json:"name_prop"`
	ParentProp    string   `json:"parent_prop,omitempty"`
	RoadClassProp string   `json:"road_class_prop,omitempty"`
	LanesProp     string   `json:"lanes_prop,omitempty"`
	SpeedProp     string   `json:"speed_prop,omitempty"`
	CRS           string   `json:"crs"`
}

// specFor returns the file layout of a layer kind.
func specFor(k geo.Kind) layerSpec {
	s := layerSpec{Kind: k, Path: string(k) + "s.geojson", IDProp: "id", NameProp: "name", CRS: "EPSG:4326"}
	switch k {
	case geo.KindNeighbourhood:
		s.ParentProp = "district"
	case geo.KindIrrigationZone:
		s.ParentProp = "greenarea"
	case geo.KindRoad:
		s.RoadClassProp, s.LanesProp, s.SpeedProp = "class", "lanes", "maxspeed"
	}
	return s
}

// WriteGeoJSON writes layers to dir (created if needed) as one GeoJSON
// FeatureCollection file per non-empty layer, e.g. districts.geojson, plus
// city.json naming each file with its kind and the property names holding
// id, name, parent and road attributes. The folder is a valid CITYTWIN_CITY.
// A feature's Props are written as properties, under the id, name, parent
// and road properties, which win on a clash. Existing files are replaced.
func WriteGeoJSON(dir string, layers map[geo.Kind][]geo.Feature) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("democity: create %s: %w", dir, err)
	}
	// Known kinds in their stable order, then any others sorted.
	kinds := slices.Clone(geo.Kinds)
	var extra []geo.Kind
	for k := range layers {
		if !slices.Contains(kinds, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	kinds = append(kinds, extra...)

	var m manifest
	for _, k := range kinds {
		fs := layers[k]
		if len(fs) == 0 {
			continue
		}
		spec := specFor(k)
		if spec.ParentProp == "" && hasParent(fs) {
			spec.ParentProp = "parent"
		}
		data, err := featureCollection(spec, fs)
		if err != nil {
			return fmt.Errorf("democity: encode layer %s: %w", k, err)
		}
		if err := os.WriteFile(filepath.Join(dir, spec.Path), data, 0o644); err != nil {
			return fmt.Errorf("democity: write layer %s: %w", k, err)
		}
		m.Layers = append(m.Layers, spec)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("democity: encode %s: %w", manifestName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("democity: write %s: %w", manifestName, err)
	}
	return nil
}

func hasParent(fs []geo.Feature) bool {
	return slices.ContainsFunc(fs, func(f geo.Feature) bool { return f.Parent != "" })
}

// featureCollection encodes fs as a FeatureCollection, one feature a line.
func featureCollection(spec layerSpec, fs []geo.Feature) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range fs {
		props := make(map[string]any, len(f.Props)+6)
		for k, v := range f.Props {
			props[k] = v
		}
		props[spec.IDProp] = f.ID
		props[spec.NameProp] = f.Name
		if spec.ParentProp != "" && f.Parent != "" {
			props[spec.ParentProp] = f.Parent
		}
		if f.RoadClass != "" {
			props["class"] = f.RoadClass
		}
		if f.Lanes != 0 {
			props["lanes"] = f.Lanes
		}
		if f.SpeedLimit != 0 {
			props["maxspeed"] = f.SpeedLimit
		}
		g, err := geometry(f.Geometry)
		if err != nil {
			return nil, fmt.Errorf("feature %s: %w", f.ID, err)
		}
		feat, err := json.Marshal(struct {
			Type       string         `json:"type"`
			ID         string         `json:"id"`
			Geometry   any            `json:"geometry"`
			Properties map[string]any `json:"properties"`
		}{"Feature", f.ID, g, props})
		if err != nil {
			return nil, fmt.Errorf("feature %s: %w", f.ID, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.Write(feat)
	}
	buf.WriteString("\n]}\n")
	return buf.Bytes(), nil
}

// geometry returns the GeoJSON geometry object of g (RFC 7946 section 3.1).
func geometry(g orb.Geometry) (any, error) {
	type obj struct {
		Type        string `json:"type"`
		Coordinates any    `json:"coordinates"`
	}
	switch g := g.(type) {
	case orb.Point:
		return obj{"Point", g}, nil
	case orb.MultiPoint:
		return obj{"MultiPoint", g}, nil
	case orb.LineString:
		return obj{"LineString", g}, nil
	case orb.MultiLineString:
		return obj{"MultiLineString", g}, nil
	case orb.Polygon:
		return obj{"Polygon", g}, nil
	case orb.MultiPolygon:
		return obj{"MultiPolygon", g}, nil
	case nil:
		return nil, fmt.Errorf("no geometry")
	default:
		return nil, fmt.Errorf("unsupported geometry %s", g.GeoJSONType())
	}
}
