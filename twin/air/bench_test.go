package air_test

import (
	"math"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/air"
)

// yearO3 is 2025 in Rome with a daily O3 cycle and one hour in 50 missing.
func yearO3() []air.Hour {
	hours := series(local(2025, 1, 1, 0), 8760, func(i int, lt time.Time) float64 {
		return 60 + 50*math.Sin(float64(lt.Hour()-9)*math.Pi/12)
	})
	out := hours[:0]
	for i, h := range hours {
		if i%50 != 7 {
			out = append(out, h)
		}
	}
	return out
}

// BenchmarkMaxDaily8h: a year of max daily 8-h means with prefix sums.
func BenchmarkMaxDaily8h(b *testing.B) {
	hours := yearO3()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (air.Config{}).MaxDaily8h(hours); err != nil {
			b.Fatal(err)
		}
	}
}

// naiveMax8h is the obvious implementation: for every hour slot, look up the
// 8 hours of its window in a map and average them; per local day keep the
// maximum. It is the baseline of BenchmarkMaxDaily8h and a cross-check.
func naiveMax8h(hours []air.Hour) map[string]float64 {
	byHour := make(map[int64]float64, len(hours))
	for _, h := range hours {
		byHour[h.Start.Unix()/3600] = h.Value
	}
	first, last := hours[0].Start.Unix()/3600, hours[len(hours)-1].Start.Unix()/3600
	out := map[string]float64{}
	for s := first; s <= last+2; s++ {
		var sum float64
		n := 0
		for k := s - 7; k <= s; k++ {
			if v, ok := byHour[k]; ok {
				sum += v
				n++
			}
		}
		if n < 6 {
			continue
		}
		d := time.Unix(s*3600, 0).In(rome).Format(time.DateOnly)
		if m, ok := out[d]; !ok || sum/float64(n) > m {
			out[d] = sum / float64(n)
		}
	}
	return out
}

func BenchmarkMaxDaily8hBaseline(b *testing.B) {
	hours := yearO3()
	b.ReportAllocs()
	for b.Loop() {
		_ = naiveMax8h(hours)
	}
}

// TestMaxDaily8hAgainstNaive cross-checks the prefix-sum implementation on
// a year with gaps.
func TestMaxDaily8hAgainstNaive(t *testing.T) {
	hours := yearO3()
	got, err := air.Config{}.MaxDaily8h(hours)
	if err != nil {
		t.Fatal(err)
	}
	want := naiveMax8h(hours)
	if len(got) != len(want) {
		t.Fatalf("%d days, naive %d", len(got), len(want))
	}
	for _, d := range got {
		if math.Abs(d.Max-want[d.Date]) > 1e-9 {
			t.Errorf("%s: max %v, naive %v", d.Date, d.Max, want[d.Date])
		}
	}
}
