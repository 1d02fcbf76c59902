package air

import (
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // Europe/Rome must resolve on hosts without zoneinfo.
)

// FieldError is bad input: the field (indexed where it is an element, e.g.
// "hours[3].Value") and the rule it breaks.
type FieldError struct {
	Field string
	Rule  string
}

// Error returns "field: rule".
func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// DefaultLocation is the time zone of local days when Config has none:
// Europe/Rome.
var DefaultLocation = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("air: load time zone %s: %v", name, err))
	}
	return loc
}

// Hour is the mean concentration of one clock hour.
type Hour struct {
	// Start is when the hour begins, a whole hour.
	Start time.Time
	// Value is the hourly mean, µg/m³ (CO too, see Standard.Value).
	Value float64
}

// Config sets the data-capture rules and the time zone of local days. The
// zero value is the default of every field.
type Config struct {
	// Location is the time zone of days; nil means Europe/Rome.
	Location *time.Location
	// MinDayHours is how many hourly means a daily mean needs, and how many
	// valid 8-hour means a day's maximum needs; 0 means 18 (75 % of 24,
	// the EU data-capture rule, Directive 2008/50/EC Annexes I and VII).
	// It applies unchanged to the 23- and 25-hour days of daylight saving.
	MinDayHours int
	// Min8hHours is how many hourly means an 8-hour mean needs; 0 means 6
	// (75 % of 8).
	Min8hHours int
}

func (c Config) withDefaults() Config {
	if c.Location == nil {
		c.Location = DefaultLocation
	}
	if c.MinDayHours == 0 {
		c.MinDayHours = 18
	}
	if c.Min8hHours == 0 {
		c.Min8hHours = 6
	}
	return c
}

// Validate reports the first broken rule of c, wrapping a *FieldError.
func (c Config) Validate() error {
	if err := c.withDefaults().validate(); err != nil {
		return fmt.Errorf("air: invalid config: %w", err)
	}
	return nil
}

func (c Config) validate() *FieldError {
	if c.MinDayHours < 1 || c.MinDayHours > 24 {
		return fieldErr("Config.MinDayHours", "must be within 1..24 (0 = 18), got %d", c.MinDayHours)
	}
	if c.Min8hHours < 1 || c.Min8hHours > 8 {
		return fieldErr("Config.Min8hHours", "must be within 1..8 (0 = 6), got %d", c.Min8hHours)
	}
	return nil
}

// check validates c and hours; op names the operation for the error.
func (c Config) check(op string, hours []Hour) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("air: %s: %w", op, err)
	}
	for i, h := range hours {
		if h.Start.IsZero() {
			return fmt.Errorf("air: %s: %w", op, fieldErr(fmt.Sprintf("hours[%d].Start", i), "must be set"))
		}
		lt := h.Start.In(c.Location)
		if h.Start.Unix()%3600 != 0 || h.Start.Nanosecond() != 0 || lt.Minute() != 0 {
			return fmt.Errorf("air: %s: %w", op, fieldErr(fmt.Sprintf("hours[%d].Start", i),
				"must be a whole hour in UTC and in %s, got %s", c.Location, lt.Format(time.RFC3339Nano)))
		}
		if i > 0 && !h.Start.After(hours[i-1].Start) {
			return fmt.Errorf("air: %s: %w", op, fieldErr(fmt.Sprintf("hours[%d].Start", i),
				"must be after hours[%d].Start (strictly increasing), got %s after %s", i-1,
				h.Start.UTC().Format(time.RFC3339), hours[i-1].Start.UTC().Format(time.RFC3339)))
		}
		if math.IsNaN(h.Value) || math.IsInf(h.Value, 0) || h.Value < 0 {
			return fmt.Errorf("air: %s: %w", op, fieldErr(fmt.Sprintf("hours[%d].Value", i),
				"must be a finite concentration ≥ 0 µg/m³, got %v", h.Value))
		}
	}
	return nil
}

// DayMean is the mean of one local calendar day.
type DayMean struct {
	// Date is the local date, "2006-01-02".
	Date string
	// Mean is the mean of the day's hourly means, µg/m³.
	Mean float64
	// Hours counts the hourly means in the day (at most 23, 24 or 25).
	Hours int
	// Valid reports Hours ≥ Config.MinDayHours.
	Valid bool
}

