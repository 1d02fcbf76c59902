package fao56_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/fao56"
)

// monday is 2 July 2001, a Monday.
var monday = time.Date(2001, 7, 2, 0, 0, 0, 0, time.UTC)

// days builds consecutive days from monday with the given ET0 and rain.
func days(et0, rain []float64) []fao56.Day {
	out := make([]fao56.Day, len(et0))
	for i := range out {
		out[i] = fao56.Day{Date: monday.AddDate(0, 0, i), ET0: et0[i], RainMM: rain[i]}
	}
	return out
}

// never is a custom policy that never irrigates.
type never struct{}

func (never) Name() string                      { return "never" }
func (never) Irrigation(fao56.Decision) float64 { return 0 }

type dayWant struct {
	drStart, irr, ks, etcAdj, drain, drEnd float64
}

func checkDays(t *testing.T, got []fao56.DayResult, want []dayWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d days, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"DrStart", g.DrStart, w.drStart}, {"Irrigation", g.Irrigation, w.irr}, {"Ks", g.Ks, w.ks},
			{"ETcAdj", g.ETcAdj, w.etcAdj}, {"Drainage", g.Drainage, w.drain}, {"DrEnd", g.DrEnd, w.drEnd},
		} {
			if math.Abs(f.got-f.want) > 1e-6 {
				t.Errorf("day %d %s = %.6f, want %.6f", i, f.name, f.got, f.want)
			}
		}
		if g.Stress != (w.ks < 1) {
			t.Errorf("day %d Stress = %v with Ks %v", i, g.Stress, g.Ks)
		}
	}
}

func TestDefaults(t *testing.T) {
	// TAW = 1000·(0.32 − 0.12)·0.3 = 60 mm; RAW = 0.5·60 = 30 mm;
	// θrefill = 0.32 − 30/(1000·0.3) = 0.32 − 0.10 = 0.22.
	a := fao56.Area{AreaM2: 1}
	near(t, "TAW", a.TAW(), 60, 1e-9)
	near(t, "RAW", a.RAW(), 30, 1e-9)
	near(t, "RefillVWC", a.RefillVWC(), 0.22, 1e-12)
	// twin.StateConfig's RefillVWC 0.20 is the same formula with p = 0.6:
	// 0.32 − 0.6·60/300 = 0.20.
	near(t, "RefillVWC p=0.6", fao56.Area{P: 0.6}.RefillVWC(), 0.20, 1e-12)
	d := a.WithDefaults()
	if d.Kc != 0.8 || d.ThetaFC != 0.32 || d.ThetaWP != 0.12 || d.RootDepthM != 0.3 || d.P != 0.5 ||
		d.Efficiency != 1 || d.MinRainMM != 2 {
		t.Errorf("defaults %+v", d)
	}
	// Ks (eq. 84) at Dr = 45: (60 − 45)/(60 − 30) = 0.5.
	near(t, "Ks(45)", a.Ks(45), 0.5, 1e-12)
	near(t, "Ks(30)", a.Ks(30), 1, 0)
	near(t, "Ks(70)", a.Ks(70), 0, 0)
}

