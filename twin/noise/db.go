package noise

import (
	"fmt"
	"math"
)

// FieldError is bad input: the field (a Go field or argument name, indexed
// where it is an element, e.g. "hours[3].LAeq") and the rule it breaks.
type FieldError struct {
	Field string
	Rule  string
}

// Error returns "field: rule".
func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// Energy returns the relative energy 10^(L/10) of a level L in dB
// (reference/domain.md §1). Energy(-Inf) is 0.
func Energy(level float64) float64 {
	// exp(L·ln10/10) is 10^(L/10) within a few ulps, at a third of the cost
	// of math.Pow.
	return math.Exp(level * (math.Ln10 / 10))
}

// Level returns the level 10·lg(E) in dB of a relative energy E, the inverse
// of Energy. Level(0) is -Inf (silence); a negative E gives NaN.
func Level(energy float64) float64 { return 10 * math.Log10(energy) }

// Sum returns the energetic sum 10·lg(Σ 10^(Lᵢ/10)) of levels in dB
// (reference/domain.md §1): two sources of 60 dB give 63.01 dB. The sum of no
// levels is -Inf (silence).
func Sum(levels ...float64) float64 {
	var e float64
	for _, l := range levels {
		e += Energy(l)
	}
	return Level(e)
}

// Mean returns the energetic mean 10·lg((1/n)·Σ 10^(Lᵢ/10)) of levels in dB,
// the Leq of n equal sub-periods (reference/domain.md §1). It lies between the
// smallest and the largest level. The mean of no levels is NaN.
func Mean(levels ...float64) float64 {
	if len(levels) == 0 {
		return math.NaN()
	}
	var e float64
	for _, l := range levels {
		e += Energy(l)
	}
	return Level(e / float64(len(levels)))
}

// Leq returns the equivalent level 10·lg((1/T)·Σ tᵢ·10^(Lᵢ/10)) in dB of
// sub-periods with levels Lᵢ (dB) and durations tᵢ (any one unit, T = Σ tᵢ)
// (reference/domain.md §1). Levels must be finite or -Inf (silence),
// durations finite and ≥ 0 with a positive total, and both slices of one
// length.
func Leq(levels, durations []float64) (float64, error) {
	l, err := leq(levels, durations)
	if err != nil {
		return 0, fmt.Errorf("noise: leq: %w", err)
	}
	return l, nil
}

func leq(levels, durations []float64) (float64, error) {
	if len(levels) != len(durations) {
		return 0, fieldErr("durations", "must have one duration per level: %d levels, %d durations", len(levels), len(durations))
	}
	var e, total float64
	for i, l := range levels {
		if math.IsNaN(l) || math.IsInf(l, 1) {
			return 0, fieldErr(fmt.Sprintf("levels[%d]", i), "must be a finite level in dB or -Inf, got %v", l)
		}
		d := durations[i]
		if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
			return 0, fieldErr(fmt.Sprintf("durations[%d]", i), "must be finite and ≥ 0, got %v", d)
		}
		e += d * Energy(l)
		total += d
	}
	if total <= 0 {
		return 0, fieldErr("durations", "must add up to more than 0")
	}
	return Level(e / total), nil
}
