package noise_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/noise"
)

var rome = noise.DefaultLocation

// local returns the instant of a Europe/Rome wall-clock time.
func local(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, rome)
}

// series returns n consecutive hours from start with level(local hour).
func series(start time.Time, n int, level func(h int) float64) []noise.Hour {
	out := make([]noise.Hour, n)
	for i := range out {
		t := start.Add(time.Duration(i) * time.Hour).UTC()
		out[i] = noise.Hour{Start: t, LAeq: level(t.In(rome).Hour())}
	}
	return out
}

func TestPeriodsOf(t *testing.T) {
	for _, c := range []struct {
		p    noise.Periods
		hour int
		want noise.Period
	}{
		{noise.Periods{}, 6, noise.Night}, {noise.Periods{}, 7, noise.Day}, {noise.Periods{}, 18, noise.Day},
		{noise.Periods{}, 19, noise.Evening}, {noise.Periods{}, 22, noise.Evening}, {noise.Periods{}, 23, noise.Night},
		{noise.Periods{}, 0, noise.Night},
		{noise.Italy, 5, noise.Night}, {noise.Italy, 6, noise.Day}, {noise.Italy, 19, noise.Day},
		{noise.Italy, 20, noise.Evening}, {noise.Italy, 21, noise.Evening}, {noise.Italy, 22, noise.Night},
		// Periods that wrap differently: night 00–08, day 08–18, evening 18–24.
		{noise.Periods{Day: 8, Evening: 18, Night: 0}, 23, noise.Evening},
		{noise.Periods{Day: 8, Evening: 18, Night: 0}, 0, noise.Night},
	} {
		tm := local(2025, 6, 15, c.hour)
		if got := c.p.Of(tm); got != c.want {
			t.Errorf("%+v.Of(%02d:00) = %v, want %v", c.p, c.hour, got, c.want)
		}
	}
	// 05:00Z on 15 June is 07:00 CEST: day, whatever the value's zone.
	if got := noise.EU.Of(time.Date(2025, 6, 15, 5, 0, 0, 0, time.UTC)); got != noise.Day {
		t.Errorf("05:00Z in June = %v, want day (07:00 CEST)", got)
	}
	// In UTC the same instant is 05:00: night.
	if got := (noise.Periods{Location: time.UTC}).Of(time.Date(2025, 6, 15, 5, 0, 0, 0, time.UTC)); got != noise.Night {
		t.Errorf("05:00 UTC with UTC periods = %v, want night", got)
	}
}

func TestPeriodsLengths(t *testing.T) {
	for _, c := range []struct {
		p       noise.Periods
		d, e, n int
	}{
		{noise.Periods{}, 12, 4, 8}, {noise.EU, 12, 4, 8}, {noise.Italy, 14, 2, 8},
		{noise.Periods{Day: 8, Evening: 18, Night: 0}, 10, 6, 8},
	} {
		d, e, n := c.p.Lengths()
		if d != c.d || e != c.e || n != c.n {
			t.Errorf("%+v.Lengths() = %d,%d,%d, want %d,%d,%d", c.p, d, e, n, c.d, c.e, c.n)
		}
		if err := c.p.Validate(); err != nil {
			t.Errorf("%+v: %v", c.p, err)
		}
	}
}

func TestPeriodsValidate(t *testing.T) {
	wantField(t, noise.Periods{Day: 24, Evening: 19, Night: 23}.Validate(), "Periods.Day", "0–23")
	wantField(t, noise.Periods{Day: 7, Evening: -1, Night: 23}.Validate(), "Periods.Evening", "0–23")
	wantField(t, noise.Periods{Day: 7, Evening: 7, Night: 23}.Validate(), "Periods", "distinct")
	// Evening before day in the cycle: day 07, evening 23, night 19.
	wantField(t, noise.Periods{Day: 7, Evening: 23, Night: 19}.Validate(), "Periods", "cyclic order")
	_, err := noise.Periods{Day: 7, Evening: 23, Night: 19}.Compute(nil)
	wantField(t, err, "Periods", "cyclic order")
}

// euSeries is 60 dB(A) in the EU day and evening (07–23) and 50 at night.
func euSeries(h int) float64 {
	if h >= 7 && h < 23 {
		return 60
	}
	return 50
}

// itSeries is 60 dB(A) in the Italian day and evening (06–22) and 50 at night.
func itSeries(h int) float64 {
	if h >= 6 && h < 22 {
		return 60
	}
	return 50
}