// TestThresholdBalance: defaults (TAW 60, RAW 30, Kc 0.8, min rain 2 mm),
// Dr0 = 20 mm, area 1000 m², efficiency 0.8. ETc = 0.8·ET0.
//
//	day  ET0  rain  Dr start  I     Ks  ETc  end = start − Peff − I + ETc        DP
//	0    5    0     20        0     1   4    20 + 4 = 24
//	1    5    1.5   24        0     1   4    1.5 < 2 mm counts 0: 24 + 4 = 28
//	2    6    0     28        0     1   4.8  28 + 4.8 = 32.8
//	3    5    0     32.8      32.8  1   4    32.8 ≥ 30: refill; 32.8 − 32.8 + 4 = 4
//	4    5    10    4         0     1   4    4 − 10 + 4 = −2 → 0               2
//
// Totals: 32.8 mm net, 1 event, gross 32.8/0.8 = 41 mm, volume
// 41 mm·1000 m²/1000 = 41 m³, drainage 2 mm, ETc,adj 20.8 mm, rain 10 mm.
func TestThresholdBalance(t *testing.T) {
	a := fao56.Area{ID: "park-1", AreaM2: 1000, Efficiency: 0.8}
	r, err := fao56.Run(a, 20, days([]float64{5, 5, 6, 5, 5}, []float64{0, 1.5, 0, 0, 10}), fao56.Threshold{})
	if err != nil {
		t.Fatal(err)
	}
	checkDays(t, r.Days, []dayWant{
		{20, 0, 1, 4, 0, 24},
		{24, 0, 1, 4, 0, 28},
		{28, 0, 1, 4.8, 0, 32.8},
		{32.8, 32.8, 1, 4, 0, 4},
		{4, 0, 1, 4, 2, 0},
	})
	if r.Days[1].EffectiveRain != 0 || r.Days[4].EffectiveRain != 10 {
		t.Errorf("effective rain %v, %v; want 0, 10", r.Days[1].EffectiveRain, r.Days[4].EffectiveRain)
	}
	tot := r.Totals
	near(t, "IrrigationMM", tot.IrrigationMM, 32.8, 1e-9)
	near(t, "GrossMM", tot.GrossMM, 41, 1e-9)
	near(t, "VolumeM3", tot.VolumeM3, 41, 1e-9)
	near(t, "DrainageMM", tot.DrainageMM, 2, 1e-9)
	near(t, "ETcAdjMM", tot.ETcAdjMM, 20.8, 1e-9)
	near(t, "EffectiveRainMM", tot.EffectiveRainMM, 10, 1e-9)
	if tot.Events != 1 || tot.StressDays != 0 || r.Policy != "threshold-refill" || r.Area != "park-1" {
		t.Errorf("events %d stress %d policy %q area %q", tot.Events, tot.StressDays, r.Policy, r.Area)
	}
}

// TestStress: no irrigation from Dr0 = 36 > RAW, ET0 5 (ETc 4):
//
//	day 0: Ks = (60 − 36)/30 = 0.8;           ETc,adj = 3.2;      end 39.2
//	day 1: Ks = (60 − 39.2)/30 = 0.693333;    ETc,adj = 2.773333; end 41.973333
//	day 2: Ks = (60 − 41.973333)/30 = 0.600889; ETc,adj = 2.403556; end 44.376889
//
// Three stress days. With MinRainMM −1, 1 mm of rain on day 2 counts:
// end = 41.973333 − 1 + 2.403556 = 43.376889.
func TestStress(t *testing.T) {
	a := fao56.Area{AreaM2: 100}
	r, err := fao56.Run(a, 36, days([]float64{5, 5, 5}, []float64{0, 0, 0}), never{})
	if err != nil {
		t.Fatal(err)
	}
	checkDays(t, r.Days, []dayWant{
		{36, 0, 0.8, 3.2, 0, 39.2},
		{39.2, 0, 0.6933333, 2.7733333, 0, 41.9733333},
		{41.9733333, 0, 0.6008889, 2.4035556, 0, 44.3768889},
	})
	if r.Totals.StressDays != 3 || r.Totals.Events != 0 || r.Totals.VolumeM3 != 0 {
		t.Errorf("totals %+v", r.Totals)
	}
	a.MinRainMM = -1
	r, _ = fao56.Run(a, 36, days([]float64{5, 5, 5}, []float64{0, 0, 1}), never{})
	near(t, "DrEnd with 1 mm effective", r.Days[2].DrEnd, 43.3768889, 1e-6)

	// Dr never exceeds TAW (eq. 86): from 59.9 with ET0 30 (ETc 24),
	// Ks = 0.1/30, ETc,adj = 0.08 → 59.98; never above 60.
	r, _ = fao56.Run(a, 59.9, days([]float64{30, 30, 30}, []float64{0, 0, 0}), never{})
	for i, d := range r.Days {
		if d.DrEnd > 60 || d.Ks < 0 {
			t.Errorf("day %d DrEnd %v Ks %v", i, d.DrEnd, d.Ks)
		}
	}
}

