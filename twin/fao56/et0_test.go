package fao56_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/fao56"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %g", name, got, want, tol)
	}
}

// brussels is FAO-56 Example 18 (Brussels, 6 July, lat 50°48'N, 100 m):
// Tmax 21.5, Tmin 12.3 °C, RHmax 84 %, RHmin 63 %, wind 10 km/h at 10 m,
// n = 9.25 h of sunshine. 2001 is not a leap year, so J = 187 as in the
// example.
func brussels() (fao56.Weather, fao56.Site) {
	return fao56.Weather{
			Date:        time.Date(2001, 7, 6, 0, 0, 0, 0, time.UTC),
			TMax:        fao56.Some(21.5),
			TMin:        fao56.Some(12.3),
			RHMax:       fao56.Some(84),
			RHMin:       fao56.Some(63),
			WindMS:      fao56.Some(10 / 3.6),
			WindHeightM: 10,
			SunshineH:   fao56.Some(9.25),
		}, fao56.Site{
			LatitudeDeg: 50 + 48.0/60,
			ElevationM:  100,
		}
}

// TestExample18 checks the chapter-3 chain against the values FAO-56
// Example 18 prints (rounded there, hence the tolerances): es 1.997 kPa
// (e°(Tmax) 2.564, e°(Tmin) 1.431), ea 1.409 kPa, Δ 0.122, γ 0.0666 kPa/°C,
// u2 2.078 m/s, J 187, Ra 41.09, N 16.1 h, Rs 22.07, Rso 30.90, Rns 17.00,
// Rnl 3.71, Rn 13.28 MJ m⁻² d⁻¹, ET0 3.9 mm/day. (The brief quoted es 2.39
// kPa; the example's es is 1.997 kPa = (2.564 + 1.431)/2.)
func TestExample18(t *testing.T) {
	w, site := brussels()
	d, err := fao56.ET0Detail(w, site)
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != fao56.MethodPenmanMonteith || d.EaEquation != 17 || d.DOY != 187 {
		t.Fatalf("method %q, ea eq. %d, J %d; want penman-monteith, 17, 187", d.Method, d.EaEquation, d.DOY)
	}
	near(t, "TMean", d.TMean, 16.9, 1e-9)
	near(t, "P", d.P, 100.1, 0.05)
	near(t, "Gamma", d.Gamma, 0.0666, 0.00005)
	near(t, "Delta", d.Delta, 0.122, 0.0005)
	near(t, "Es", d.Es, 1.997, 0.0005)
	near(t, "Ea", d.Ea, 1.409, 0.0005)
	near(t, "U2", d.U2, 2.078, 0.0005)
	near(t, "Ra", d.Ra, 41.09, 0.005)
	near(t, "N", d.N, 16.1, 0.05)
	near(t, "Rs", d.Rs, 22.07, 0.005)
	near(t, "Rso", d.Rso, 30.90, 0.005)
	near(t, "Rns", d.Rns, 17.00, 0.005)
	near(t, "Rnl", d.Rnl, 3.71, 0.005)
	near(t, "Rn", d.Rn, 13.28, 0.005)
	near(t, "ET0", d.ET0, 3.9, 0.05)

	mm, method, err := fao56.ET0(w, site)
	if err != nil || mm != d.ET0 || method != fao56.MethodPenmanMonteith {
		t.Errorf("ET0 = %v, %q, %v; want %v, penman-monteith, nil", mm, method, err, d.ET0)
	}
}

// TestHargreavesExample18 drops humidity from Example 18, so Hargreaves
// (eq. 52) applies. By hand: Tmean = 16.9, Tmean + 17.8 = 34.7,
// √(21.5 − 12.3) = √9.2 = 3.03315, Ra = 41.09 MJ·0.408 = 16.7647 mm/day;
// 0.0023·34.7 = 0.079810; ·3.03315 = 0.242076; ·16.7647 = 4.0583 mm/day.
func TestHargreavesExample18(t *testing.T) {
	w, site := brussels()
	w.RHMax, w.RHMin = nil, nil
	d, err := fao56.ET0Detail(w, site)
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != fao56.MethodHargreaves || !strings.Contains(d.Fallback, "rhMax") {
		t.Fatalf("method %q fallback %q; want hargreaves because of humidity", d.Method, d.Fallback)
	}
	near(t, "ET0", d.ET0, 4.0583, 0.001)
	near(t, "Hargreaves()", fao56.Hargreaves(21.5, 12.3, 16.9, 41.09), 4.0583, 0.0005)
}

