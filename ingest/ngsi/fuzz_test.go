package ngsi_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/twin"
)

// checkInvariants checks what every Decode result obeys, whatever the input.
func checkInvariants(t *testing.T, payload []byte, in ngsi.Input, f ngsi.Format, obs []twin.Observation, errs []*twin.InputError) {
	t.Helper()
	if !slices.Contains(ngsi.Formats, f) {
		t.Errorf("format %q is not in ngsi.Formats", f)
	}
	if len(obs)+len(errs) == 0 {
		t.Errorf("no observation and no error for %q", payload)
	}
	for i := range obs {
		o := &obs[i]
		if o.EntityID == "" || o.EntityType == "" || o.Tenant == "" {
			t.Errorf("observation %d lacks id, type or tenant: %+v", i, o)
		}
		if o.Domain != twin.DomainOf(o.EntityType) {
			t.Errorf("observation %d: domain %q for type %q", i, o.Domain, o.EntityType)
		}
		if o.Time.Location() != time0.Location() {
			t.Errorf("observation %d: time %v is not UTC", i, o.Time)
		}
		if err := twin.Validate(o, in.Arrival, ""); err != nil {
			t.Errorf("observation %d does not validate: %v", i, err)
		}
		for j, a := range o.Attrs {
			if a.Kind == twin.KindNumber && (math.IsNaN(a.Num) || math.IsInf(a.Num, 0)) {
				t.Errorf("observation %d: %s is not finite", i, a.Name)
			}
			if a.Kind == twin.KindString && len(a.Str) > twin.MaxTextLen {
				t.Errorf("observation %d: %s is longer than MaxTextLen", i, a.Name)
			}
			if j > 0 && o.Attrs[j-1].Name >= a.Name {
				t.Errorf("observation %d: attrs not sorted and unique at %s", i, a.Name)
			}
		}
		var pts []orb.Point
		switch g := o.Location.(type) {
		case nil:
		case orb.Point:
			pts = []orb.Point{g}
		case orb.LineString:
			pts = g
		default:
			t.Errorf("observation %d: location is a %T", i, g)
		}
		for _, p := range pts {
			if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
				t.Errorf("observation %d: position %v out of range", i, p)
			}
		}
	}
	for _, e := range errs {
		if e == nil || e.Reason == "" || e.Rule == "" || !slices.Contains(twin.Reasons, e.Reason) {
			t.Errorf("bad error %#v", e)
			continue
		}
		// Rules are for people: short, and valid text whatever the payload.
		if len(e.Rule) > 300 || !utf8.ValidString(e.Rule) {
			t.Errorf("rule too long or not UTF-8: %q", e.Rule)
		}
	}
}

var time0 = goldenArrival

func fuzzSeeds(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "*", "payload.json"))
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, p := range benchPayloads {
		f.Add([]byte(p.payload))
	}
	f.Add([]byte{})
	f.Add([]byte(`[{"id":"a","type":"b","c":1},{"id":"a","type":"b","location":{"type":"LineString","coordinates":[[1,2],[3,4]]},"c":-Inf}]`))
}

// FuzzDecode checks the Decode invariants, and that results share no memory
// with the payload or the pooled parser.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	in := ngsi.Input{Tenant: "fuzz", Arrival: goldenArrival}
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := bytes.Clone(payload)
		fm, obs, errs := ngsi.Decode(p, in)
		checkInvariants(t, payload, in, fm, obs, errs)
		before := marshal(t, render(t, fm, obs, errs))
		// Overwrite the payload and the parser's buffer: the results must not
		// change.
		for i := range p {
			p[i] = 'x'
		}
		ngsi.Decode(bytes.Repeat([]byte(`[{"id":"zz","type":"zz","zz":"zz"}]`), 1+len(payload)/30), in)
		if after := marshal(t, render(t, fm, obs, errs)); !bytes.Equal(before, after) {
			t.Errorf("results changed after the parser was reused:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// TestConcurrentDecode decodes every golden payload from many goroutines at
// once (run with -race) and checks each result against a sequential decode.
func TestConcurrentDecode(t *testing.T) {
	type job struct {
		payload []byte
		want    []byte
	}
	var jobs []job
	in := ngsi.Input{Arrival: goldenArrival}
	for _, dir := range goldenCases(t) {
		b, err := os.ReadFile(filepath.Join(dir, "payload.json"))
		if err != nil {
			t.Fatal(err)
		}
		f, obs, errs := ngsi.Decode(b, in)
		jobs = append(jobs, job{b, marshal(t, render(t, f, obs, errs))})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 20 {
				j := jobs[(g*7+r)%len(jobs)]
				f, obs, errs := ngsi.Decode(j.payload, in)
				if got := marshal(t, render(t, f, obs, errs)); !bytes.Equal(got, j.want) {
					t.Errorf("concurrent decode differs:\n%s\nwant\n%s", got, j.want)
				}
			}
		})
	}
	wg.Wait()
}
