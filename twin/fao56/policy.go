package fao56

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Decision is what a policy knows on the morning of a day.
type Decision struct {
	// Index is the day's position in the horizon (0 for the first day).
	Index int
	Date  time.Time
	// DrMM is the root-zone depletion at the start of the day, mm.
	DrMM float64
	// RAWMM and TAWMM are the area's RAW and TAW, mm.
	RAWMM, TAWMM float64
	// RainMM is the day's effective rain (P − RO), mm, and NextRainMM the
	// next day's (0 on the last day of the horizon): the forecast.
	RainMM, NextRainMM float64
}

// Policy decides each morning's irrigation. Irrigation returns the net depth
// (mm, finite, ≥ 0) to apply; 0 means no event. A policy that also has a
// Validate() error method is validated by Run and Compare. Implementations
// must be safe for concurrent use if shared between goroutines; the ones in
// this package are plain values.
type Policy interface {
	Name() string
	Irrigation(d Decision) float64
}

// Threshold is the FAO-56 policy "irrigate when Dr ≥ RAW" (domain.md §7):
// on a morning when the depletion at the start of the day (the end of the
// previous day) is at least RAW, it applies Dr, refilling the root zone to
// field capacity. The decision is taken on the start-of-day depletion, so
// the refill happens before the day's ET and the day is never a stress day;
// ET then depletes the zone again from 0.
type Threshold struct{}

// Name implements Policy.
func (Threshold) Name() string { return "threshold-refill" }

// Irrigation implements Policy.
func (Threshold) Irrigation(d Decision) float64 {
	if d.DrMM > 0 && d.DrMM >= d.RAWMM {
		return d.DrMM
	}
	return 0
}

// Fixed irrigates a fixed net depth on a calendar: on the given weekdays,
// or every EveryDays days counted from the first day of the horizon (day 0,
// N, 2N, …). Exactly one of Weekdays and EveryDays must be set. Water
// beyond field capacity drains (DP).
type Fixed struct {
	Weekdays  []time.Weekday
	EveryDays int
	// DepthMM is the net depth per event, mm, in (0, 100].
	DepthMM float64
}

// Name implements Policy: "fixed(Mon,Thu; 15 mm)" or "fixed(every 3 d; 15 mm)".
func (f Fixed) Name() string {
	return string(append(f.calendar(append(make([]byte, 0, 48), "fixed("...)), ')'))
}

// calendar appends "Mon,Thu; 15 mm" or "every 3 d; 15 mm" to b (built
// without fmt: Name runs once per policy and area).
func (f Fixed) calendar(b []byte) []byte {
	if len(f.Weekdays) > 0 {
		for i, w := range f.Weekdays {
			if i > 0 {
				b = append(b, ',')
			}
			n := w.String()
			b = append(b, n[:min(3, len(n))]...)
		}
	} else {
		b = append(b, "every "...)
		b = strconv.AppendInt(b, int64(f.EveryDays), 10)
		b = append(b, " d"...)
	}
	b = append(b, "; "...)
	b = strconv.AppendFloat(b, f.DepthMM, 'g', -1, 64)
	return append(b, " mm"...)
}

// Validate checks the schedule; the error is a *FieldError.
func (f Fixed) Validate() error {
	switch {
	case len(f.Weekdays) == 0 && f.EveryDays == 0:
		return missing("weekdays", "a fixed schedule needs weekdays or everyDays")
	case len(f.Weekdays) > 0 && f.EveryDays != 0:
		return bad("everyDays", "must be 0 when weekdays are given", f.EveryDays)
	case f.EveryDays < 0:
		return bad("everyDays", "must be ≥ 1", f.EveryDays)
	case !(f.DepthMM > 0 && f.DepthMM <= 100):
		return bad("depthMM", "must be in (0, 100] mm", f.DepthMM)
	}
	for i, w := range f.Weekdays {
		if w < time.Sunday || w > time.Saturday {
			return bad(fmt.Sprintf("weekdays[%d]", i), "must be a time.Weekday, 0 (Sunday) to 6", int(w))
		}
	}
	return nil
}

// scheduled reports whether the calendar has an event on day d.
func (f Fixed) scheduled(d Decision) bool {
	if f.EveryDays > 0 {
		return d.Index%f.EveryDays == 0
	}
	wd := d.Date.Weekday()
	for _, w := range f.Weekdays {
		if w == wd {
			return true
		}
	}
	return false
}

// Irrigation implements Policy.
func (f Fixed) Irrigation(d Decision) float64 {
	if f.scheduled(d) {
		return f.DepthMM
	}
	return 0
}

// RainSkip is a fixed schedule that skips an event when the forecast rain
// covers it: the day's effective rain (plus the next day's when NextDay is
// set) is positive and at least min(DepthMM, Dr), the smaller of the depth
// the event would apply and the depletion it would make up. Only effective
// rain (≥ Area.MinRainMM) counts.
type RainSkip struct {
	Schedule Fixed
	NextDay  bool
}

// Name implements Policy: "rain-skip(Mon,Thu; 15 mm)", with "; +next day"
// when NextDay is set.
func (r RainSkip) Name() string {
	b := r.Schedule.calendar(append(make([]byte, 0, 64), "rain-skip("...))
	if r.NextDay {
		b = append(b, "; +next day"...)
	}
	return string(append(b, ')'))
}

// Validate checks the schedule.
func (r RainSkip) Validate() error { return r.Schedule.Validate() }

// Irrigation implements Policy.
func (r RainSkip) Irrigation(d Decision) float64 {
	if !r.Schedule.scheduled(d) {
		return 0
	}
	rain := d.RainMM
	if r.NextDay {
		rain += d.NextRainMM
	}
	if rain > 0 && rain >= math.Min(r.Schedule.DepthMM, d.DrMM) {
		return 0
	}
	return r.Schedule.DepthMM
}
