package sim

import (
	"testing"
	"time"
)

func TestCountSince(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	// 3 vehicles per 5 min read every 4 s for an hour: 3 × 12 = 36 in all,
	// although each 4-second reading alone would round 0.04 to 0.
	var sum float64
	prev := time.Time{}
	for at := t0; at.Before(t0.Add(time.Hour)); at = at.Add(4 * time.Second) {
		n := countSince(3, at, prev)
		if !prev.IsZero() {
			if n < 0 || n > 1 {
				t.Fatalf("count %g at %s", n, at)
			}
			sum += n
		}
		prev = at
	}
	// The readings span 3,596 s after the first: 3 × 3596/300 = 35.96.
	if sum < 35 || sum > 36 {
		t.Errorf("an hour of readings counted %g vehicles, want 36 ± 1", sum)
	}
	// No previous reading, or a gap: the last 5 minutes (150 vehicles).
	if n := countSince(150, t0, time.Time{}); n != 150 {
		t.Errorf("first reading counts %g, want 150", n)
	}
	if n := countSince(150, t0, t0.Add(-time.Hour)); n != 150 {
		t.Errorf("after a gap counts %g, want 150", n)
	}
}