func TestComputeEU(t *testing.T) {
	hours := series(local(2025, 6, 15, 0), 24, euSeries)
	got, err := noise.Periods{}.Compute(hours)
	if err != nil {
		t.Fatal(err)
	}
	// Lden = 10·lg((12·10^6 + 4·10^6.5 + 8·10^6)/24)
	//      = 10·lg((12 000 000 + 12 649 110.64 + 8 000 000)/24)
	//      = 10·lg(1 360 379.61) = 61.3366 dB(A).
	near(t, "Lden", *got.Lden, 61.33660113911478, 1e-9)
	near(t, "Lday", *got.Day.Level, 60, 1e-9)
	near(t, "Levening", *got.Evening.Level, 60, 1e-9)
	near(t, "Lnight", *got.Night.Level, 50, 1e-9)
	if got.Day.Hours != 12 || got.Evening.Hours != 4 || got.Night.Hours != 8 {
		t.Errorf("hours %d/%d/%d, want 12/4/8", got.Day.Hours, got.Evening.Hours, got.Night.Hours)
	}
	near(t, "Lden formula", noise.Lden(60, 60, 50, 12, 4, 8), 61.33660113911478, 1e-9)
}

func TestComputeItaly(t *testing.T) {
	got, err := noise.Italy.Compute(series(local(2025, 6, 15, 0), 24, itSeries))
	if err != nil {
		t.Fatal(err)
	}
	// Italian periods 06–20, 20–22, 22–06 weigh 14, 2, 8 hours:
	// Lden = 10·lg((14·10^6 + 2·10^6.5 + 8·10^6)/24)
	//      = 10·lg((14 000 000 + 6 324 555.32 + 8 000 000)/24)
	//      = 10·lg(1 180 189.81) = 60.7195 dB(A).
	near(t, "Lden", *got.Lden, 60.71951858697089, 1e-9)
	if got.Day.Hours != 14 || got.Evening.Hours != 2 || got.Night.Hours != 8 {
		t.Errorf("hours %d/%d/%d, want 14/2/8", got.Day.Hours, got.Evening.Hours, got.Night.Hours)
	}

	// The EU-shaped series under the Italian periods:
	// day 06–20: 06 at 50, 07–19 at 60 → 10·lg((10^5 + 13·10^6)/14) = 59.7114;
	// evening 20–22 at 60; night 22–06: 22 at 60, 23–05 at 50 →
	// 10·lg((10^6 + 7·10^5)/8) = 10·lg(212 500) = 53.2736;
	// Lden = 10·lg((13 100 000 + 6 324 555.32 + 8·2 125 000)/24)
	//      = 10·lg(1 517 689.81) = 61.8118 dB(A).
	got, err = noise.Italy.Compute(series(local(2025, 6, 15, 0), 24, euSeries))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Lday", *got.Day.Level, 59.711432599775264, 1e-9)
	near(t, "Levening", *got.Evening.Level, 60, 1e-9)
	near(t, "Lnight", *got.Night.Level, 53.27358934386331, 1e-9)
	near(t, "Lden", *got.Lden, 61.81183016792116, 1e-9)
}

func TestComputeCoverageAndGaps(t *testing.T) {
	hours := []noise.Hour{
		{Start: local(2025, 6, 15, 9), LAeq: 60},                 // full hour
		{Start: local(2025, 6, 15, 10), LAeq: 70, Coverage: 0.5}, // half an hour measured
	}
	got, err := noise.EU.Compute(hours)
	if err != nil {
		t.Fatal(err)
	}
	// (1·10^6 + 0.5·10^7)/1.5 = 4·10^6 → 66.0206 dB(A).
	near(t, "Lday", *got.Day.Level, 66.02059991327963, 1e-9)
	near(t, "Covered", got.Day.Covered, 1.5, 1e-12)
	if got.Day.Hours != 2 {
		t.Errorf("day hours %d, want 2", got.Day.Hours)
	}
	if got.Lden != nil || got.Night.Level != nil || got.Evening.Level != nil || got.Night.Hours != 0 {
		t.Errorf("without evening and night data: %+v, want nil Lden and nil period levels", got)
	}
	none, err := noise.EU.Compute(nil)
	if err != nil || none.Lden != nil || none.Day.Level != nil {
		t.Errorf("no hours: %+v, %v", none, err)
	}
}

