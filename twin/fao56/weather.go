package fao56

import (
	"fmt"
	"time"
)

// Methods ET0 reports.
const (
	// MethodPenmanMonteith is FAO-56 eq. 6 with the chapter-3 chain.
	MethodPenmanMonteith = "penman-monteith"
	// MethodHargreaves is FAO-56 eq. 52, used when radiation, humidity or
	// wind is missing.
	MethodHargreaves = "hargreaves"
	// MethodInput means the day carried its own ET0 (Weather.ET0MM), for
	// example from a meteorological service.
	MethodInput = "input"
)

// Site is where the weather is observed: what the radiation terms need.
// The zero value is a site on the equator at sea level with the default
// Angstrom coefficients.
type Site struct {
	// LatitudeDeg is φ in degrees, north positive, in [−90, 90].
	LatitudeDeg float64
	// ElevationM is z above sea level (m), in [−500, 9000]; it sets P
	// (eq. 7) and Rso (eq. 37).
	ElevationM float64
	// AngstromA and AngstromB are as and bs of eq. 35, used only to
	// estimate Rs from sunshine hours; defaults 0.25 and 0.50 (FAO-56's
	// values where no calibration is available). Each in (0, 1), sum ≤ 1.
	AngstromA, AngstromB float64
}

func (s Site) withDefaults() Site {
	if s.AngstromA == 0 {
		s.AngstromA = 0.25
	}
	if s.AngstromB == 0 {
		s.AngstromB = 0.50
	}
	return s
}

// Validate checks the site after defaults; the error is a *FieldError.
func (s Site) Validate() error {
	s = s.withDefaults()
	switch {
	case !in(s.LatitudeDeg, -90, 90):
		return bad("latitudeDeg", "must be in [-90, 90] degrees", s.LatitudeDeg)
	case !in(s.ElevationM, -500, 9000):
		return bad("elevationM", "must be in [-500, 9000] m", s.ElevationM)
	case !(s.AngstromA > 0 && s.AngstromA < 1):
		return bad("angstromA", "must be in (0, 1)", s.AngstromA)
	case !(s.AngstromB > 0 && s.AngstromB < 1):
		return bad("angstromB", "must be in (0, 1)", s.AngstromB)
	case s.AngstromA+s.AngstromB > 1:
		return bad("angstromB", fmt.Sprintf("must not exceed 1 − angstromA (%g)", 1-s.AngstromA), s.AngstromB)
	}
	return nil
}

// Weather is one day of observed or forecast weather at a Site. Optional
// fields are pointers: nil means missing (Some makes one from a value). The
// zero value has no data at all.
type Weather struct {
	// Date is the civil day; its day of year sets Ra (eqs. 21–25).
	// Required unless ET0MM is given.
	Date time.Time
	// TMax and TMin are the day's maximum and minimum air temperatures at
	// 2 m (°C, in [−90, 70]); both methods need them. Tmean is always
	// (Tmax + Tmin)/2 (eq. 9).
	TMax, TMin *float64
	// RHMax, RHMin and RHMean are the day's relative humidities, each a
	// fraction 0–1 or a percentage: a value above 1 is a percentage (as
	// twin.KnownTypes accepts WeatherObserved.relativeHumidity), so 1 is
	// 100 %. ea comes from RHMax and RHMin (eq. 17), else RHMax alone
	// (eq. 18), else RHMean (eq. 19).
	RHMax, RHMin, RHMean *float64
	// WindMS is the mean wind speed (m/s) at WindHeightM.
	WindMS *float64
	// WindHeightM is the anemometer height (m) in [0.5, 100]; 0 means 2 m.
	// Other heights are converted to u2 with eq. 47.
	WindHeightM float64
	// RsMJ is the incoming solar radiation Rs (MJ m⁻² d⁻¹, in [0, 50]);
	// RsFromWm2 converts a daily mean irradiance in W/m².
	RsMJ *float64
	// SunshineH is n, hours of bright sunshine; used for Rs (eq. 35, with
	// N from eq. 34) when RsMJ is nil. Must not exceed N.
	SunshineH *float64
	// RainMM is the day's precipitation (mm = l/m², in [0, 2000]); 0 when
	// none. ET0 ignores it; the water balance uses it.
	RainMM float64
	// ET0MM, when set, is the day's ET0 (mm, in [0, 30]) from elsewhere;
	// ET0 returns it with MethodInput and needs nothing else.
	ET0MM *float64
}

// Some returns a pointer to v, for Weather's optional fields.
func Some(v float64) *float64 { return &v }