func TestET0MethodChoice(t *testing.T) {
	base, site := brussels()
	cases := []struct {
		name   string
		edit   func(w *fao56.Weather)
		method string
	}{
		{"all", func(*fao56.Weather) {}, fao56.MethodPenmanMonteith},
		{"no wind", func(w *fao56.Weather) { w.WindMS = nil }, fao56.MethodHargreaves},
		{"no radiation", func(w *fao56.Weather) { w.SunshineH = nil }, fao56.MethodHargreaves},
		{"rhMin only", func(w *fao56.Weather) { w.RHMax = nil }, fao56.MethodHargreaves},
		{"rhMean", func(w *fao56.Weather) { w.RHMax, w.RHMin, w.RHMean = nil, nil, fao56.Some(73.5) }, fao56.MethodPenmanMonteith},
		{"measured Rs", func(w *fao56.Weather) { w.SunshineH, w.RsMJ = nil, fao56.Some(22.07) }, fao56.MethodPenmanMonteith},
		{"given ET0", func(w *fao56.Weather) { *w = fao56.Weather{ET0MM: fao56.Some(4.2)} }, fao56.MethodInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := base
			c.edit(&w)
			_, method, err := fao56.ET0(w, site)
			if err != nil || method != c.method {
				t.Errorf("method %q, err %v; want %q", method, err, c.method)
			}
		})
	}
}

// TestET0Equivalences: a measured Rs equal to Example 18's Angstrom value
// gives the same ET0; humidity in percent or as a fraction is the same;
// eq. 19 with RHmean = (84 + 63)/2 gives ea = 0.735·1.997 = 1.468 kPa.
func TestET0Equivalences(t *testing.T) {
	w, site := brussels()
	ref, _ := fao56.ET0Detail(w, site)

	frac := w
	frac.RHMax, frac.RHMin = fao56.Some(0.84), fao56.Some(0.63)
	d, err := fao56.ET0Detail(frac, site)
	if err != nil || math.Abs(d.ET0-ref.ET0) > 1e-12 {
		t.Errorf("fraction humidity: ET0 %v (%v), want %v", d.ET0, err, ref.ET0)
	}

	rs := w
	rs.SunshineH, rs.RsMJ = nil, fao56.Some(ref.Rs)
	if d, _ = fao56.ET0Detail(rs, site); math.Abs(d.ET0-ref.ET0) > 1e-12 {
		t.Errorf("measured Rs: ET0 %v, want %v", d.ET0, ref.ET0)
	}

	mean := w
	mean.RHMax, mean.RHMin, mean.RHMean = nil, nil, fao56.Some(73.5)
	d, _ = fao56.ET0Detail(mean, site)
	if d.EaEquation != 19 {
		t.Errorf("ea equation %d, want 19", d.EaEquation)
	}
	near(t, "Ea (eq. 19)", d.Ea, 1.468, 0.0005)

	maxOnly := w
	maxOnly.RHMin = nil
	d, _ = fao56.ET0Detail(maxOnly, site)
	// eq. 18: ea = e°(Tmin)·RHmax = 1.431·0.84 = 1.202 kPa.
	if d.EaEquation != 18 {
		t.Errorf("ea equation %d, want 18", d.EaEquation)
	}
	near(t, "Ea (eq. 18)", d.Ea, 1.202, 0.0005)

	// Wind at 2 m (WindHeightM 0 or 2) is used as is.
	two := w
	two.WindMS, two.WindHeightM = fao56.Some(ref.U2), 0
	if d, _ = fao56.ET0Detail(two, site); d.U2 != ref.U2 || math.Abs(d.ET0-ref.ET0) > 1e-12 {
		t.Errorf("u2 given at 2 m: u2 %v ET0 %v, want %v %v", d.U2, d.ET0, ref.U2, ref.ET0)
	}
}

func TestHelpers(t *testing.T) {
	// 250 W/m² over 86 400 s = 21.6 MJ/m².
	near(t, "RsFromWm2(250)", fao56.RsFromWm2(250), 21.6, 1e-12)
	// eq. 47 at 10 m: 4.87/ln(678 − 5.42) = 4.87/ln(672.58) = 4.87/6.51111 = 0.74795.
	near(t, "WindAt2m(1, 10)", fao56.WindAt2m(1, 10), 0.74795, 0.00001)
	// eq. 7 at sea level: 101.3 kPa.
	near(t, "Pressure(0)", fao56.Pressure(0), 101.3, 1e-12)
	// eq. 11 at 0 °C: 0.6108 kPa.
	near(t, "SaturationVP(0)", fao56.SaturationVP(0), 0.6108, 1e-12)
}

