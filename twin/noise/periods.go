package noise

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Rome must resolve on hosts without zoneinfo.
)

// Period is one of the three assessment periods of Directive 2002/49/EC.
type Period int

// The periods, in the order they follow each other in a day.
const (
	Day Period = iota
	Evening
	Night
)

// String returns "day", "evening" or "night".
func (p Period) String() string {
	switch p {
	case Day:
		return "day"
	case Evening:
		return "evening"
	case Night:
		return "night"
	}
	return fmt.Sprintf("Period(%d)", int(p))
}

// DefaultLocation is the time zone of the periods and limits when none is
// given: Europe/Rome.
var DefaultLocation = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("noise: load time zone %s: %v", name, err))
	}
	return loc
}

// Periods sets when the day, evening and night periods of Lden begin, in
// local whole hours 0–23 of Location, in that cyclic order: each period runs
// from its start to the next period's start (reference/domain.md §2).
//
// The zero value means EU (the defaults of Directive 2002/49/EC Annex I: day
// 07–19, evening 19–23, night 23–07) in Europe/Rome. A nil Location means
// Europe/Rome. Each period must last at least one hour; 0 is a valid start
// hour (midnight) as soon as another start is non-zero.
type Periods struct {
	Day, Evening, Night int
	Location            *time.Location
}

// EU are the default periods of Directive 2002/49/EC Annex I: day 07–19,
// evening 19–23, night 23–07, in Europe/Rome.
var EU = Periods{Day: 7, Evening: 19, Night: 23}

// Italy are the periods of Italy's transposition as domain.md §2 records
// them, unverified: day 06–20, evening 20–22, night 22–06, in Europe/Rome.
// They are not the DPCM 14/11/1997 periods of the limits (see Limit).
var Italy = Periods{Day: 6, Evening: 20, Night: 22}

// withDefaults returns p with the documented defaults filled in.
func (p Periods) withDefaults() Periods {
	if p.Day == 0 && p.Evening == 0 && p.Night == 0 {
		p.Day, p.Evening, p.Night = EU.Day, EU.Evening, EU.Night
	}
	if p.Location == nil {
		p.Location = DefaultLocation
	}
	return p
}

// Validate reports the first broken rule of p, wrapping a *FieldError.
func (p Periods) Validate() error {
	if err := p.withDefaults().validate(); err != nil {
		return fmt.Errorf("noise: invalid periods: %w", err)
	}
	return nil
}

func (p Periods) validate() *FieldError {
	for _, f := range []struct {
		name string
		h    int
	}{{"Periods.Day", p.Day}, {"Periods.Evening", p.Evening}, {"Periods.Night", p.Night}} {
		if f.h < 0 || f.h > 23 {
			return fieldErr(f.name, "must be a start hour 0–23, got %d", f.h)
		}
	}
	d, e, n := p.Lengths()
	if d == 0 || e == 0 || n == 0 || d+e+n != 24 {
		return fieldErr("Periods", "day, evening and night must start at distinct hours in that cyclic order (day %02d, evening %02d, night %02d)", p.Day, p.Evening, p.Night)
	}
	return nil
}

// Lengths returns the nominal lengths of the day, evening and night periods
// in hours (12, 4 and 8 for EU); they add up to 24 for valid Periods. These
// are the weights of Lden, also on the days of a daylight-saving change.
func (p Periods) Lengths() (day, evening, night int) {
	p = p.withDefaults()
	return mod24(p.Evening - p.Day), mod24(p.Night - p.Evening), mod24(p.Day - p.Night)
}

func mod24(h int) int { return ((h % 24) + 24) % 24 }

// Of returns the period that the local wall-clock hour of t falls in: with
// EU periods 07:00 is day, 18:59 day, 19:00 evening, 23:00 night. p must be
// valid (Validate); Compute and Daily check it themselves.
func (p Periods) Of(t time.Time) Period {
	p = p.withDefaults()
	return p.ofHour(t.In(p.Location).Hour())
}

func (p Periods) ofHour(h int) Period {
	// Hours since the day starts, in the cyclic day → evening → night order.
	x := mod24(h - p.Day)
	switch {
	case x < mod24(p.Evening-p.Day):
		return Day
	case x < mod24(p.Night-p.Day):
		return Evening
	}
	return Night
}
