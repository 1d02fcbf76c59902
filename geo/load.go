package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// CRS names accepted in LayerSource.CRS.
const (
	CRSWGS84  = "EPSG:4326"
	CRSUTM32N = "EPSG:32632"
)

// LayerSource says how to read one layer from a GeoJSON file.
type LayerSource struct {
	Kind Kind   `json:"kind"`
	Path string `json:"path"`
	// IDProp names the property holding the feature id; when empty the
	// feature's "id" member is used, else its index in the file.
	IDProp string `json:"id_prop,omitempty"`
	// NameProp names the property holding a display name.
	NameProp string `json:"name_prop,omitempty"`
	// ParentProp names the property holding the parent feature's id (a
	// neighbourhood's district, an irrigation zone's green area).
	ParentProp string `json:"parent_prop,omitempty"`
	// Road attributes, optional. Lanes and speed accept numbers or strings
	// such as "2", "50" or "30 mph".
	RoadClassProp string `json:"road_class_prop,omitempty"`
	LanesProp     string `json:"lanes_prop,omitempty"`
	SpeedProp     string `json:"speed_prop,omitempty"`
	// CRS is "" (WGS84, or what the file's legacy "crs" member says),
	// "EPSG:4326" or "EPSG:32632" (UTM zone 32N, reprojected to WGS84).
	CRS string `json:"crs,omitempty"`
}