// Detail is ET0 with the intermediate values of its computation, named as
// in FAO-56. Fields the method did not use are 0.
type Detail struct {
	// Method is MethodPenmanMonteith, MethodHargreaves or MethodInput.
	Method string
	// Fallback says why Penman-Monteith was not used (the first missing
	// field) when Method is MethodHargreaves.
	Fallback string
	// ET0 is the reference evapotranspiration, mm/day.
	ET0 float64
	// DOY is J, the day of year.
	DOY int
	// TMean is (Tmax + Tmin)/2, °C (eq. 9).
	TMean float64
	// Ra is the extraterrestrial radiation and N the daylight hours.
	Ra, N float64
	// P (kPa), Gamma γ and Delta Δ (kPa/°C).
	P, Gamma, Delta float64
	// Es and Ea are the saturation and actual vapour pressures, kPa.
	Es, Ea float64
	// EaEquation is the FAO-56 equation ea came from: 17, 18 or 19.
	EaEquation int
	// U2 is the wind speed at 2 m, m/s.
	U2 float64
	// Rs, Rso, Rns, Rnl and Rn are radiation terms, MJ m⁻² d⁻¹; G = 0.
	Rs, Rso, Rns, Rnl, Rn float64
}

// ET0 returns the day's reference evapotranspiration (mm/day) and the
// method used: the day's own ET0MM if set; else Penman-Monteith (eq. 6) when
// temperatures, humidity, wind and radiation (RsMJ or SunshineH) are all
// present; else Hargreaves (eq. 52) when TMax and TMin are; else an error
// naming the missing field. Every field present is validated, used or not.
func ET0(day Weather, site Site) (mm float64, method string, err error) {
	d, err := ET0Detail(day, site)
	return d.ET0, d.Method, err
}

// ET0Detail is ET0 with its intermediate values.
func ET0Detail(w Weather, site Site) (Detail, error) {
	if err := site.Validate(); err != nil {
		return Detail{}, fmt.Errorf("site: %w", err)
	}
	site = site.withDefaults()
	if err := w.validate(); err != nil {
		return Detail{}, err
	}
	if w.ET0MM != nil {
		return Detail{Method: MethodInput, ET0: *w.ET0MM}, nil
	}
	if w.Date.IsZero() {
		return Detail{}, missing("date", "required for the day of year of Ra (eqs. 21-25)")
	}
	if w.TMax == nil {
		return Detail{}, missing("tMax", "required by Penman-Monteith and Hargreaves")
	}
	if w.TMin == nil {
		return Detail{}, missing("tMin", "required by Penman-Monteith and Hargreaves")
	}
	tmax, tmin := *w.TMax, *w.TMin
	d := Detail{DOY: w.Date.YearDay(), TMean: (tmax + tmin) / 2}
	d.Ra, d.N = Extraterrestrial(site.LatitudeDeg, d.DOY)
	if w.SunshineH != nil && *w.SunshineH > d.N+1e-9 {
		return Detail{}, bad("sunshineH", fmt.Sprintf("must not exceed the daylight hours N = %.2f h (eq. 34)", d.N), *w.SunshineH)
	}

	switch {
	case w.RHMax == nil && w.RHMean == nil:
		d.Fallback = "rhMax and rhMean missing" // rhMin alone fits no ea equation
	case w.WindMS == nil:
		d.Fallback = "windMS missing"
	case w.RsMJ == nil && w.SunshineH == nil:
		d.Fallback = "rsMJ and sunshineH missing"
	}
	if d.Fallback != "" {
		d.Method = MethodHargreaves
		d.ET0 = Hargreaves(tmax, tmin, d.TMean, d.Ra)
		return d, nil
	}

	d.Method = MethodPenmanMonteith
	d.P = Pressure(site.ElevationM)
	d.Gamma = Psychrometric(d.P)
	d.Delta = SlopeSVP(d.TMean)
	ex, en := SaturationVP(tmax), SaturationVP(tmin)
	d.Es = (ex + en) / 2 // eq. 12
	switch {
	case w.RHMax != nil && w.RHMin != nil:
		d.Ea = (en*fraction(*w.RHMax) + ex*fraction(*w.RHMin)) / 2 // eq. 17
		d.EaEquation = 17
	case w.RHMax != nil:
		d.Ea = en * fraction(*w.RHMax) // eq. 18
		d.EaEquation = 18
	default:
		d.Ea = fraction(*w.RHMean) * d.Es // eq. 19
		d.EaEquation = 19
	}
	d.U2 = *w.WindMS
	if w.WindHeightM != 0 && w.WindHeightM != 2 {
		d.U2 = WindAt2m(d.U2, w.WindHeightM)
	}
	if w.RsMJ != nil {
		d.Rs = *w.RsMJ
	} else {
		d.Rs = RsAngstrom(*w.SunshineH, d.N, d.Ra, site.AngstromA, site.AngstromB)
	}
	d.Rso = ClearSky(d.Ra, site.ElevationM)
	d.Rns = (1 - Albedo) * d.Rs // eq. 38
	d.Rnl = NetLongwave(tmax, tmin, d.Ea, d.Rs, d.Rso)
	d.Rn = d.Rns - d.Rnl // eq. 40
	d.ET0 = PenmanMonteith(d.Delta, d.Gamma, d.Rn, 0, d.TMean, d.U2, d.Es, d.Ea)
	return d, nil
}

