package noise

import (
	"fmt"
	"math"
	"time"
)

// DPCMClass is an acoustic class of Italy's DPCM 14/11/1997 with its values
// in dB(A) LAeq for the DPCM day (06–22) and night (22–06) periods
// (reference/domain.md §5).
type DPCMClass struct {
	// Class is the Roman numeral I–VI; Name the class in words.
	Class, Name string
	// EmissionDay/Night are the emission values (one source), dB(A).
	EmissionDay, EmissionNight float64
	// ImmissionDay/Night are the absolute immission limits (all sources,
	// at the receiver), dB(A): the limits of Limit.
	ImmissionDay, ImmissionNight float64
	// QualityDay/Night are the quality targets, dB(A).
	QualityDay, QualityNight float64
	// Verified reports whether domain.md verified the row against a source
	// (classes I–II); the others were recalled from the DPCM tables B/C/D.
	Verified bool
}

// DPCMClasses are the six acoustic classes of DPCM 14/11/1997, Tab. B
// (emission), C (immission) and D (quality), as reference/domain.md §5 gives
// them. Classes III–VI are unverified there. Road infrastructure has its own
// bands (DPR 142/2004) where these zone limits do not apply.
var DPCMClasses = [6]DPCMClass{
	{Class: "I", Name: "particularly protected areas", EmissionDay: 45, EmissionNight: 35, ImmissionDay: 50, ImmissionNight: 40, QualityDay: 47, QualityNight: 37, Verified: true},
	{Class: "II", Name: "mainly residential areas", EmissionDay: 50, EmissionNight: 40, ImmissionDay: 55, ImmissionNight: 45, QualityDay: 52, QualityNight: 42, Verified: true},
	{Class: "III", Name: "mixed areas", EmissionDay: 55, EmissionNight: 45, ImmissionDay: 60, ImmissionNight: 50, QualityDay: 57, QualityNight: 47},
	{Class: "IV", Name: "areas of intense human activity", EmissionDay: 60, EmissionNight: 50, ImmissionDay: 65, ImmissionNight: 55, QualityDay: 62, QualityNight: 52},
	{Class: "V", Name: "mainly industrial areas", EmissionDay: 65, EmissionNight: 55, ImmissionDay: 70, ImmissionNight: 60, QualityDay: 67, QualityNight: 57},
	{Class: "VI", Name: "exclusively industrial areas", EmissionDay: 65, EmissionNight: 65, ImmissionDay: 70, ImmissionNight: 70, QualityDay: 70, QualityNight: 70},
}

// Limit returns the class's immission limits with the DPCM periods.
func (c DPCMClass) Limit() Limit {
	return Limit{Day: c.ImmissionDay, Night: c.ImmissionNight, DayStart: 6, NightStart: 22}
}

// Limit is a day and a night limit on hourly LAeq with its own day/night
// split. The zero value means DPCM 14/11/1997 class IV immission limits
// (65 dB(A) day, 55 dB(A) night) with the DPCM periods (day 06–22, night
// 22–06) in Europe/Rome; each zero field takes its default (0 dB is never a
// limit; DayStart and NightStart take 6 and 22 only when both are zero).
type Limit struct {
	// Day and Night are the limits, dB(A).
	Day, Night float64
	// DayStart and NightStart are local whole hours 0–23.
	DayStart, NightStart int
	// Location is the time zone of the split; nil means Europe/Rome.
	Location *time.Location
}

func (l Limit) withDefaults() Limit {
	if l.Day == 0 {
		l.Day = 65
	}
	if l.Night == 0 {
		l.Night = 55
	}
	if l.DayStart == 0 && l.NightStart == 0 {
		l.DayStart, l.NightStart = 6, 22
	}
	if l.Location == nil {
		l.Location = DefaultLocation
	}
	return l
}

// Validate reports the first broken rule of l, wrapping a *FieldError.
func (l Limit) Validate() error {
	if err := l.withDefaults().validate(); err != nil {
		return fmt.Errorf("noise: invalid limit: %w", err)
	}
	return nil
}

func (l Limit) validate() *FieldError {
	for _, f := range []struct {
		name string
		v    float64
	}{{"Limit.Day", l.Day}, {"Limit.Night", l.Night}} {
		if math.IsNaN(f.v) || f.v <= 0 || f.v > 200 {
			return fieldErr(f.name, "must be a level within 0..200 dB(A) (0 = default), got %v", f.v)
		}
	}
	if l.DayStart < 0 || l.DayStart > 23 {
		return fieldErr("Limit.DayStart", "must be a start hour 0–23, got %d", l.DayStart)
	}
	if l.NightStart < 0 || l.NightStart > 23 {
		return fieldErr("Limit.NightStart", "must be a start hour 0–23, got %d", l.NightStart)
	}
	if l.DayStart == l.NightStart {
		return fieldErr("Limit.NightStart", "must differ from DayStart (%d)", l.DayStart)
	}
	return nil
}

// isNight reports whether local hour h is in the night of l.
func (l Limit) isNight(h int) bool {
	return mod24(h-l.NightStart) < mod24(l.DayStart-l.NightStart)
}

// Exceedances counts the hours above a Limit.
type Exceedances struct {
	// DayHours and NightHours count the hours with data in each period.
	DayHours, NightHours int
	// DayAbove and NightAbove count those whose LAeq is strictly above
	// the period's limit.
	DayAbove, NightAbove int
}

// HoursAbove counts the hours whose LAeq exceeds the limit of the period its
// local start hour falls in; hours must be in strictly increasing order of
// Start, and coverage is not used. The DPCM limits apply to the Leq of the
// whole period, so an hour above the limit is an indicator, not a breach:
// the period Leq may still comply.
func (l Limit) HoursAbove(hours []Hour) (Exceedances, error) {
	l = l.withDefaults()
	if err := l.validate(); err != nil {
		return Exceedances{}, fmt.Errorf("noise: count hours above limit: %w", err)
	}
	if err := checkHours(hours, l.Location); err != nil {
		return Exceedances{}, fmt.Errorf("noise: count hours above limit: %w", err)
	}
	var ex Exceedances
	for _, h := range hours {
		if l.isNight(h.Start.In(l.Location).Hour()) {
			ex.NightHours++
			if h.LAeq > l.Night {
				ex.NightAbove++
			}
		} else {
			ex.DayHours++
			if h.LAeq > l.Day {
				ex.DayAbove++
			}
		}
	}
	return ex, nil
}