// DailyMeans returns the mean of each local day that has data, in date
// order. Hours must be in strictly increasing order of Start.
func (c Config) DailyMeans(hours []Hour) ([]DayMean, error) {
	c = c.withDefaults()
	if err := c.check("daily means", hours); err != nil {
		return nil, err
	}
	var (
		out  []DayMean
		cur  DayMean
		date civilDate
		sum  float64
	)
	flush := func() {
		if cur.Hours > 0 {
			cur.Date = date.String()
			cur.Mean = sum / float64(cur.Hours)
			cur.Valid = cur.Hours >= c.MinDayHours
			out = append(out, cur)
		}
	}
	for _, h := range hours {
		d := dateOf(h.Start, c.Location)
		if d != date {
			flush()
			cur, date, sum = DayMean{}, d, 0
		}
		cur.Hours++
		sum += h.Value
	}
	flush()
	return out, nil
}

// DayMax8h is the maximum daily 8-hour mean of one local day.
type DayMax8h struct {
	// Date is the local date, "2006-01-02".
	Date string
	// Max is the highest valid 8-hour mean assigned to the day, µg/m³.
	Max float64
	// Windows counts the valid 8-hour means assigned to the day.
	Windows int
	// Valid reports Windows ≥ Config.MinDayHours.
	Valid bool
}

// MaxSpanHours bounds the time span of the hours given to MaxDaily8h (and so
// Assess of MaxDaily8h standards), whose memory is proportional to it: ten
// years of hours.
const MaxSpanHours = 10 * 366 * 24

// MaxDaily8h returns, for each local day with at least one valid 8-hour
// mean, the maximum of the 8-hour running means assigned to it. Following
// Directive 2008/50/EC Annex VII, running means are computed from hourly
// data and updated each hour; each is assigned to the day on which it ends,
// so a day's first window runs from 17:00 the day before to 01:00 and its
// last from 16:00 to 24:00. Windows are 8 consecutive real hours (across a
// daylight-saving change too); a window's mean is valid with at least
// Config.Min8hHours of its hours. Hours must be in strictly increasing order
// of Start.
func (c Config) MaxDaily8h(hours []Hour) ([]DayMax8h, error) {
	c = c.withDefaults()
	if err := c.check("max daily 8-h means", hours); err != nil {
		return nil, err
	}
	if len(hours) == 0 {
		return nil, nil
	}
	first := hours[0].Start.Unix() / 3600
	last := hours[len(hours)-1].Start.Unix() / 3600
	if last-first >= MaxSpanHours {
		return nil, fmt.Errorf("air: max daily 8-h means: %w", fieldErr("hours",
			"must span less than %d hours (10 years), got %d", MaxSpanHours, last-first+1))
	}
	// Windows end at slots first..last+8−Min8hHours; slot k is the hour
	// first+k. Prefix sums over slots give each window in O(1).
	n := int(last-first) + 1 + 8 - c.Min8hHours
	sum := make([]float64, n+1)
	cnt := make([]int32, n+1)
	j := 0
	for k := range n {
		sum[k+1], cnt[k+1] = sum[k], cnt[k]
		if j < len(hours) && hours[j].Start.Unix()/3600 == first+int64(k) {
			sum[k+1] += hours[j].Value
			cnt[k+1]++
			j++
		}
	}
	var (
		out  []DayMax8h
		cur  DayMax8h
		date civilDate
	)
	flush := func() {
		if cur.Windows > 0 {
			cur.Date = date.String()
			cur.Valid = cur.Windows >= c.MinDayHours
			out = append(out, cur)
		}
	}
	for k := range n {
		lo := max(0, k-7)
		nh := int(cnt[k+1] - cnt[lo])
		if nh < c.Min8hHours {
			continue
		}
		m := (sum[k+1] - sum[lo]) / float64(nh)
		// The window is assigned to the day its last hour starts in.
		d := dateOf(time.Unix((first+int64(k))*3600, 0), c.Location)
		if d != date {
			flush()
			cur, date = DayMax8h{Max: m}, d
		}
		cur.Windows++
		cur.Max = max(cur.Max, m)
	}
	flush()
	return out, nil
}

// Window is an assessment period [From, To).
type Window struct {
	From, To time.Time
}

// Year reports whether w is one year long (365 or 366 days), the period the
// allowed counts and annual values refer to.
func (w Window) Year() bool {
	d := w.To.Sub(w.From)
	return d >= 365*24*time.Hour && d <= 366*24*time.Hour
}

