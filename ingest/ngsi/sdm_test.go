package ngsi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/twin"
)

// sdmArrival is late enough that no Smart Data Models example time lies in the
// future.
var sdmArrival = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// sdmDir finds the shared Smart Data Models examples: $CITYTWIN_SDM_DIR, or
// shared/data/smart-data-models beside the repository (../../../ from here).
func sdmDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CITYTWIN_SDM_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("cannot locate the test source to find the Smart Data Models examples")
	}
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", "smart-data-models")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("Smart Data Models examples not found at %s (set CITYTWIN_SDM_DIR): %v", d, err)
	}
	return d
}

// sdmExamples lists the example files of one data model directory: every
// example*.json and example*.jsonld except the GeoJSON Feature rendering,
// which is not an NGSI payload.
func sdmExamples(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"example*.json", "example*.jsonld"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.Contains(filepath.Base(f), "geojsonfeature") })
	slices.Sort(files)
	return files
}

// sdmBadData lists attributes of Smart Data Models examples whose example
// value is wrong under citytwin's rules (twin.KnownTypes) because the example
// data itself is wrong or inconsistent with its siblings. The test removes
// them before decoding so that the rest of the example is still checked; the
// reason documents why the decoder is right to reject them.
var sdmBadData = map[string]map[string]string{
	// Empty since twin stopped checking the auxiliary attributes that the
	// examples get wrong (AirQualityObserved precipitation typed Boolean and
	// pressure 1.1 "hPa", AgriParcelRecord leafWetness typed Boolean and
	// soilSalinity 1198.11 S/m): they are now stored as sent.
}

// sdmNothingToStore lists examples that carry no reading at all: decoding
// them must give exactly one no_values rejection, which is right.
var sdmNothingToStore = map[string]string{
	"FlowerBed/example.json":              "a static feature: a category list, a watering date, an address and a location",
	"FlowerBed/example-normalized.json":   "a static feature: a category list, a watering date, an address and a location",
	"FlowerBed/example-normalized.jsonld": "a static feature: a category list, watering dates, an address and a location",
	"GreenspaceRecord/example.json":       "the keyValues example holds only refGreenspace; its readings exist only in the other forms",
}

func TestSmartDataModels(t *testing.T) {
	root := sdmDir(t)
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), "_") {
			continue
		}
		for _, file := range sdmExamples(t, filepath.Join(root, d.Name())) {
			name := d.Name() + "/" + filepath.Base(file)
			t.Run(name, func(t *testing.T) {
				payload, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				in := ngsi.Input{Tenant: twin.DefaultTenant, Arrival: sdmArrival}
				// Each known-bad attribute must still be what rejects the
				// example, or its entry is stale.
				for a, why := range sdmBadData[name] {
					others := maps.Clone(sdmBadData[name])
					delete(others, a)
					_, _, errs := ngsi.Decode(removeAttrs(t, payload, others), in)
					if len(errs) != 1 || errs[0].Field != a {
						t.Errorf("known-bad %s (%s): want one error on it, got %v", a, why, errs)
					}
				}
				payload = removeAttrs(t, payload, sdmBadData[name])
				f, obs, errs := ngsi.Decode(payload, in)
				if why, ok := sdmNothingToStore[name]; ok {
					if len(obs) != 0 || len(errs) != 1 || errs[0].Reason != twin.ReasonNoValues {
						t.Errorf("%s (%s): want one no_values error, got %d observations and errors %v", name, why, len(obs), errs)
					}
					return
				}
				for _, e := range errs {
					t.Errorf("%s: %v", f, e)
				}
				if len(obs) == 0 {
					t.Fatalf("%s: no observation", f)
				}
				for _, o := range obs {
					t.Logf("%s: %s time=%s/%v loc=%v refs=%v attrs=%v", f, o.EntityType, o.Time.Format(time.RFC3339), o.TimeSource, o.Location != nil, o.Refs, attrSummary(o.Attrs))
				}
			})
		}
	}
}