// TestRefillAtRAW: Threshold irrigates when Dr = RAW exactly, not just below.
func TestRefillAtRAW(t *testing.T) {
	a := fao56.Area{AreaM2: 10}
	raw := a.RAW()
	d := days([]float64{5}, []float64{0})
	r, _ := fao56.Run(a, raw, d, fao56.Threshold{})
	if r.Days[0].Irrigation != raw {
		t.Errorf("at RAW: irrigation %v, want %v", r.Days[0].Irrigation, raw)
	}
	below := math.Nextafter(raw, 0)
	r, _ = fao56.Run(a, below, d, fao56.Threshold{})
	if r.Days[0].Irrigation != 0 {
		t.Errorf("just below RAW: irrigation %v, want 0", r.Days[0].Irrigation)
	}
	// Reached by ET: Dr0 = RAW − 4, ETc = 4 → end of day 0 = RAW → day 1
	// refills RAW.
	r, _ = fao56.Run(a, raw-4, days([]float64{5, 5}, []float64{0, 0}), fao56.Threshold{})
	if r.Days[0].Irrigation != 0 || math.Abs(r.Days[1].Irrigation-raw) > 1e-9 {
		t.Errorf("irrigations %v, %v; want 0, %v", r.Days[0].Irrigation, r.Days[1].Irrigation, raw)
	}
}

// TestMeasuredReset: a measured θ resets Dr at the start of the day.
//
//	day 0: Dr0 10, ETc 4 → 14
//	day 1: θ 0.25 → Dr = 1000·(0.32 − 0.25)·0.3 = 21; + 4 → 25
//	day 2: θ 0.40 (above θFC) → Dr = 0 (clamped); + 4 → 4
//	day 3: θ 0.05 → 1000·0.27·0.3 = 81, clamped to TAW 60 ≥ 30 → refill 60; + 4 → 4
//	day 4: θ 0.20 → Dr = 36 ≥ 30 → Threshold refills 36; + 4 → 4
func TestMeasuredReset(t *testing.T) {
	d := days([]float64{5, 5, 5, 5, 5}, []float64{0, 0, 0, 0, 0})
	d[1].SoilVWC = fao56.Some(0.25)
	d[2].SoilVWC = fao56.Some(0.40)
	d[3].SoilVWC = fao56.Some(0.05)
	d[4].SoilVWC = fao56.Some(0.20)
	r, err := fao56.Run(fao56.Area{AreaM2: 1}, 10, d, fao56.Threshold{})
	if err != nil {
		t.Fatal(err)
	}
	checkDays(t, r.Days, []dayWant{
		{10, 0, 1, 4, 0, 14},
		{21, 0, 1, 4, 0, 25},
		{0, 0, 1, 4, 0, 4},
		{60, 60, 1, 4, 0, 4},
		{36, 36, 1, 4, 0, 4},
	})
	if r.Days[0].Measured || !r.Days[1].Measured {
		t.Errorf("Measured flags %v %v", r.Days[0].Measured, r.Days[1].Measured)
	}
}

