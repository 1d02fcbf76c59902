package ngsild_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/web/ngsild"
)

// fuzzValues are what a Getter may return, and some it should not.
var fuzzValues = []any{
	0.0, -1.0, 21.5, 1e300, math.Inf(1), math.NaN(), math.Copysign(0, -1),
	"", "abc", "working", "2026-11-22T10:00:00Z", "2026-11-22", "10:00:00Z",
	"urn:ngsi-ld:Device:1", "x\x00y",
	true, false,
	time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Time{},
	[]any{}, []any{1.0, "a", true, nil, []any{2.0}, map[string]any{"a": 1.0}},
	map[string]any{"a": 1.0, "b": map[string]any{"c": "x"}, "city": "Berlin", "k": []any{"v"}},
	map[string]any{},
	nil, 3, int64(-7), uint8(9), float32(1.5), json.Number("12"), json.Number("bad"),
	struct{}{}, []string{"typed"}, map[string]string{"a": "b"}, &struct{}{},
}

// fuzzGetter returns a getter choosing values from path and seed, and
// reporting any path whose attribute name Attrs did not announce.
func fuzzGetter(t *testing.T, seed uint64, attrs []string) ngsild.Getter {
	return func(path []string) (any, bool) {
		if len(path) == 0 || !slices.Contains(attrs, path[0]) {
			t.Errorf("getter called with %q, not among Attrs() %q", path, attrs)
			return nil, false
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", seed, strings.Join(path, "\x00"))
		n := h.Sum64()
		if n%7 == 0 {
			return nil, false
		}
		return fuzzValues[n%uint64(len(fuzzValues))], true
	}
}

// FuzzParseQ checks that ParseQ never panics, that every error is a
// *QError naming its position inside the input, that the canonical form
// reads back to itself, is no longer than the input and means the same,
// that the Getter is asked only for announced attributes, and that Match
// never panics whatever the Getter returns.
func FuzzParseQ(f *testing.F) {
	for _, c := range qParseCases {
		f.Add(c.in)
	}
	for _, c := range qErrorCases {
		if len(c.in) <= 200 {
			f.Add(c.in)
		}
	}
	for _, c := range qEvalCases {
		f.Add(c.q)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Longer inputs add nothing the unit tests of the limits do not
		// cover, and Go's minimizer is quadratic in input length: one long
		// "interesting" input stalls a whole run. 600 bytes still reach the
		// term limit.
		if len(s) > 600 {
			return
		}
		q, err := ngsild.ParseQ(s)
		if err != nil {
			var qe *ngsild.QError
			if !errors.As(err, &qe) {
				t.Fatalf("error %T is not a *QError: %v", err, err)
			}
			if qe.Pos < 0 || qe.Pos > len(s) || qe.Msg == "" {
				t.Fatalf("error %+v outside the input of %d bytes", qe, len(s))
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("q: position %d: ", qe.Pos)) {
				t.Fatalf("error %q lacks its position", err)
			}
			return
		}
		canon := q.String()
		if len(canon) > len(s) {
			t.Fatalf("canonical %q is longer than input %q", canon, s)
		}
		q2, err := ngsild.ParseQ(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if q2.String() != canon {
			t.Fatalf("canonical %q of %q reads back as %q", canon, s, q2.String())
		}
		attrs := q.Attrs()
		if len(attrs) == 0 || !slices.IsSorted(attrs) || !slices.Equal(attrs, q2.Attrs()) {
			t.Fatalf("Attrs() = %q, canonical's %q", attrs, q2.Attrs())
		}
		for seed := range uint64(4) {
			get := fuzzGetter(t, seed, attrs)
			if m1, m2 := q.Match(get), q2.Match(get); m1 != m2 {
				t.Fatalf("%q matches %v, its canonical %q matches %v", s, m1, canon, m2)
			}
		}
	})
}