// removeAttrs deletes attributes from a single-entity payload.
func removeAttrs(t *testing.T, payload []byte, attrs map[string]string) []byte {
	t.Helper()
	if len(attrs) == 0 {
		return payload
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	for a := range attrs {
		if _, ok := m[a]; !ok {
			t.Errorf("known-bad attribute %s is not in the example any more: update sdmKnownBad", a)
		}
		delete(m, a)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attrSummary(attrs []twin.Attr) string {
	var b strings.Builder
	for _, a := range attrs {
		b.WriteString(a.Name)
		b.WriteByte('=')
		switch a.Kind {
		case twin.KindNumber:
			b.WriteString(strconv.FormatFloat(a.Num, 'g', -1, 64))
		case twin.KindBool:
			b.WriteString(strconv.FormatBool(a.Bool))
		case twin.KindString:
			b.WriteString(strconv.Quote(a.Str))
		}
		if a.Unit != "" {
			b.WriteString("[" + a.Unit + "]")
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// sdmKnownDiffs lists the real data differences between the forms of the
// Smart Data Models examples, as reported by TestSmartDataModelsForms: the
// example files disagree, the decoder does not. Anything else that differs
// fails the test.
var sdmKnownDiffs = map[string][]string{
	"AirQualityObserved": {
		// The NGSI-v2 normalized example types precipitation Boolean.
		"example-normalized.json: precipitation 0 != false",
		"example-normalized.jsonld: windDirection 176 != 186",
		"example.jsonld: windDirection 176 != 180",
	},
	"AgriParcelRecord": {
		// The NGSI-v2 normalized example types leafWetness Boolean.
		"example-normalized.json: leafWetness 1 != true",
		// keyValues carries no time; the NGSI-LD normalized form carries observedAt
		// on each property (the NGSI-v2 form only metadata "timestamp", not read).
		"example-normalized.jsonld: time 2030-01-01T00:00:00Z != 2017-05-04T12:30:00Z",
	},
	"TrafficFlowObserved": {
		// The NGSI-LD normalized form has dateObserved 11:10 (the interval
		// start), the others the interval 11:10/11:15.
		"example-normalized.jsonld: time 2016-12-07T11:15:00Z != 2016-12-07T11:10:00Z",
	},
	"WeatherObserved": {
		"example-normalized.json: precipitation 0 != 0.1",
		"example-normalized.json: relativeHumidity 1 != 0.15",
	},
}

// TestSmartDataModelsForms checks that the keyValues example (example.json)
// and the other forms of the same example decode to the same attribute values,
// time and location, over the attributes both carry.
func TestSmartDataModelsForms(t *testing.T) {
	root := sdmDir(t)
	for _, typ := range []string{"NoiseLevelObserved", "AirQualityObserved", "TrafficFlowObserved",
		"GreenspaceRecord", "WeatherObserved", "AgriParcelRecord"} {
		t.Run(typ, func(t *testing.T) {
			decode := func(file string) (twin.Observation, bool) {
				name := typ + "/" + file
				payload, err := os.ReadFile(filepath.Join(root, typ, file))
				if err != nil {
					t.Fatal(err)
				}
				payload = removeAttrs(t, payload, sdmBadData[name])
				_, obs, _ := ngsi.Decode(payload, ngsi.Input{Arrival: sdmArrival})
				if len(obs) != 1 {
					return twin.Observation{}, false
				}
				return obs[0], true
			}
			// GreenspaceRecord's keyValues example holds no reading: compare
			// against its NGSI-LD keyValues example instead.
			baseFile := "example.json"
			if _, ok := sdmNothingToStore[typ+"/"+baseFile]; ok {
				baseFile = "example.jsonld"
			}
			base, ok := decode(baseFile)
			if !ok {
				t.Fatalf("%s does not decode", baseFile)
			}
			var diffs []string
			common := 0
			for _, file := range []string{"example.json", "example.jsonld", "example-normalized.json", "example-normalized.jsonld"} {
				if file == baseFile {
					continue
				}
				o, ok := decode(file)
				if !ok {
					if _, nothing := sdmNothingToStore[typ+"/"+file]; !nothing {
						t.Errorf("%s does not decode", file)
					}
					continue
				}
				if !o.Time.Equal(base.Time) {
					diffs = append(diffs, fmt.Sprintf("%s: time %s != %s", file, base.Time.Format(time.RFC3339), o.Time.Format(time.RFC3339)))
				}
				if (o.Location == nil) != (base.Location == nil) || (o.Location != nil && !orb.Equal(o.Location, base.Location)) {
					diffs = append(diffs, fmt.Sprintf("%s: location %v != %v", file, base.Location, o.Location))
				}
				for _, a := range base.Attrs {
					b, ok := o.Attr(a.Name)
					if !ok {
						continue
					}
					common++
					if a.Kind != b.Kind || a.Num != b.Num || a.Bool != b.Bool || a.Str != b.Str {
						diffs = append(diffs, fmt.Sprintf("%s: %s %s != %s", file, a.Name, attrValue(a), attrValue(b)))
					}
				}
			}
			if common == 0 {
				t.Errorf("the forms share no attribute")
			}
			want := sdmKnownDiffs[typ]
			slices.Sort(diffs)
			slices.Sort(want)
			if !slices.Equal(diffs, want) {
				t.Errorf("differences between the forms of %s:\ngot  %q\nwant %q", typ, diffs, want)
			}
		})
	}
}

func attrValue(a twin.Attr) string {
	switch a.Kind {
	case twin.KindNumber:
		return strconv.FormatFloat(a.Num, 'g', -1, 64)
	case twin.KindBool:
		return strconv.FormatBool(a.Bool)
	}
	return strconv.Quote(a.Str)
}