// fraction returns a relative humidity as a fraction: values above 1 are
// percentages.
func fraction(rh float64) float64 {
	if rh > 1 {
		return rh / 100
	}
	return rh
}

// validate checks every field present, independently of the method.
func (w Weather) validate() error {
	opt := []struct {
		name   string
		v      *float64
		lo, hi float64
		rule   string
	}{
		{"tMax", w.TMax, -90, 70, "must be in [-90, 70] °C"},
		{"tMin", w.TMin, -90, 70, "must be in [-90, 70] °C"},
		{"rhMax", w.RHMax, 0, 100, "must be a fraction 0-1 or a percentage up to 100"},
		{"rhMin", w.RHMin, 0, 100, "must be a fraction 0-1 or a percentage up to 100"},
		{"rhMean", w.RHMean, 0, 100, "must be a fraction 0-1 or a percentage up to 100"},
		{"windMS", w.WindMS, 0, 120, "must be in [0, 120] m/s"},
		{"rsMJ", w.RsMJ, 0, 50, "must be in [0, 50] MJ m-2 d-1"},
		{"sunshineH", w.SunshineH, 0, 24, "must be in [0, 24] h"},
		{"et0MM", w.ET0MM, 0, 30, "must be in [0, 30] mm/day"},
	}
	for _, f := range opt {
		if f.v != nil && !in(*f.v, f.lo, f.hi) {
			return bad(f.name, f.rule, *f.v)
		}
	}
	if w.TMax != nil && w.TMin != nil && *w.TMin > *w.TMax {
		return bad("tMin", fmt.Sprintf("must not exceed tMax (%g)", *w.TMax), *w.TMin)
	}
	if w.RHMax != nil && w.RHMin != nil && fraction(*w.RHMin) > fraction(*w.RHMax) {
		return bad("rhMin", fmt.Sprintf("must not exceed rhMax (%g)", *w.RHMax), *w.RHMin)
	}
	if w.WindHeightM != 0 && !in(w.WindHeightM, 0.5, 100) {
		return bad("windHeightM", "must be 0 (meaning 2 m) or in [0.5, 100] m", w.WindHeightM)
	}
	if !in(w.RainMM, 0, 2000) {
		return bad("rainMM", "must be in [0, 2000] mm", w.RainMM)
	}
	return nil
}

// Days computes ET0 once per day of weather at site and returns the days
// of a scenario, ready for Run and Compare on any number of green areas.
// Dates must be set and consecutive.
func Days(site Site, weather []Weather) ([]Day, error) {
	out := make([]Day, len(weather))
	for i, w := range weather {
		d, err := ET0Detail(w, site)
		if err != nil {
			return nil, fmt.Errorf("fao56: weather[%d] %s: %w", i, w.Date.Format(time.DateOnly), err)
		}
		out[i] = Day{Date: w.Date, ET0: d.ET0, RainMM: w.RainMM, Method: d.Method}
	}
	if err := checkDates(out); err != nil {
		return nil, fmt.Errorf("fao56: %w", err)
	}
	return out, nil
}

// checkDates requires set, consecutive civil dates.
func checkDates(days []Day) error {
	for i := range days {
		if days[i].Date.IsZero() {
			return missing(fmt.Sprintf("days[%d].date", i), "required")
		}
		if i == 0 {
			continue
		}
		y, m, d := days[i-1].Date.AddDate(0, 0, 1).Date()
		y2, m2, d2 := days[i].Date.Date()
		if y != y2 || m != m2 || d != d2 {
			return bad(fmt.Sprintf("days[%d].date", i),
				fmt.Sprintf("must be the day after days[%d].date (%s)", i-1, days[i-1].Date.Format(time.DateOnly)),
				days[i].Date.Format(time.DateOnly))
		}
	}
	return nil
}