// LoadDir reads dir/city.json, {"layers": [LayerSource...]}, with paths
// relative to dir, and loads the layers.
func LoadDir(dir string) (*City, Report, error) {
	b, err := os.ReadFile(filepath.Join(dir, "city.json"))
	if err != nil {
		return nil, Report{}, fmt.Errorf("geo: read city config: %w", err)
	}
	var cfg struct {
		Layers []LayerSource `json:"layers"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, Report{}, fmt.Errorf("geo: parse %s: %w", filepath.Join(dir, "city.json"), err)
	}
	for i := range cfg.Layers {
		if !filepath.IsAbs(cfg.Layers[i].Path) {
			cfg.Layers[i].Path = filepath.Join(dir, cfg.Layers[i].Path)
		}
	}
	return Load(cfg.Layers)
}

// Load reads each layer's GeoJSON file, reprojects it to WGS84 if needed,
// validates and repairs every feature (dropping what cannot be repaired,
// with a reason in the Report) and builds the spatial indexes. Several
// sources may feed the same kind. An error means a source could not be read
// at all; bad features are reported, not errors.
func Load(sources []LayerSource) (*City, Report, error) {
	b := newBuilder()
	for _, src := range sources {
		if err := b.loadSource(src); err != nil {
			return nil, Report{}, err
		}
	}
	c, rep := b.build()
	return c, rep, nil
}

func (b *builder) loadSource(src LayerSource) error {
	if !isKnownKind(src.Kind) {
		return fmt.Errorf("geo: layer %s: unknown kind %q", src.Path, src.Kind)
	}
	data, err := os.ReadFile(src.Path)
	if err != nil {
		return fmt.Errorf("geo: read layer %s: %w", src.Kind, err)
	}
	var fc gjCollection
	if err := json.Unmarshal(data, &fc); err != nil {
		return fmt.Errorf("geo: parse layer %s (%s): %w", src.Kind, src.Path, err)
	}
	if fc.Type != "FeatureCollection" {
		return fmt.Errorf("geo: layer %s (%s): GeoJSON type %q, want FeatureCollection", src.Kind, src.Path, fc.Type)
	}
	fileCRS := ""
	if fc.CRS != nil {
		fileCRS = fc.CRS.Properties.Name
	}
	geoms := make([]orb.Geometry, len(fc.Features))
	bad := make([]error, len(fc.Features))
	for i, gf := range fc.Features {
		geoms[i], bad[i] = decodeGeometry(gf.Geometry)
	}
	utm, note, err := decideCRS(src.CRS, fileCRS, geoms)
	if err != nil {
		return fmt.Errorf("geo: layer %s (%s): %w", src.Kind, src.Path, err)
	}
	if note != "" {
		lr := b.report.PerLayer[src.Kind]
		lr.Problems = append(lr.Problems, fmt.Sprintf("%s: %s", src.Path, note))
		b.report.PerLayer[src.Kind] = lr
	}
	for i := range fc.Features {
		gf := &fc.Features[i]
		f := Feature{
			ID:         featureID(src, gf, i),
			Name:       propString(gf.Properties, src.NameProp),
			Parent:     propString(gf.Properties, src.ParentProp),
			RoadClass:  propString(gf.Properties, src.RoadClassProp),
			Lanes:      int(propNumber(gf.Properties, src.LanesProp, false)),
			SpeedLimit: propNumber(gf.Properties, src.SpeedProp, true),
			Props:      keepProps(gf.Properties),
		}
		if bad[i] != nil {
			b.drop(src.Kind, f.ID, fmt.Errorf("bad geometry: %w", bad[i]))
			continue
		}
		if f.Geometry = geoms[i]; f.Geometry != nil {
			if utm {
				f.Geometry = reproject(f.Geometry)
			}
		}
		b.add(src.Kind, f)
	}
	return nil
}

func isKnownKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// decideCRS says whether coordinates are UTM 32N. The explicit setting
// wins; otherwise the legacy "crs" member; otherwise coordinate magnitude:
// projected coordinates in the UTM range are assumed to be EPSG:32632 (the
// note says so), anything else projected is an error.
func decideCRS(explicit, fileCRS string, geoms []orb.Geometry) (utm bool, note string, err error) {
	switch norm := strings.ToUpper(strings.TrimSpace(explicit)); {
	case norm == "":
	case norm == CRSUTM32N || norm == "32632":
		return true, "", nil
	case norm == CRSWGS84 || norm == "4326" || norm == "CRS84":
		return false, "", nil
	default:
		return false, "", fmt.Errorf("unsupported CRS %q (want %s or %s)", explicit, CRSWGS84, CRSUTM32N)
	}
	if fileCRS != "" {
		switch {
		case strings.HasSuffix(fileCRS, "32632"):
			return true, "", nil
		case strings.HasSuffix(fileCRS, "4326"), strings.HasSuffix(fileCRS, "CRS84"):
			return false, "", nil
		}
	}
	projected, inUTM := false, true
	for _, g := range geoms {
		visit(g, func(p orb.Point) {
			if math.Abs(p[0]) > 180 || math.Abs(p[1]) > 90 {
				projected = true
			}
			if p[0] < 100_000 || p[0] > 900_000 || p[1] < 0 || p[1] > 9_400_000 {
				inUTM = false
			}
		})
	}
	switch {
	case !projected:
		if fileCRS != "" {
			return false, fmt.Sprintf("crs %q not recognised; coordinates look like WGS84", fileCRS), nil
		}
		return false, "", nil
	case inUTM:
		return true, fmt.Sprintf("projected coordinates without a recognised crs (%q); assumed %s", fileCRS, CRSUTM32N), nil
	}
	return false, "", fmt.Errorf("projected coordinates in an unknown CRS (crs member %q); set CRS to %s if they are UTM 32N", fileCRS, CRSUTM32N)
}

// reproject converts a geometry from UTM 32N to WGS84, in place where orb
// does so.
func reproject(g orb.Geometry) orb.Geometry {
	return project.Geometry(g, func(p orb.Point) orb.Point {
		lon, lat := UTM32NToWGS84(p[0], p[1])
		return orb.Point{lon, lat}
	})
}

func featureID(src LayerSource, f *gjFeature, i int) string {
	if src.IDProp != "" {
		if s := propString(f.Properties, src.IDProp); s != "" {
			return s
		}
	} else if f.ID != nil {
		if s := scalarString(f.ID); s != "" {
			return s
		}
	}
	return strconv.Itoa(i)
}

func propString(p map[string]any, name string) string {
	if name == "" || p == nil {
		return ""
	}
	return scalarString(p[name])
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// propNumber reads a number or a string starting with one ("2", "2;3",
// "50 mph"); mph is converted to km/h when speed is set. Zero when unknown.
func propNumber(p map[string]any, name string, speed bool) float64 {
	if name == "" || p == nil {
		return 0
	}
	switch v := p[name].(type) {
	case float64:
		if v > 0 && !math.IsInf(v, 0) {
			return v
		}
	case string:
		s := strings.TrimSpace(v)
		end := 0
		for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
			end++
		}
		x, err := strconv.ParseFloat(s[:end], 64)
		if err != nil || x <= 0 {
			return 0
		}
		if speed && strings.Contains(strings.ToLower(s[end:]), "mph") {
			x *= 1.609344
		}
		return x
	}
	return 0
}

// keepProps copies the string, number and boolean properties.
func keepProps(p map[string]any) map[string]any {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]any, len(p))
	for k, v := range p {
		switch v.(type) {
		case string, float64, bool:
			out[k] = v
		}
	}
	return out
}