func TestRunErrors(t *testing.T) {
	good := days([]float64{5, 5}, []float64{0, 0})
	cases := []struct {
		name  string
		area  fao56.Area
		dr0   float64
		days  func() []fao56.Day
		pol   fao56.Policy
		field string
		text  string
	}{
		{"no area", fao56.Area{}, 0, nil, nil, "areaM2", "areaM2: must be > 0 m² (required for volumes), got 0"},
		{"thetaWP above thetaFC", fao56.Area{AreaM2: 1, ThetaWP: 0.4}, 0, nil, nil, "thetaWP", "thetaWP: must be below thetaFC (0.32) and ≥ 0, got 0.4"},
		{"thetaFC below default thetaWP", fao56.Area{AreaM2: 1, ThetaFC: 0.1}, 0, nil, nil, "thetaWP", "must be below thetaFC (0.1)"},
		{"kc", fao56.Area{AreaM2: 1, Kc: 3}, 0, nil, nil, "kc", "kc: must be in (0, 2], got 3"},
		{"p", fao56.Area{AreaM2: 1, P: 1}, 0, nil, nil, "p", "p: must be in (0, 1), got 1"},
		{"rootDepth", fao56.Area{AreaM2: 1, RootDepthM: -1}, 0, nil, nil, "rootDepthM", "got -1"},
		{"efficiency", fao56.Area{AreaM2: 1, Efficiency: 1.2}, 0, nil, nil, "efficiency", "efficiency: must be in (0, 1], got 1.2"},
		{"NaN area", fao56.Area{AreaM2: math.NaN()}, 0, nil, nil, "areaM2", "got NaN"},
		{"initialDr", fao56.Area{AreaM2: 1}, 61, nil, nil, "initialDr", "initialDr: must be in [0, TAW] = [0, 60] mm, got 61"},
		{"no days", fao56.Area{AreaM2: 1}, 0, func() []fao56.Day { return nil }, nil, "days", "days: at least one day, missing"},
		{"et0", fao56.Area{AreaM2: 1}, 0, func() []fao56.Day { d := days([]float64{5, 40}, []float64{0, 0}); return d }, nil, "days[1].et0", "got 40"},
		{"soil", fao56.Area{AreaM2: 1}, 0, func() []fao56.Day { d := days([]float64{5}, []float64{0}); d[0].SoilVWC = fao56.Some(32); return d }, nil, "days[0].soilVWC", "got 32"},
		{"gap", fao56.Area{AreaM2: 1}, 0, func() []fao56.Day {
			d := days([]float64{5, 5}, []float64{0, 0})
			d[1].Date = d[1].Date.AddDate(0, 0, 1)
			return d
		}, nil, "days[1].date", "days[1].date: must be the day after days[0].date (2001-07-02), got 2001-07-04"},
		{"fixed without calendar", fao56.Area{AreaM2: 1}, 0, nil, fao56.Fixed{DepthMM: 10}, "weekdays", "a fixed schedule needs weekdays or everyDays"},
		{"fixed depth", fao56.Area{AreaM2: 1}, 0, nil, fao56.Fixed{EveryDays: 2}, "depthMM", "depthMM: must be in (0, 100] mm, got 0"},
		{"fixed both", fao56.Area{AreaM2: 1}, 0, nil, fao56.Fixed{EveryDays: 2, Weekdays: []time.Weekday{time.Monday}, DepthMM: 5}, "everyDays", "must be 0 when weekdays are given"},
		{"rain-skip weekday", fao56.Area{AreaM2: 1}, 0, nil, fao56.RainSkip{Schedule: fao56.Fixed{Weekdays: []time.Weekday{9}, DepthMM: 5}}, "weekdays[0]", "got 9"},
		{"bad custom policy", fao56.Area{AreaM2: 1}, 0, nil, constant(-1), "days[0].irrigation", "must be finite and ≥ 0 mm, got -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := good
			if c.days != nil {
				d = c.days()
			}
			p := c.pol
			if p == nil {
				p = fao56.Threshold{}
			}
			_, err := fao56.Run(c.area, c.dr0, d, p)
			var fe *fao56.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %v; want field %s and %q", err, c.field, c.text)
			}
		})
	}
}

// constant irrigates the same depth every day.
type constant float64

func (c constant) Name() string                      { return "constant" }
func (c constant) Irrigation(fao56.Decision) float64 { return float64(c) }
