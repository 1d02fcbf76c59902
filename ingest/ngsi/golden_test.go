package ngsi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/twin"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

// goldenArrival is the arrival time of every golden case.
var goldenArrival = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// result is the JSON rendering of a Decode result in expected.json.
type result struct {
	Format       ngsi.Format   `json:"format"`
	Observations []observation `json:"observations"`
	Errors       []inputError  `json:"errors"`
}

type observation struct {
	Tenant     string            `json:"tenant"`
	EntityID   string            `json:"entityId"`
	EntityType string            `json:"entityType"`
	Domain     twin.Domain       `json:"domain"`
	Time       string            `json:"time"`
	TimeSource string            `json:"timeSource"`
	Location   json.RawMessage   `json:"location,omitempty"`
	Attrs      []attr            `json:"attrs"`
	Refs       map[string]string `json:"refs,omitempty"`
}

type attr struct {
	Name string   `json:"name"`
	Kind string   `json:"kind"`
	Num  *float64 `json:"num,omitempty"`
	Bool *bool    `json:"bool,omitempty"`
	Str  *string  `json:"str,omitempty"`
	Unit string   `json:"unit,omitempty"`
}

type inputError struct {
	Reason   twin.Reason `json:"reason"`
	EntityID string      `json:"entityId,omitempty"`
	Field    string      `json:"field,omitempty"`
	Rule     string      `json:"rule"`
}

var timeSources = map[twin.TimeSource]string{
	twin.TimeArrival:        "arrival",
	twin.TimeObservedAt:     "observedAt",
	twin.TimeDateObserved:   "dateObserved",
	twin.TimeDateObservedTo: "dateObservedTo",
	twin.TimeInstant:        "TimeInstant",
}

func render(t testing.TB, f ngsi.Format, obs []twin.Observation, errs []*twin.InputError) result {
	t.Helper()
	r := result{Format: f, Observations: []observation{}, Errors: []inputError{}}
	for _, o := range obs {
		ro := observation{
			Tenant: o.Tenant, EntityID: o.EntityID, EntityType: o.EntityType, Domain: o.Domain,
			Time: o.Time.Format(time.RFC3339Nano), TimeSource: timeSources[o.TimeSource],
			Attrs: []attr{}, Refs: o.Refs,
		}
		if o.Time.Location() != time.UTC {
			t.Errorf("%s: time %v is not in UTC", o.EntityID, o.Time)
		}
		if o.Location != nil {
			ro.Location = geometryJSON(t, o.Location)
		}
		for _, a := range o.Attrs {
			ra := attr{Name: a.Name, Kind: a.Kind.String(), Unit: a.Unit}
			switch a.Kind {
			case twin.KindNumber:
				ra.Num = &a.Num
			case twin.KindBool:
				ra.Bool = &a.Bool
			case twin.KindString:
				ra.Str = &a.Str
			}
			ro.Attrs = append(ro.Attrs, ra)
		}
		r.Observations = append(r.Observations, ro)
	}
	for _, e := range errs {
		r.Errors = append(r.Errors, inputError{Reason: e.Reason, EntityID: e.EntityID, Field: e.Field, Rule: e.Rule})
	}
	return r
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goldenCases lists the folders under testdata that hold a payload.json.
func goldenCases(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

func TestGolden(t *testing.T) {
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(filepath.Join(dir, "payload.json"))
			if err != nil {
				t.Fatal(err)
			}
			in := ngsi.Input{Tenant: twin.DefaultTenant, Arrival: goldenArrival}
			if b, err := os.ReadFile(filepath.Join(dir, "tenant.txt")); err == nil {
				in.Tenant = strings.TrimSpace(string(b))
			}
			f, obs, errs := ngsi.Decode(payload, in)
			got := marshal(t, render(t, f, obs, errs))
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decode of %s differs from expected.json (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", dir, got, want)
			}
		})
	}
}

// geometryJSON renders a Point or LineString as GeoJSON (orb/geojson would
// pull in a BSON dependency for nothing).
func geometryJSON(t testing.TB, g orb.Geometry) json.RawMessage {
	t.Helper()
	var v any
	switch g := g.(type) {
	case orb.Point:
		v = map[string]any{"type": "Point", "coordinates": [2]float64(g)}
	case orb.LineString:
		cs := make([][2]float64, len(g))
		for i, p := range g {
			cs[i] = p
		}
		v = map[string]any{"type": "LineString", "coordinates": cs}
	default:
		t.Errorf("unexpected geometry %T", g)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
