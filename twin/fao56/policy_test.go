package fao56_test

import (
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/fao56"
)

// TestRainSkipVersusFixed: every 2 days (days 0, 2, 4), 15 mm, Dr0 20,
// ET0 5 (ETc 4), rain 14 mm on day 2 and 3 mm on day 4.
//
// Fixed:
//
//	day 0: 20 − 15 + 4 = 9
//	day 1: 9 + 4 = 13
//	day 2: 13 − 14 − 15 + 4 = −12 → DP 12, 0
//	day 3: 0 + 4 = 4
//	day 4: 4 − 3 − 15 + 4 = −10 → DP 10, 0          45 mm, 3 events, DP 22
//
// Rain-skip (skip when rain > 0 and rain ≥ min(15, Dr)):
//
//	day 0: no rain → 15; 9
//	day 1: 13
//	day 2: 14 ≥ min(15, 13) = 13 → skip; 13 − 14 + 4 = 3
//	day 3: 7
//	day 4: 3 < min(15, 7) = 7 → 15; 7 − 3 − 15 + 4 = −7 → DP 7, 0
//	                                                30 mm, 2 events, DP 7
//
// Threshold: Dr ends the days at 24, 28, 28 − 14 + 4 = 18, 22,
// 22 − 3 + 4 = 23, never starting one at ≥ 30: 0 mm. Area 500 m², efficiency 1: fixed 45 mm →
// 22.5 m³, rain-skip 30 mm → 15 m³.
func TestRainSkipVersusFixed(t *testing.T) {
	every2 := fao56.Fixed{EveryDays: 2, DepthMM: 15}
	d := days([]float64{5, 5, 5, 5, 5}, []float64{0, 0, 14, 0, 3})
	res, err := fao56.Compare(fao56.Area{ID: "p", AreaM2: 500}, 20, d,
		every2, fao56.RainSkip{Schedule: every2}, fao56.Threshold{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Policy != "fixed(every 2 d; 15 mm)" || res[1].Policy != "rain-skip(every 2 d; 15 mm)" ||
		res[2].Policy != "threshold-refill" {
		t.Fatalf("policies %q %q %q", res[0].Policy, res[1].Policy, res[2].Policy)
	}
	checkDays(t, res[0].Days, []dayWant{
		{20, 15, 1, 4, 0, 9},
		{9, 0, 1, 4, 0, 13},
		{13, 15, 1, 4, 12, 0},
		{0, 0, 1, 4, 0, 4},
		{4, 15, 1, 4, 10, 0},
	})
	checkDays(t, res[1].Days, []dayWant{
		{20, 15, 1, 4, 0, 9},
		{9, 0, 1, 4, 0, 13},
		{13, 0, 1, 4, 0, 3},
		{3, 0, 1, 4, 0, 7},
		{7, 15, 1, 4, 7, 0},
	})
	for i, w := range []struct {
		mm, m3, drain float64
		events        int
	}{{45, 22.5, 22, 3}, {30, 15, 7, 2}, {0, 0, 0, 0}} {
		tot := res[i].Totals
		if tot.IrrigationMM != w.mm || tot.VolumeM3 != w.m3 || tot.DrainageMM != w.drain || tot.Events != w.events {
			t.Errorf("%s: totals %+v; want %v mm, %v m³, DP %v, %d events", res[i].Policy, tot, w.mm, w.m3, w.drain, w.events)
		}
	}
	if got := res[2].Days[4].DrEnd; got != 23 {
		t.Errorf("threshold DrEnd day 4 = %v, want 23", got)
	}
}

// TestRainSkipRule checks the skip rule on single decisions: depth 15 mm.
func TestRainSkipRule(t *testing.T) {
	sched := fao56.Fixed{EveryDays: 1, DepthMM: 15}
	cases := []struct {
		name           string
		dr, rain, next float64
		nextDay        bool
		want           float64
	}{
		{"rain covers depth", 40, 15, 0, false, 0},
		{"rain covers deficit", 10, 10, 0, false, 0},
		{"rain short of both", 20, 12, 0, false, 15},
		{"next day ignored", 20, 8, 8, false, 15},
		{"next day counted", 20, 8, 8, true, 0},
		{"no rain at field capacity", 0, 0, 0, false, 15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := fao56.RainSkip{Schedule: sched, NextDay: c.nextDay}
			got := p.Irrigation(fao56.Decision{Date: monday, DrMM: c.dr, RAWMM: 30, TAWMM: 60, RainMM: c.rain, NextRainMM: c.next})
			if got != c.want {
				t.Errorf("irrigation %v, want %v", got, c.want)
			}
		})
	}
	if n := (fao56.RainSkip{Schedule: sched, NextDay: true}).Name(); n != "rain-skip(every 1 d; 15 mm; +next day)" {
		t.Errorf("name %q", n)
	}
}

// TestRainSkipNextDayInRun: the next day's rain reaches the decision, after
// the minimum-rain rule. Mon/Thu 10 mm, Dr0 20, ET0 5 (ETc 4), rain 12 mm
// on Tuesday: Monday's event is skipped (12 ≥ min(10, 20)); Thursday's
// (nothing forecast for Thu or Fri) is not. With 1.5 mm on Tuesday (below
// 2 mm, effective 0) Monday's event happens.
func TestRainSkipNextDayInRun(t *testing.T) {
	p := fao56.RainSkip{Schedule: fao56.Fixed{Weekdays: []time.Weekday{time.Monday, time.Thursday}, DepthMM: 10}, NextDay: true}
	a := fao56.Area{AreaM2: 1}
	r, err := fao56.Run(a, 20, days([]float64{5, 5, 5, 5, 5}, []float64{0, 12, 0, 0, 0}), p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Days[0].Irrigation != 0 || r.Days[3].Irrigation != 10 || r.Totals.Events != 1 {
		t.Errorf("irrigations %v … %v, events %d; want 0 on Mon, 10 on Thu, 1", r.Days[0].Irrigation, r.Days[3].Irrigation, r.Totals.Events)
	}
	r, _ = fao56.Run(a, 20, days([]float64{5, 5, 5, 5, 5}, []float64{0, 1.5, 0, 0, 0}), p)
	if r.Days[0].Irrigation != 10 {
		t.Errorf("1.5 mm forecast: Monday irrigation %v, want 10", r.Days[0].Irrigation)
	}
}

// TestFixedWeekdays: 2 July 2001 is a Monday, so Mon/Thu over 7 days are
// indices 0 and 3; "every 3 days" gives 0, 3, 6.
func TestFixedWeekdays(t *testing.T) {
	d := days([]float64{0, 0, 0, 0, 0, 0, 0}, []float64{0, 0, 0, 0, 0, 0, 0})
	for _, c := range []struct {
		p    fao56.Fixed
		name string
		on   []int
	}{
		{fao56.Fixed{Weekdays: []time.Weekday{time.Monday, time.Thursday}, DepthMM: 12}, "fixed(Mon,Thu; 12 mm)", []int{0, 3}},
		{fao56.Fixed{EveryDays: 3, DepthMM: 12}, "fixed(every 3 d; 12 mm)", []int{0, 3, 6}},
	} {
		r, err := fao56.Run(fao56.Area{AreaM2: 1}, 60, d, c.p)
		if err != nil {
			t.Fatal(err)
		}
		var on []int
		for i, day := range r.Days {
			if day.Irrigation == 12 {
				on = append(on, i)
			} else if day.Irrigation != 0 {
				t.Errorf("%s day %d irrigation %v", c.name, i, day.Irrigation)
			}
		}
		if r.Policy != c.name || len(on) != len(c.on) || on[0] != c.on[0] || on[len(on)-1] != c.on[len(c.on)-1] {
			t.Errorf("%s: events on %v, want %v (name %q)", c.name, on, c.on, r.Policy)
		}
	}
}
