package air_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/air"
)

var rome = air.DefaultLocation

func local(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, rome)
}

// series returns n consecutive hours from start with value(i, local time).
func series(start time.Time, n int, value func(i int, lt time.Time) float64) []air.Hour {
	out := make([]air.Hour, n)
	for i := range out {
		t := start.Add(time.Duration(i) * time.Hour).UTC()
		out[i] = air.Hour{Start: t, Value: value(i, t.In(rome))}
	}
	return out
}

// without returns hours minus those whose local time satisfies drop.
func without(hours []air.Hour, drop func(lt time.Time) bool) []air.Hour {
	var out []air.Hour
	for _, h := range hours {
		if !drop(h.Start.In(rome)) {
			out = append(out, h)
		}
	}
	return out
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

func wantField(t *testing.T, err error, field, rule string) {
	t.Helper()
	var fe *air.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want an *air.FieldError for %s", err, field)
	}
	if fe.Field != field || !strings.Contains(fe.Rule, rule) {
		t.Fatalf("error %q: field %q rule %q, want field %q with %q", err, fe.Field, fe.Rule, field, rule)
	}
	if !strings.HasPrefix(err.Error(), "air: ") {
		t.Errorf("error %q should name the package and the operation", err)
	}
}

func TestDailyMeansCoverage(t *testing.T) {
	hourValue := func(_ int, lt time.Time) float64 { return float64(lt.Hour()) }
	all := series(local(2025, 6, 15, 0), 72, hourValue)
	// 15 June: all 24 hours; 16 June: hours 00–16 (17); 17 June: 00–17 (18).
	hours := without(all, func(lt time.Time) bool {
		return lt.Day() == 16 && lt.Hour() > 16 || lt.Day() == 17 && lt.Hour() > 17
	})
	got, err := air.Config{}.DailyMeans(hours)
	if err != nil {
		t.Fatal(err)
	}
	// Means of 0..23 = 11.5, of 0..16 = 8, of 0..17 = 8.5.
	want := []air.DayMean{
		{Date: "2025-06-15", Mean: 11.5, Hours: 24, Valid: true},
		{Date: "2025-06-16", Mean: 8, Hours: 17, Valid: false},
		{Date: "2025-06-17", Mean: 8.5, Hours: 18, Valid: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("day %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// With a 17-hour rule the 16th counts.
	got, _ = air.Config{MinDayHours: 17}.DailyMeans(hours)
	if !got[1].Valid {
		t.Errorf("MinDayHours 17: %+v should be valid", got[1])
	}
	// Days are local: in UTC the first hour (22:00Z on the 14th) is the 14th.
	got, _ = air.Config{Location: time.UTC}.DailyMeans(hours)
	if got[0].Date != "2025-06-14" || got[0].Hours != 2 {
		t.Errorf("UTC days: first %+v, want 2025-06-14 with 2 hours", got[0])
	}
}

func TestDailyMeansDST(t *testing.T) {
	ten := func(int, time.Time) float64 { return 10 }
	// 30 March 2025 (spring forward) has 23 hours, 26 October (fall back) 25.
	for _, c := range []struct {
		start time.Time
		n     int
	}{{local(2025, 3, 30, 0), 23}, {local(2025, 10, 26, 0), 25}} {
		got, err := air.Config{}.DailyMeans(series(c.start, c.n, ten))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Hours != c.n || got[0].Date != c.start.Format(time.DateOnly) || !got[0].Valid || got[0].Mean != 10 {
			t.Errorf("%s: %+v, want one valid day of %d hours", c.start.Format(time.DateOnly), got, c.n)
		}
	}
}

// o3Hours: 14 June at 40 µg/m³, 15 June at 20 except 10:00–13:00 at 100.
func o3Hours() []air.Hour {
	return series(local(2025, 6, 14, 0), 48, func(_ int, lt time.Time) float64 {
		switch {
		case lt.Day() == 14:
			return 40
		case lt.Hour() >= 10 && lt.Hour() <= 13:
			return 100
		}
		return 20
	})
}

func TestMaxDaily8h(t *testing.T) {
	got, err := air.Config{}.MaxDaily8h(o3Hours())
	if err != nil {
		t.Fatal(err)
	}
	// 14 June: windows ending with hours 05..23 have ≥ 6 hours (the series
	// starts at 00:00): 19 windows, all at 40.
	// 15 June: 24 windows; the first (17:00 on the 14th → 01:00) is
	// (7·40 + 20)/8 = 37.5; those holding 10–13 hold 4·100 + 4·20: 60.
	// 16 June: windows ending 00:00 and 01:00 have 7 and 6 hours at 20:
	// 2 windows, not a valid day.
	want := []air.DayMax8h{
		{Date: "2025-06-14", Max: 40, Windows: 19, Valid: true},
		{Date: "2025-06-15", Max: 60, Windows: 24, Valid: true},
		{Date: "2025-06-16", Max: 20, Windows: 2, Valid: false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("day %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestMaxDaily8hGaps(t *testing.T) {
	// Drop 15 June 10:00 and 11:00 (two of the 100s).
	hours := without(o3Hours(), func(lt time.Time) bool { return lt.Day() == 15 && (lt.Hour() == 10 || lt.Hour() == 11) })
	got, err := air.Config{}.MaxDaily8h(hours)
	if err != nil {
		t.Fatal(err)
	}
	// Windows holding 10 and 11 keep 6 hours and stay valid; the highest
	// hold 12, 13 and four 20s: (2·100 + 4·20)/6 = 280/6 = 46.667.
	d := got[1]
	if d.Date != "2025-06-15" || d.Windows != 24 || !d.Valid {
		t.Fatalf("15 June: %+v", d)
	}
	near(t, "max 8-h with gaps", d.Max, 280.0/6, 1e-9)

	// Needing 7 hours per window, the 7 windows holding both gaps (ending
	// 11..17) are invalid: 17 windows left, not a valid day. The best left
	// ends at 18:00 (11..18, 12..18 present): (2·100 + 5·20)/7 = 300/7.
	got, _ = air.Config{Min8hHours: 7}.MaxDaily8h(hours)
	d = got[1]
	if d.Windows != 17 || d.Valid {
		t.Fatalf("Min8hHours 7: %+v, want 17 windows, invalid", d)
	}
	near(t, "max 8-h 7 of 8", d.Max, 300.0/7, 1e-9)
}

func TestMaxDaily8hDST(t *testing.T) {
	twenty := func(int, time.Time) float64 { return 20 }
	// From 29 March 00:00 to 31 March 23:00: 30 March has 23 windows.
	hours := series(local(2025, 3, 29, 0), 24+23+24, twenty)
	got, err := air.Config{}.MaxDaily8h(hours)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Date != "2025-03-30" || got[1].Windows != 23 || !got[1].Valid || got[1].Max != 20 {
		t.Errorf("30 March: %+v, want 23 valid windows", got[1])
	}
	// 26 October has 25.
	hours = series(local(2025, 10, 25, 0), 24+25+24, twenty)
	got, _ = air.Config{}.MaxDaily8h(hours)
	if got[1].Date != "2025-10-26" || got[1].Windows != 25 {
		t.Errorf("26 October: %+v, want 25 windows", got[1])
	}
}

func TestSeriesErrors(t *testing.T) {
	h := local(2025, 6, 15, 9)
	for _, c := range []struct {
		hours       []air.Hour
		field, rule string
	}{
		{[]air.Hour{{Start: h, Value: 1}, {Start: h.Add(30 * time.Minute), Value: 1}}, "hours[1].Start", "whole hour"},
		{[]air.Hour{{Start: h, Value: 1}, {Start: h, Value: 2}}, "hours[1].Start", "strictly increasing"},
		{[]air.Hour{{Start: h, Value: -1}}, "hours[0].Value", "≥ 0"},
		{[]air.Hour{{Start: h, Value: math.Inf(1)}}, "hours[0].Value", "finite"},
		{[]air.Hour{{Value: 1}}, "hours[0].Start", "must be set"},
	} {
		_, err := air.Config{}.DailyMeans(c.hours)
		wantField(t, err, c.field, c.rule)
		_, err = air.Config{}.MaxDaily8h(c.hours)
		wantField(t, err, c.field, c.rule)
	}
	// Hours far apart would need a slot per hour in between.
	far := []air.Hour{{Start: local(2000, 1, 1, 0)}, {Start: local(2025, 1, 1, 0)}}
	_, err := air.Config{}.MaxDaily8h(far)
	wantField(t, err, "hours", "10 years")
	if _, err := (air.Config{}).DailyMeans(far); err != nil {
		t.Errorf("daily means of sparse hours: %v", err)
	}
	wantField(t, air.Config{MinDayHours: 25}.Validate(), "Config.MinDayHours", "1..24")
	wantField(t, air.Config{Min8hHours: -1}.Validate(), "Config.Min8hHours", "1..8")
	_, err = air.Config{Min8hHours: 9}.MaxDaily8h(nil)
	wantField(t, err, "Config.Min8hHours", "1..8")
}

func TestStandardsTable(t *testing.T) {
	aq := twin.KnownTypes["AirQualityObserved"].Attrs
	seen := map[string]bool{}
	unverified := 0
	for _, s := range air.Standards {
		if seen[s.ID] {
			t.Errorf("duplicate id %s", s.ID)
		}
		seen[s.ID] = true
		if _, ok := aq[s.Pollutant]; !ok {
			t.Errorf("%s: pollutant %q is not an AirQualityObserved attribute of twin.KnownTypes", s.ID, s.Pollutant)
		}
		if aq[s.Pollutant].Unit != "µg/m³" {
			t.Errorf("%s: twin stores %s in %q, the table assumes µg/m³", s.ID, s.Pollutant, aq[s.Pollutant].Unit)
		}
		if !(s.Value > 0) || s.Source == "" || s.Averaging < air.Hourly || s.Averaging > air.Annual {
			t.Errorf("%s: incomplete %+v", s.ID, s)
		}
		if (s.Averaging == air.Annual) != (s.AllowedPerYear == air.NoAllowance) {
			t.Errorf("%s: annual means and only they have NoAllowance: %+v", s.ID, s)
		}
		if !s.Verified {
			unverified++
			if s.Note == "" {
				t.Errorf("%s: unverified without a note", s.ID)
			}
		}
	}
	// domain.md §6: the 2024/2881 counts (PM2.5, PM10, NO2 daily 18; NO2
	// hourly 3) are unverified, and the WHO SO2 value is disputed.
	if unverified != 5 {
		t.Errorf("%d unverified standards, want 5", unverified)
	}
	// CO in µg/m³: 10 mg/m³ and 4 mg/m³.
	if s := air.StandardsFor(air.CO); len(s) != 2 || s[0].Value != 10000 || s[1].Value != 4000 {
		t.Errorf("CO standards %+v", s)
	}
	if s := air.StandardsFor(air.NO2); len(s) != 7 {
		t.Errorf("NO2 has %d standards, want 7", len(s))
	}
}
