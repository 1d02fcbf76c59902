package twinfeed

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzAppendString checks the hand-written JSON string encoder against
// encoding/json: valid JSON that decodes to the input, invalid UTF-8
// replaced by U+FFFD byte by byte as encoding/json does.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te\back`, "ctl\x00\x1f\n\r\t", "é€😀", "bad\xff\xfe", "\u2028\u2029", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		if !json.Valid(b) {
			t.Fatalf("%q encodes to invalid JSON %s", s, b)
		}
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("%q round-trips to %q, encoding/json gives %q", s, got, wantS)
		}
	})
}

func TestAppendFloat(t *testing.T) {
	for v, want := range map[float64]string{61.2: "61.2", 0: "0", -3.5: "-3.5", 1.7e15: "1.7e+15", math.NaN(): "null", math.Inf(1): "null"} {
		if got := string(appendFloat(nil, v)); got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", v, got, want)
		}
		if !json.Valid(appendFloat(nil, v)) {
			t.Errorf("appendFloat(%v) is not JSON", v)
		}
	}
}