// Result is a standard assessed over a window.
type Result struct {
	Standard Standard
	// Exceedances counts the hours (Hourly) or valid days (Daily,
	// MaxDaily8h) strictly above Standard.Value; 0 for Annual.
	Exceedances int
	// Counted is how many hours (Hourly, Annual) or valid days (Daily,
	// MaxDaily8h) were assessed.
	Counted int
	// Mean is the mean of all hourly values in the window (Annual only),
	// µg/m³; nil otherwise or without data.
	Mean *float64
	// MeanAbove reports Mean > Standard.Value (Annual only). Over a window
	// shorter than a year it is an indication, not an assessment.
	MeanAbove bool
	// Coverage is the fraction of the window's hours that have data.
	Coverage float64
	// AllowedExceeded reports Exceedances > Standard.AllowedPerYear; nil
	// unless the window is one year (Window.Year) and the standard has an
	// allowed count. For shorter windows report the counts only.
	AllowedExceeded *bool
}

// Assess evaluates every standard of pollutant in standards (Standards if
// nil) on the hourly means of a window; hours must lie within the window, in
// strictly increasing order of Start. It does not check the EU minimum data
// capture for annual means (90 %): Coverage is reported for the caller to
// judge.
func (c Config) Assess(pollutant string, w Window, hours []Hour, standards []Standard) ([]Result, error) {
	c = c.withDefaults()
	if err := c.check("assess "+pollutant, hours); err != nil {
		return nil, err
	}
	if !w.To.After(w.From) {
		return nil, fmt.Errorf("air: assess %s: %w", pollutant, fieldErr("window.To", "must be after window.From"))
	}
	for i, h := range hours {
		if h.Start.Before(w.From) || !h.Start.Before(w.To) {
			return nil, fmt.Errorf("air: assess %s: %w", pollutant, fieldErr(fmt.Sprintf("hours[%d].Start", i),
				"must lie within the window [%s, %s), got %s", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339), h.Start.UTC().Format(time.RFC3339)))
		}
	}
	if standards == nil {
		standards = Standards
	}
	var (
		daily   []DayMean
		max8    []DayMax8h
		haveD   bool
		haveM8  bool
		results []Result
	)
	coverage := float64(len(hours)) / w.To.Sub(w.From).Hours()
	for _, s := range standards {
		if s.Pollutant != pollutant {
			continue
		}
		r := Result{Standard: s, Coverage: coverage}
		switch s.Averaging {
		case Hourly:
			for _, h := range hours {
				if h.Value > s.Value {
					r.Exceedances++
				}
			}
			r.Counted = len(hours)
		case Daily:
			if !haveD {
				daily, _ = c.DailyMeans(hours) // hours already checked
				haveD = true
			}
			for _, d := range daily {
				if d.Valid {
					r.Counted++
					if d.Mean > s.Value {
						r.Exceedances++
					}
				}
			}
		case MaxDaily8h:
			if !haveM8 {
				max8, _ = c.MaxDaily8h(hours)
				haveM8 = true
			}
			lastDay := w.To.Add(-time.Nanosecond).In(c.Location).Format(time.DateOnly)
			for _, d := range max8 {
				// Windows ending after the last hour may fall on the day
				// after the window: that day is not assessed.
				if d.Valid && d.Date <= lastDay {
					r.Counted++
					if d.Max > s.Value {
						r.Exceedances++
					}
				}
			}
		case Annual:
			r.Counted = len(hours)
			if len(hours) > 0 {
				var sum float64
				for _, h := range hours {
					sum += h.Value
				}
				m := sum / float64(len(hours))
				r.Mean = &m
				r.MeanAbove = m > s.Value
			}
		default:
			return nil, fmt.Errorf("air: assess %s: %w", pollutant, fieldErr("standards["+s.ID+"].Averaging", "must be Hourly, Daily, MaxDaily8h or Annual, got %v", s.Averaging))
		}
		if s.Averaging != Annual && s.AllowedPerYear >= 0 && w.Year() {
			ex := r.Exceedances > s.AllowedPerYear
			r.AllowedExceeded = &ex
		}
		results = append(results, r)
	}
	return results, nil
}

// civilDate is a calendar date, compared without formatting it.
type civilDate struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time, loc *time.Location) civilDate {
	var c civilDate
	c.y, c.m, c.d = t.In(loc).Date()
	return c
}

func (c civilDate) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, int(c.m), c.d) }
