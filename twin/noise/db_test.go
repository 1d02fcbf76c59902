package noise_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/twin/noise"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsInf(want, 0) && got == want {
		return
	}
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

// wantField checks that err wraps a *noise.FieldError for field whose rule
// mentions rule.
func wantField(t *testing.T, err error, field, rule string) {
	t.Helper()
	var fe *noise.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a *noise.FieldError for %s", err, field)
	}
	if fe.Field != field || !strings.Contains(fe.Rule, rule) {
		t.Fatalf("error %q: field %q rule %q, want field %q with %q", err, fe.Field, fe.Rule, field, rule)
	}
	if !strings.HasPrefix(err.Error(), "noise: ") {
		t.Errorf("error %q should name the package and the operation", err)
	}
}

func TestSum(t *testing.T) {
	// 10·lg(2·10^6) = 60 + 10·lg 2 = 60 + 3.0103 = 63.0103.
	near(t, "Sum(60,60)", noise.Sum(60, 60), 63.0103, 1e-4)
	near(t, "Sum(60,60) exact", noise.Sum(60, 60), 60+10*math.Log10(2), 1e-12)
	// 10·lg(10^6 + 10^7) = 10·lg(1.1·10^7) = 70.4139.
	near(t, "Sum(60,70)", noise.Sum(60, 70), 70.41392685158225, 1e-9)
	near(t, "Sum(60, silence)", noise.Sum(60, math.Inf(-1)), 60, 1e-12)
	if got := noise.Sum(); !math.IsInf(got, -1) {
		t.Errorf("Sum() = %v, want -Inf", got)
	}
}

func TestEnergyLevel(t *testing.T) {
	near(t, "Energy(60)", noise.Energy(60), 1e6, 1e-6)
	near(t, "Level(1e6)", noise.Level(1e6), 60, 1e-12)
	for _, l := range []float64{-10, 0, 33.3, 94, 140} {
		near(t, "Level(Energy(l))", noise.Level(noise.Energy(l)), l, 1e-9)
	}
	if got := noise.Level(0); !math.IsInf(got, -1) {
		t.Errorf("Level(0) = %v, want -Inf", got)
	}
}

func TestMean(t *testing.T) {
	// 10·lg((10^6 + 10^7)/2) = 10·lg(5.5·10^6) = 67.4036.
	near(t, "Mean(60,70)", noise.Mean(60, 70), 67.40362689494245, 1e-9)
	near(t, "Mean(55)", noise.Mean(55), 55, 1e-12)
	if got := noise.Mean(); !math.IsNaN(got) {
		t.Errorf("Mean() = %v, want NaN", got)
	}
}

// TestMeanWithinRange: the energetic mean lies within [min, max] and is at
// least the arithmetic mean (the energy function is convex).
func TestMeanWithinRange(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		ls := make([]float64, 1+r.IntN(30))
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for i := range ls {
			ls[i] = 20 + 100*r.Float64()
			lo, hi, sum = min(lo, ls[i]), max(hi, ls[i]), sum+ls[i]
		}
		m := noise.Mean(ls...)
		if m < lo-1e-9 || m > hi+1e-9 {
			t.Fatalf("Mean(%v) = %v outside [%v, %v]", ls, m, lo, hi)
		}
		if m < sum/float64(len(ls))-1e-9 {
			t.Fatalf("Mean(%v) = %v below the arithmetic mean %v", ls, m, sum/float64(len(ls)))
		}
		if s := noise.Sum(ls...); s < hi-1e-9 || s > hi+10*math.Log10(float64(len(ls)))+1e-9 {
			t.Fatalf("Sum(%v) = %v outside [max, max + 10·lg n]", ls, s)
		}
	}
}

func TestLeq(t *testing.T) {
	// 3 h at 60 and 1 h at 70: 10·lg((3·10^6 + 10^7)/4) = 10·lg(3.25·10^6) = 65.1188.
	got, err := noise.Leq([]float64{60, 70}, []float64{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Leq", got, 65.11883360978874, 1e-9)
	// Equal durations: the energetic mean.
	got, _ = noise.Leq([]float64{60, 70}, []float64{2, 2})
	near(t, "Leq equal", got, noise.Mean(60, 70), 1e-12)
	// A silent sub-period halves the energy: 60 − 3.0103.
	got, _ = noise.Leq([]float64{60, math.Inf(-1)}, []float64{1, 1})
	near(t, "Leq with silence", got, 60-10*math.Log10(2), 1e-12)

	_, err = noise.Leq([]float64{60}, []float64{1, 2})
	wantField(t, err, "durations", "one duration per level")
	_, err = noise.Leq([]float64{60, 70}, []float64{1, -1})
	wantField(t, err, "durations[1]", "≥ 0")
	_, err = noise.Leq([]float64{60}, []float64{0})
	wantField(t, err, "durations", "more than 0")
	_, err = noise.Leq([]float64{math.NaN()}, []float64{1})
	wantField(t, err, "levels[0]", "finite")
}
