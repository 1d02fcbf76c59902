package air_test

import (
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/air"
)

func byID(t *testing.T, rs []air.Result) map[string]air.Result {
	t.Helper()
	m := map[string]air.Result{}
	for _, r := range rs {
		m[r.Standard.ID] = r
	}
	return m
}

func TestAssessNO2ThreeDays(t *testing.T) {
	from := local(2025, 1, 1, 0)
	w := air.Window{From: from, To: from.Add(72 * time.Hour)}
	// Day 1: 5 hours at 210, 2 at 250, 1 at 200, 16 at 30; days 2 and 3 at 30; day 3
	// keeps only its first 17 hours.
	all := series(from, 72, func(i int, _ time.Time) float64 {
		switch {
		case i >= 8 && i < 13:
			return 210
		case i == 17 || i == 18:
			return 250
		case i == 20:
			return 200 // equal to the hourly limit: not above
		}
		return 30
	})
	hours := without(all, func(lt time.Time) bool { return lt.Day() == 3 && lt.Hour() >= 17 })
	rs, err := air.Config{}.Assess(air.NO2, w, hours, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 7 {
		t.Fatalf("%d results, want the 7 NO2 standards", len(rs))
	}
	got := byID(t, rs)

	// Hourly 200: 5 + 2 = 7 hours above, of 65.
	for _, id := range []string{"eu2008-no2-1h", "eu2024-no2-1h"} {
		if r := got[id]; r.Exceedances != 7 || r.Counted != 65 || r.AllowedExceeded != nil {
			t.Errorf("%s: %+v, want 7 of 65 and no verdict (3 days is not a year)", id, r)
		}
	}
	// Daily means: day 1 = (5·210 + 2·250 + 200 + 16·30)/24 = 2230/24 = 92.92;
	// day 2 = 30; day 3 has 17 hours: not valid.
	// EU 2024 daily 50: day 1 only. WHO daily 25: days 1 and 2.
	if r := got["eu2024-no2-24h"]; r.Exceedances != 1 || r.Counted != 2 {
		t.Errorf("eu2024-no2-24h: %+v, want 1 of 2 valid days", r)
	}
	if r := got["who2021-no2-24h"]; r.Exceedances != 2 || r.Counted != 2 {
		t.Errorf("who2021-no2-24h: %+v, want 2 of 2 valid days", r)
	}
	// Period mean = (2230 + 24·30 + 17·30)/65 = 3460/65 = 53.231: above 40,
	// 20 and 10. Coverage 65/72.
	for _, id := range []string{"eu2008-no2-year", "eu2024-no2-year", "who2021-no2-year"} {
		r := got[id]
		if r.Mean == nil || !r.MeanAbove || r.Exceedances != 0 || r.Counted != 65 {
			t.Fatalf("%s: %+v", id, r)
		}
		near(t, id+" mean", *r.Mean, 3460.0/65, 1e-9)
		near(t, id+" coverage", r.Coverage, 65.0/72, 1e-12)
	}
}

func TestAssessPM10Year(t *testing.T) {
	from := local(2025, 1, 1, 0)
	w := air.Window{From: from, To: local(2026, 1, 1, 0)}
	if !w.Year() || w.To.Sub(w.From) != 8760*time.Hour {
		t.Fatalf("2025 in Rome is %v, want a year of 8760 h", w.To.Sub(w.From))
	}
	// The first 35 local days at 60 µg/m³, the other 330 at 20.
	hours := series(from, 8760, func(_ int, lt time.Time) float64 {
		if lt.YearDay() <= 35 {
			return 60
		}
		return 20
	})
	rs, err := air.Config{}.Assess(air.PM10, w, hours, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byID(t, rs)
	// 35 days above 50 (EU 2008: 35 allowed → not exceeded), above 45 (EU
	// 2024: 18 allowed → exceeded; WHO: 3 allowed → exceeded).
	for id, want := range map[string]bool{"eu2008-pm10-24h": false, "eu2024-pm10-24h": true, "who2021-pm10-24h": true} {
		r := got[id]
		if r.Exceedances != 35 || r.Counted != 365 || r.AllowedExceeded == nil || *r.AllowedExceeded != want {
			t.Errorf("%s: %+v, want 35 of 365 days, allowed count exceeded = %v", id, r, want)
		}
	}
	// Annual mean = (35·60 + 330·20)/365 = 8700/365 = 23.836: below 40,
	// above 20 and 15.
	for id, above := range map[string]bool{"eu2008-pm10-year": false, "eu2024-pm10-year": true, "who2021-pm10-year": true} {
		r := got[id]
		near(t, id+" mean", *r.Mean, 8700.0/365, 1e-9)
		if r.MeanAbove != above || r.AllowedExceeded != nil {
			t.Errorf("%s: %+v, want MeanAbove %v", id, r, above)
		}
	}
	// One more day above 50 exceeds the EU 2008 allowance.
	hours = series(from, 8760, func(_ int, lt time.Time) float64 {
		if lt.YearDay() <= 36 {
			return 60
		}
		return 20
	})
	rs, _ = air.Config{}.Assess(air.PM10, w, hours, air.StandardsFor(air.PM10)[:1])
	if len(rs) != 1 || rs[0].Exceedances != 36 || !*rs[0].AllowedExceeded {
		t.Errorf("36 days: %+v", rs)
	}
}

func TestAssessO3(t *testing.T) {
	// o3Hours: 14 June max 40 (valid), 15 June max 60 (valid), 16 June two
	// windows (not valid, and outside the window anyway). A custom 50 µg/m³
	// standard is exceeded on the 15th only.
	w := air.Window{From: local(2025, 6, 14, 0), To: local(2025, 6, 16, 0)}
	std := air.Standard{ID: "test-o3", Source: "test", Pollutant: air.O3, Averaging: air.MaxDaily8h, Value: 50, AllowedPerYear: 0}
	rs, err := air.Config{MinDayHours: 1}.Assess(air.O3, w, o3Hours(), []air.Standard{std})
	if err != nil {
		t.Fatal(err)
	}
	// With MinDayHours 1 the 16th (2 windows, max 20) would be valid, but
	// it lies after the window: 2 days counted.
	if len(rs) != 1 || rs[0].Exceedances != 1 || rs[0].Counted != 2 || rs[0].AllowedExceeded != nil {
		t.Fatalf("o3: %+v", rs)
	}
}

func TestAssessErrors(t *testing.T) {
	from := local(2025, 1, 1, 0)
	w := air.Window{From: from, To: from.Add(24 * time.Hour)}
	_, err := air.Config{}.Assess(air.NO2, w, []air.Hour{{Start: from.Add(24 * time.Hour), Value: 1}}, nil)
	wantField(t, err, "hours[0].Start", "within the window")
	_, err = air.Config{}.Assess(air.NO2, air.Window{From: from, To: from}, nil, nil)
	wantField(t, err, "window.To", "after window.From")
	_, err = air.Config{}.Assess(air.NO2, w, nil, []air.Standard{{ID: "x", Pollutant: air.NO2, Value: 1}})
	wantField(t, err, "standards[x].Averaging", "must be")
	if err != nil && !strings.Contains(err.Error(), "assess no2") {
		t.Errorf("error %q should name the operation", err)
	}
	// No data: counts are zero, the annual mean is absent.
	rs, err := air.Config{}.Assess(air.NO2, w, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Exceedances != 0 || r.Counted != 0 || r.Mean != nil || r.Coverage != 0 {
			t.Errorf("no data: %+v", r)
		}
	}
}
