package democity_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
)

// cityManifest is city.json with exactly the documented keys.
type cityManifest struct {
	Layers []struct {
		Kind          geo.Kind `json:"kind"`
		Path          string   `json:"path"`
		IDProp        string   `json:"id_prop"`
		NameProp      string   `json:"name_prop"`
		ParentProp    string   `json:"parent_prop"`
		RoadClassProp string   `json:"road_class_prop"`
		LanesProp     string   `json:"lanes_prop"`
		SpeedProp     string   `json:"speed_prop"`
		CRS           string   `json:"crs"`
	} `json:"layers"`
}

// readManifest parses dir/city.json, refusing unknown keys.
func readManifest(t *testing.T, dir string) cityManifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "city.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m cityManifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("city.json: %v", err)
	}
	want := map[geo.Kind][4]string{ // path, parent, class, lanes+speed
		geo.KindDistrict:       {"districts.geojson", "", "", ""},
		geo.KindNeighbourhood:  {"neighbourhoods.geojson", "district", "", ""},
		geo.KindRoad:           {"roads.geojson", "", "class", "lanes/maxspeed"},
		geo.KindGreenArea:      {"greenareas.geojson", "", "", ""},
		geo.KindIrrigationZone: {"irrigationzones.geojson", "greenarea", "", ""},
	}
	if len(m.Layers) != len(want) {
		t.Fatalf("city.json has %d layers, want %d", len(m.Layers), len(want))
	}
	for i, l := range m.Layers {
		w := want[l.Kind]
		speed := ""
		if l.LanesProp != "" || l.SpeedProp != "" {
			speed = l.LanesProp + "/" + l.SpeedProp
		}
		if l.Kind != geo.Kinds[i] || l.Path != w[0] || l.IDProp != "id" || l.NameProp != "name" ||
			l.ParentProp != w[1] || l.RoadClassProp != w[2] || speed != w[3] || l.CRS != "EPSG:4326" {
			t.Errorf("city.json layer %d: %+v", i, l)
		}
	}
	return m
}

// TestWriteGeoJSON writes the demo city and reads it back with plain
// encoding/json: every feature comes back with its geometry and attributes.
func TestWriteGeoJSON(t *testing.T) {
	dir := t.TempDir()
	layers := democity.Generate(democity.Config{Seed: 5})
	if err := democity.WriteGeoJSON(dir, layers); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, dir)
	for _, l := range m.Layers {
		data, err := os.ReadFile(filepath.Join(dir, l.Path))
		if err != nil {
			t.Fatal(err)
		}
		var fc struct {
			Type     string `json:"type"`
			Features []struct {
				Type     string `json:"type"`
				ID       string `json:"id"`
				Geometry struct {
					Type        string          `json:"type"`
					Coordinates json.RawMessage `json:"coordinates"`
				} `json:"geometry"`
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(data, &fc); err != nil {
			t.Fatalf("%s: %v", l.Path, err)
		}
		src := layers[l.Kind]
		if fc.Type != "FeatureCollection" || len(fc.Features) != len(src) {
			t.Fatalf("%s: %s of %d features, want %d", l.Path, fc.Type, len(fc.Features), len(src))
		}
		for i, f := range fc.Features {
			want := src[i]
			p := f.Properties
			if f.Type != "Feature" || f.ID != want.ID || p[l.IDProp] != want.ID || p[l.NameProp] != want.Name {
				t.Fatalf("%s feature %d: %s %q %v, want %s", l.Path, i, f.Type, f.ID, p, want.ID)
			}
			if l.ParentProp != "" && p[l.ParentProp] != want.Parent {
				t.Errorf("%s %s: parent %v, want %s", l.Path, f.ID, p[l.ParentProp], want.Parent)
			}
			if l.Kind == geo.KindRoad && (p["class"] != want.RoadClass || p["lanes"] != float64(want.Lanes) || p["maxspeed"] != want.SpeedLimit || p["length_m"] != want.Props["length_m"]) {
				t.Errorf("%s %s: properties %v, want %+v", l.Path, f.ID, p, want)
			}
			if l.Kind != geo.KindRoad && p["area_m2"] != want.Props["area_m2"] {
				t.Errorf("%s %s: area_m2 %v, want %v", l.Path, f.ID, p["area_m2"], want.Props["area_m2"])
			}
			var got orb.Geometry
			switch f.Geometry.Type {
			case "Polygon":
				var g orb.Polygon
				err = json.Unmarshal(f.Geometry.Coordinates, &g)
				got = g
			case "LineString":
				var g orb.LineString
				err = json.Unmarshal(f.Geometry.Coordinates, &g)
				got = g
			default:
				t.Fatalf("%s %s: geometry type %q", l.Path, f.ID, f.Geometry.Type)
			}
			if err != nil || !reflect.DeepEqual(got, want.Geometry) {
				t.Fatalf("%s %s: geometry %v (%v), want %v", l.Path, f.ID, got, err, want.Geometry)
			}
		}
	}
}

func TestWriteGeoJSONErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := democity.WriteGeoJSON(filepath.Join(file, "city"), democity.Generate(democity.Config{})); err == nil {
		t.Error("WriteGeoJSON under a regular file succeeded")
	}
	bad := map[geo.Kind][]geo.Feature{geo.KindRoad: {{ID: "r1", Kind: geo.KindRoad}}}
	if err := democity.WriteGeoJSON(t.TempDir(), bad); err == nil {
		t.Error("WriteGeoJSON of a feature without geometry succeeded")
	}
}