// TestPolar: beyond the polar circle the chain stays finite (polar night:
// Ra = 0, N = 0, ET0 ≥ 0; midnight sun: N = 24).
func TestPolar(t *testing.T) {
	for _, c := range []struct {
		lat  float64
		date time.Time
		n    float64
	}{
		{80, time.Date(2001, 12, 21, 0, 0, 0, 0, time.UTC), 0},
		{80, time.Date(2001, 6, 21, 0, 0, 0, 0, time.UTC), 24},
		{90, time.Date(2001, 6, 21, 0, 0, 0, 0, time.UTC), 24},
		{-90, time.Date(2001, 6, 21, 0, 0, 0, 0, time.UTC), 0},
	} {
		w := fao56.Weather{Date: c.date, TMax: fao56.Some(-5), TMin: fao56.Some(-15), RHMean: fao56.Some(80),
			WindMS: fao56.Some(3), RsMJ: fao56.Some(0)}
		d, err := fao56.ET0Detail(w, fao56.Site{LatitudeDeg: c.lat})
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(d.ET0) || d.ET0 < 0 || math.IsNaN(d.Ra) || d.N != c.n {
			t.Errorf("lat %v %s: ET0 %v Ra %v N %v, want finite ≥ 0, N %v", c.lat, c.date.Format(time.DateOnly), d.ET0, d.Ra, d.N, c.n)
		}
	}
}

func TestET0Errors(t *testing.T) {
	base, site := brussels()
	cases := []struct {
		name  string
		edit  func(w *fao56.Weather, s *fao56.Site)
		field string
		text  string
	}{
		{"no tMax", func(w *fao56.Weather, _ *fao56.Site) { w.TMax = nil }, "tMax", "tMax: required by Penman-Monteith and Hargreaves, missing"},
		{"no tMin", func(w *fao56.Weather, _ *fao56.Site) { w.TMin = nil }, "tMin", "missing"},
		{"no date", func(w *fao56.Weather, _ *fao56.Site) { w.Date = time.Time{} }, "date", "missing"},
		{"tMin above tMax", func(w *fao56.Weather, _ *fao56.Site) { w.TMin = fao56.Some(25) }, "tMin", "tMin: must not exceed tMax (21.5), got 25"},
		{"tMax range", func(w *fao56.Weather, _ *fao56.Site) { w.TMax = fao56.Some(80) }, "tMax", "must be in [-90, 70] °C, got 80"},
		{"rh above 100", func(w *fao56.Weather, _ *fao56.Site) { w.RHMax = fao56.Some(120) }, "rhMax", "got 120"},
		{"rhMin above rhMax", func(w *fao56.Weather, _ *fao56.Site) { w.RHMin = fao56.Some(0.9) }, "rhMin", "must not exceed rhMax (84)"},
		{"negative wind", func(w *fao56.Weather, _ *fao56.Site) { w.WindMS = fao56.Some(-1) }, "windMS", "got -1"},
		{"NaN wind", func(w *fao56.Weather, _ *fao56.Site) { w.WindMS = fao56.Some(math.NaN()) }, "windMS", "got NaN"},
		{"wind height", func(w *fao56.Weather, _ *fao56.Site) { w.WindHeightM = 0.1 }, "windHeightM", "got 0.1"},
		{"sunshine above N", func(w *fao56.Weather, _ *fao56.Site) { w.SunshineH = fao56.Some(17) }, "sunshineH", "must not exceed the daylight hours N = 16.10 h (eq. 34), got 17"},
		{"rain", func(w *fao56.Weather, _ *fao56.Site) { w.RainMM = -1 }, "rainMM", "got -1"},
		{"latitude", func(_ *fao56.Weather, s *fao56.Site) { s.LatitudeDeg = 91 }, "latitudeDeg", "site: latitudeDeg: must be in [-90, 90] degrees, got 91"},
		{"angstrom", func(_ *fao56.Weather, s *fao56.Site) { s.AngstromA = 0.6 }, "angstromB", "must not exceed 1 − angstromA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, s := base, site
			c.edit(&w, &s)
			_, _, err := fao56.ET0(w, s)
			var fe *fao56.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %v; want field %s and %q", err, c.field, c.text)
			}
		})
	}
}
