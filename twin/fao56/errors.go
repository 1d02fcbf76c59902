package fao56

import "fmt"

// FieldError is bad or missing input: the field (as named in this package's
// documentation, lowerCamel), the rule it breaks and, when present, the
// value. Errors returned by this package wrap a *FieldError whenever an
// input is at fault; use errors.As to reach it.
type FieldError struct {
	// Field names the input, e.g. "thetaWP" or "days[3].rainMM".
	Field string
	// Rule is what the value must satisfy, e.g. "must be below thetaFC (0.32)".
	Rule string
	// Value is the offending value (a float64, or a time.Time for dates);
	// nil when the field is missing.
	Value any
	// Missing is true when the field is absent rather than out of range.
	Missing bool
}

func (e *FieldError) Error() string {
	if e.Missing {
		return fmt.Sprintf("%s: %s, missing", e.Field, e.Rule)
	}
	return fmt.Sprintf("%s: %s, got %v", e.Field, e.Rule, e.Value)
}

func bad(field, rule string, v any) *FieldError {
	return &FieldError{Field: field, Rule: rule, Value: v}
}

func missing(field, rule string) *FieldError {
	return &FieldError{Field: field, Rule: rule, Missing: true}
}

// in reports whether lo ≤ v ≤ hi; NaN is never in range.
func in(v, lo, hi float64) bool { return v >= lo && v <= hi }
