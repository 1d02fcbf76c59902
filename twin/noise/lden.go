package noise

import (
	"fmt"
	"math"
	"time"
)

// Hour is the noise of one clock hour at one receiver.
type Hour struct {
	// Start is when the hour begins; it must be a whole hour in the
	// location of the computation (any time zone of the value works).
	Start time.Time
	// LAeq is the A-weighted equivalent level of the hour, dB(A): the
	// energetic mean of the measured part of the hour.
	LAeq float64
	// Coverage is the measured fraction of the hour, 0–1; 0 means not
	// reported and counts as 1 (a full hour).
	Coverage float64
}

// coverage returns the weight of h in a period's Leq, in hours.
func (h Hour) coverage() float64 {
	if h.Coverage == 0 {
		return 1
	}
	return h.Coverage
}

// PeriodLevel is the level of one period (day, evening or night) over the
// hours given.
type PeriodLevel struct {
	// Level is the energetic mean of the period's hourly LAeq, each hour
	// weighted by its coverage, dB(A); nil when the period had no hours.
	Level *float64
	// Hours counts the hours with data in the period.
	Hours int
	// Covered is the measured time in the period, hours (Σ coverage).
	Covered float64
}

// Levels are Lday, Levening, Lnight and Lden over the hours given
// (reference/domain.md §2).
type Levels struct {
	Day, Evening, Night PeriodLevel
	// Lden, dB(A), is nil unless all three periods have data:
	//
	//	Lden = 10·lg[(1/24)·(Td·10^(Lday/10) + Te·10^((Levening+5)/10) + Tn·10^((Lnight+10)/10))]
	//
	// with Td, Te, Tn the nominal period lengths of the Periods in hours
	// (12, 4, 8 for EU; Directive 2002/49/EC Annex I).
	Lden *float64
}

// Compute returns the period levels and Lden of hours, which must be in
// strictly increasing order of Start. The caller chooses the window by the
// hours it passes (a year for the Directive's long-term levels, a day, a
// week). Each hour is assigned to the period of its local start hour; on a
// daylight-saving day the night simply has one hour fewer or more, and Lden
// keeps the nominal weights. Bad input gives a *FieldError.
func (p Periods) Compute(hours []Hour) (Levels, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return Levels{}, fmt.Errorf("noise: compute Lden: %w", err)
	}
	if err := checkHours(hours, p.Location); err != nil {
		return Levels{}, fmt.Errorf("noise: compute Lden: %w", err)
	}
	var acc ldenAcc
	for _, h := range hours {
		acc.add(p.ofHour(h.Start.In(p.Location).Hour()), h)
	}
	return acc.levels(p), nil
}

// DayLevels are the levels of one Lden day.
type DayLevels struct {
	// Date is the local calendar date on which the Lden day begins,
	// "2006-01-02".
	Date string
	Levels
}

// Daily returns the levels of each Lden day that has data, in date order.
// An Lden day runs from the start of the day period to the next one (07:00
// to 07:00 for EU) and is labelled with the date it begins on, so the night
// that follows a day belongs to it; hours must be in strictly increasing
// order of Start.
func (p Periods) Daily(hours []Hour) ([]DayLevels, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("noise: compute daily Lden: %w", err)
	}
	if err := checkHours(hours, p.Location); err != nil {
		return nil, fmt.Errorf("noise: compute daily Lden: %w", err)
	}
	var (
		out []DayLevels
		acc ldenAcc
		cur civilDate
	)
	flush := func() {
		if cur != (civilDate{}) {
			out = append(out, DayLevels{Date: cur.String(), Levels: acc.levels(p)})
		}
	}
	for _, h := range hours {
		lt := h.Start.In(p.Location)
		hr := lt.Hour()
		var d civilDate
		d.y, d.m, d.d = lt.Date()
		if hr < p.Day { // the Lden day began on the previous date
			d.y, d.m, d.d = time.Date(d.y, d.m, d.d-1, 12, 0, 0, 0, time.UTC).Date()
		}
		if d != cur {
			flush()
			cur, acc = d, ldenAcc{}
		}
		acc.add(p.ofHour(hr), h)
	}
	flush()
	return out, nil
}

// ldenAcc accumulates coverage-weighted energy per period.
type ldenAcc struct {
	energy  [3]float64
	covered [3]float64
	hours   [3]int
}

func (a *ldenAcc) add(per Period, h Hour) {
	w := h.coverage()
	a.energy[per] += w * Energy(h.LAeq)
	a.covered[per] += w
	a.hours[per]++
}

func (a *ldenAcc) levels(p Periods) Levels {
	var out Levels
	pls := [3]*PeriodLevel{&out.Day, &out.Evening, &out.Night}
	for i, pl := range pls {
		pl.Hours, pl.Covered = a.hours[i], a.covered[i]
		if a.hours[i] > 0 {
			l := Level(a.energy[i] / a.covered[i])
			pl.Level = &l
		}
	}
	if out.Day.Level != nil && out.Evening.Level != nil && out.Night.Level != nil {
		td, te, tn := p.Lengths()
		l := Lden(*out.Day.Level, *out.Evening.Level, *out.Night.Level, td, te, tn)
		out.Lden = &l
	}
	return out
}

// Lden returns 10·lg[(1/24)·(td·10^(day/10) + te·10^((evening+5)/10) +
// tn·10^((night+10)/10))] in dB(A) for period levels in dB(A) and period
// lengths in hours that add up to 24 (Directive 2002/49/EC Annex I,
// reference/domain.md §2; EU lengths are 12, 4, 8).
func Lden(day, evening, night float64, td, te, tn int) float64 {
	e := float64(td)*Energy(day) + float64(te)*Energy(evening+5) + float64(tn)*Energy(night+10)
	return Level(e / float64(td+te+tn))
}

// checkHours validates a series of hours for computations in loc.
func checkHours(hours []Hour, loc *time.Location) *FieldError {
	for i, h := range hours {
		if h.Start.IsZero() {
			return fieldErr(fmt.Sprintf("hours[%d].Start", i), "must be set")
		}
		lt := h.Start.In(loc)
		if lt.Minute() != 0 || lt.Second() != 0 || lt.Nanosecond() != 0 {
			return fieldErr(fmt.Sprintf("hours[%d].Start", i), "must be a whole hour in %s, got %s", loc, lt.Format(time.RFC3339Nano))
		}
		if i > 0 && !h.Start.After(hours[i-1].Start) {
			return fieldErr(fmt.Sprintf("hours[%d].Start", i), "must be after hours[%d].Start (strictly increasing), got %s after %s",
				i-1, h.Start.UTC().Format(time.RFC3339), hours[i-1].Start.UTC().Format(time.RFC3339))
		}
		if math.IsNaN(h.LAeq) || math.IsInf(h.LAeq, 0) || h.LAeq < 0 || h.LAeq > 200 {
			return fieldErr(fmt.Sprintf("hours[%d].LAeq", i), "must be a level within 0..200 dB(A), got %v", h.LAeq)
		}
		if math.IsNaN(h.Coverage) || h.Coverage < 0 || h.Coverage > 1 {
			return fieldErr(fmt.Sprintf("hours[%d].Coverage", i), "must be a fraction within 0..1 (0 = full hour), got %v", h.Coverage)
		}
	}
	return nil
}

// civilDate is a calendar date, compared without formatting it.
type civilDate struct {
	y int
	m time.Month
	d int
}

func (c civilDate) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, int(c.m), c.d) }