func TestComputeBadHours(t *testing.T) {
	h := local(2025, 6, 15, 9)
	for _, c := range []struct {
		hours       []noise.Hour
		field, rule string
	}{
		{[]noise.Hour{{Start: h, LAeq: 60}, {Start: h.Add(90 * time.Minute), LAeq: 60}}, "hours[1].Start", "whole hour"},
		{[]noise.Hour{{Start: h, LAeq: 60}, {Start: h, LAeq: 61}}, "hours[1].Start", "strictly increasing"},
		{[]noise.Hour{{Start: h.Add(time.Hour), LAeq: 60}, {Start: h, LAeq: 61}}, "hours[1].Start", "strictly increasing"},
		{[]noise.Hour{{Start: h, LAeq: math.NaN()}}, "hours[0].LAeq", "0..200"},
		{[]noise.Hour{{Start: h, LAeq: -3}}, "hours[0].LAeq", "0..200"},
		{[]noise.Hour{{Start: h, LAeq: 60, Coverage: 1.5}}, "hours[0].Coverage", "0..1"},
		{[]noise.Hour{{LAeq: 60}}, "hours[0].Start", "must be set"},
	} {
		_, err := noise.EU.Compute(c.hours)
		wantField(t, err, c.field, c.rule)
	}
}

// TestDailyDST runs 48 hours from 29 March 2025 00:00 in Rome across the
// switch to summer time (30 March 02:00 → 03:00, a 23-hour day).
func TestDailyDST(t *testing.T) {
	start := local(2025, 3, 29, 0)
	hours := series(start, 48, euSeries)

	// The local calendar day of 30 March has 23 hours.
	n := 0
	for _, h := range hours {
		if h.Start.In(rome).Day() == 30 {
			n++
		}
	}
	if n != 23 {
		t.Fatalf("30 March 2025 has %d hours in the series, want 23", n)
	}
	if got := local(2025, 3, 31, 0).Sub(local(2025, 3, 30, 0)); got != 23*time.Hour {
		t.Fatalf("30 March 2025 in Rome lasts %v, want 23h", got)
	}

	days, err := noise.EU.Daily(hours)
	if err != nil {
		t.Fatal(err)
	}
	// Lden days run 07:00 → 07:00 and take the date they begin on:
	// 28 March: 29 March 00–06 (7 night hours);
	// 29 March: 07:00 on the 29th to 07:00 on the 30th, 23 hours, its night
	//           23,00,01,03,04,05,06 has 7 hours (02:00 does not exist);
	// 30 March: 07:00 on the 30th to 00:00 on the 31st, 18 hours (16 day and
	//           evening, night 23 and 00).
	want := []struct {
		date    string
		d, e, n int
	}{{"2025-03-28", 0, 0, 7}, {"2025-03-29", 12, 4, 7}, {"2025-03-30", 12, 4, 2}}
	if len(days) != len(want) {
		t.Fatalf("got %d days %+v, want %d", len(days), days, len(want))
	}
	for i, w := range want {
		d := days[i]
		if d.Date != w.date || d.Day.Hours != w.d || d.Evening.Hours != w.e || d.Night.Hours != w.n {
			t.Errorf("day %d: %s %d/%d/%d, want %s %d/%d/%d", i, d.Date, d.Day.Hours, d.Evening.Hours, d.Night.Hours, w.date, w.d, w.e, w.n)
		}
	}
	// The full Lden day keeps the nominal weights: same Lden as a normal day.
	near(t, "Lden 29 March", *days[1].Lden, 61.33660113911478, 1e-9)
	if days[0].Lden != nil {
		t.Errorf("28 March has only night hours, Lden %v, want nil", *days[0].Lden)
	}
}

// TestLdenMonotone: Lden increases with each period level.
func TestLdenMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		d, e, n := 30+60*r.Float64(), 30+60*r.Float64(), 30+60*r.Float64()
		step := 0.01 + 5*r.Float64()
		base := noise.Lden(d, e, n, 12, 4, 8)
		for i, up := range []float64{
			noise.Lden(d+step, e, n, 12, 4, 8),
			noise.Lden(d, e+step, n, 12, 4, 8),
			noise.Lden(d, e, n+step, 12, 4, 8),
		} {
			if !(up > base) {
				t.Fatalf("Lden(%v,%v,%v) = %v not increased by +%v on input %d: %v", d, e, n, base, step, i, up)
			}
		}
		// A constant level L everywhere gives L + 10·lg((12 + 4·10^0.5 + 8·10)/24).
		near(t, "Lden constant", noise.Lden(d, d, d, 12, 4, 8), d+10*math.Log10((12+4*math.Sqrt(10)+80)/24), 1e-9)
	}
}
