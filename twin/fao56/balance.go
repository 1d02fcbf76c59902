package fao56

import (
	"fmt"
	"math"
	"time"
)

// Defaults of Area; see the package documentation for their sources.
const (
	DefaultKc         = 0.8
	DefaultThetaFC    = 0.32
	DefaultThetaWP    = 0.12
	DefaultRootDepthM = 0.3
	DefaultP          = 0.5
	DefaultEfficiency = 1.0
	DefaultMinRainMM  = 2.0
)

// Area is one green area (or irrigation zone) for the root-zone water
// balance. The zero value of every field but AreaM2 means its default.
type Area struct {
	// ID names the area in errors and results.
	ID string
	// AreaM2 is the irrigated surface (m², > 0), for volumes. Required.
	AreaM2 float64
	// Kc is the single crop coefficient, ETc = Kc·ET0; default 0.8
	// (cool-season turf, annual average), in (0, 2].
	Kc float64
	// ThetaFC is the volumetric water content at field capacity θFC
	// (m³/m³, in (0, 1)); default 0.32 as twin.StateConfig.FieldCapacityVWC.
	ThetaFC float64
	// ThetaWP is the volumetric water content at wilting point θWP
	// (m³/m³, in [0, thetaFC)); default 0.12.
	ThetaWP float64
	// RootDepthM is the rooting depth Zr (m, in (0, 3]); default 0.3 as
	// twin.StateConfig.RootDepthM.
	RootDepthM float64
	// P is the fraction of TAW that can be depleted before stress
	// (FAO-56 p, in (0, 1)); default 0.5.
	P float64
	// Efficiency is the irrigation application efficiency in (0, 1];
	// default 1 (the net depth is what the network delivers). Volumes are
	// net depth·AreaM2/1000/Efficiency.
	Efficiency float64
	// MinRainMM is the smallest daily rain that counts: rain below it is
	// intercepted and evaporates (counted as runoff RO = P); default 2 mm.
	// A negative value makes all rain effective (RO = 0). At most 100.
	MinRainMM float64
}

// WithDefaults returns a with its zero fields set to the defaults.
func (a Area) WithDefaults() Area {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&a.Kc, DefaultKc)
	def(&a.ThetaFC, DefaultThetaFC)
	def(&a.ThetaWP, DefaultThetaWP)
	def(&a.RootDepthM, DefaultRootDepthM)
	def(&a.P, DefaultP)
	def(&a.Efficiency, DefaultEfficiency)
	def(&a.MinRainMM, DefaultMinRainMM)
	return a
}

// Validate checks the area after defaults; the error is a *FieldError.
func (a Area) Validate() error {
	a = a.WithDefaults()
	switch {
	case !(a.AreaM2 > 0 && a.AreaM2 < math.Inf(1)):
		return bad("areaM2", "must be > 0 m² (required for volumes)", a.AreaM2)
	case !(a.Kc > 0 && a.Kc <= 2):
		return bad("kc", "must be in (0, 2]", a.Kc)
	case !(a.ThetaFC > 0 && a.ThetaFC < 1):
		return bad("thetaFC", "must be in (0, 1) m³/m³", a.ThetaFC)
	case !(a.ThetaWP >= 0 && a.ThetaWP < a.ThetaFC):
		return bad("thetaWP", fmt.Sprintf("must be below thetaFC (%g) and ≥ 0", a.ThetaFC), a.ThetaWP)
	case !(a.RootDepthM > 0 && a.RootDepthM <= 3):
		return bad("rootDepthM", "must be in (0, 3] m", a.RootDepthM)
	case !(a.P > 0 && a.P < 1):
		return bad("p", "must be in (0, 1)", a.P)
	case !(a.Efficiency > 0 && a.Efficiency <= 1):
		return bad("efficiency", "must be in (0, 1]", a.Efficiency)
	case !(a.MinRainMM <= 100) || math.IsInf(a.MinRainMM, -1):
		return bad("minRainMM", "must be finite and at most 100 mm (negative: all rain counts)", a.MinRainMM)
	}
	return nil
}

// TAW is the total available water of the root zone, mm (eq. 82):
// TAW = 1000·(θFC − θWP)·Zr. Zero fields take their defaults, here and in
// the other methods of Area.
func (a Area) TAW() float64 {
	a = a.WithDefaults()
	return 1000 * (a.ThetaFC - a.ThetaWP) * a.RootDepthM
}

// RAW is the readily available water, mm (eq. 83): RAW = p·TAW.
func (a Area) RAW() float64 { return a.WithDefaults().P * a.TAW() }

// RefillVWC is the sensor-equivalent trigger: the volumetric water content
// at which Dr = RAW, θrefill = θFC − RAW/(1000·Zr) (reference/domain.md §7).
func (a Area) RefillVWC() float64 {
	a = a.WithDefaults()
	return a.ThetaFC - a.RAW()/(1000*a.RootDepthM)
}

// DepletionFromVWC returns Dr (mm) for a measured volumetric water content
// θ: 1000·(θFC − θ)·Zr (eq. 87) clamped to [0, TAW].
func (a Area) DepletionFromVWC(theta float64) float64 {
	a = a.WithDefaults()
	return depletion(theta, a.ThetaFC, a.RootDepthM, a.TAW())
}

func depletion(theta, fc, zr, taw float64) float64 {
	return math.Max(0, math.Min(taw, 1000*(fc-theta)*zr))
}

// Ks is the water stress coefficient for depletion dr (mm), eq. 84:
// 1 while Dr ≤ RAW, then (TAW − Dr)/(TAW − RAW), 0 at TAW and beyond.
func (a Area) Ks(dr float64) float64 { return ks(dr, a.TAW(), a.RAW()) }

func ks(dr, taw, raw float64) float64 {
	if dr <= raw {
		return 1
	}
	return math.Max(0, (taw-dr)/(taw-raw))
}

// EffectiveRain returns the part of rain (mm) that enters the balance,
// P − RO: 0 below MinRainMM, all of it otherwise.
func (a Area) EffectiveRain(rain float64) float64 {
	return effectiveRain(rain, a.WithDefaults().MinRainMM)
}

func effectiveRain(rain, minRain float64) float64 {
	if rain < minRain {
		return 0
	}
	return rain
}

// Day is one day of a scenario: what the balance needs. Days computes the
// weather part once for all areas; SoilVWC is per area.
type Day struct {
	// Date is the civil day; consecutive across a scenario.
	Date time.Time
	// ET0 is the reference evapotranspiration, mm (in [0, 30]).
	ET0 float64
	// RainMM is the day's precipitation, mm (in [0, 2000]). The scenario
	// treats it as known: the rain-skip policy reads it as the forecast.
	RainMM float64
	// Method is how ET0 was obtained (informative).
	Method string
	// SoilVWC, when set, is a soil moisture θ (m³/m³, in [0, 1]) measured
	// at the start of the day: it resets Dr to 1000·(θFC − θ)·Zr, clamped
	// to [0, TAW], before the day's decision and fluxes.
	SoilVWC *float64
}

// DayResult is one simulated day. Depths are mm over the area.
type DayResult struct {
	Date time.Time
	// ET0, ETc = Kc·ET0 and ETcAdj = Ks·Kc·ET0 (eq. 80).
	ET0, ETc, ETcAdj float64
	// Rain is the precipitation and EffectiveRain its part P − RO.
	Rain, EffectiveRain float64
	// Irrigation is the net depth applied in the morning (0 if none).
	Irrigation float64
	// DrStart is the depletion at the start of the day (after a
	// measurement reset, before irrigation); DrEnd at its end.
	DrStart, DrEnd float64
	// Measured says DrStart came from Day.SoilVWC.
	Measured bool
	// Ks is the stress coefficient of the day (eq. 84, on the depletion
	// after the morning irrigation); Stress is Ks < 1.
	Ks     float64
	Stress bool
	// Drainage is the deep percolation DP (eq. 88): water beyond field
	// capacity that leaves the root zone.
	Drainage float64
}

// Totals sums a Result over the horizon.
type Totals struct {
	// IrrigationMM is the net depth applied; GrossMM = IrrigationMM /
	// Efficiency is what the network delivers.
	IrrigationMM, GrossMM float64
	// VolumeM3 is GrossMM·AreaM2/1000.
	VolumeM3 float64
	// Events is the number of days with irrigation.
	Events int
	// StressDays is the number of days with Ks < 1.
	StressDays int
	// DrainageMM is the total deep percolation; ETcAdjMM the total crop
	// evapotranspiration; EffectiveRainMM the rain that counted.
	DrainageMM, ETcAdjMM, EffectiveRainMM float64
}

// Result is one policy simulated over a horizon for one area.
type Result struct {
	Policy string
	Area   string
	Days   []DayResult
	Totals Totals
}

// Run simulates the daily root-zone balance (eq. 85) of area over days,
// starting from depletion initialDr (mm, in [0, TAW]) at the start of the
// first day, with policy deciding each morning's irrigation. Each day:
//
//  1. a measured SoilVWC resets Dr;
//  2. the policy sees Dr (DrStart) and returns the net depth I ≥ 0;
//  3. Ks (eq. 84) is computed on max(0, Dr − I), ETcAdj = Ks·Kc·ET0;
//  4. Dr,end = Dr − (P − RO) − I + ETcAdj (CR = 0); a negative value is
//     deep percolation DP (eq. 88) and Dr,end = 0; Dr,end ≤ TAW.
func Run(area Area, initialDr float64, days []Day, policy Policy) (Result, error) {
	a, err := prepare(area, initialDr, days)
	if err != nil {
		return Result{}, err
	}
	return run(a, initialDr, days, policy, make([]DayResult, len(days)))
}

// Compare runs every policy on the same area and days; results are in the
// order of policies.
func Compare(area Area, initialDr float64, days []Day, policies ...Policy) ([]Result, error) {
	a, err := prepare(area, initialDr, days)
	if err != nil {
		return nil, err
	}
	if len(policies) == 0 {
		return nil, fmt.Errorf("fao56: compare area %q: %w", a.ID, missing("policies", "at least one policy"))
	}
	out := make([]Result, len(policies))
	buf := make([]DayResult, len(policies)*len(days)) // one allocation for all
	for i, p := range policies {
		if out[i], err = run(a, initialDr, days, p, buf[i*len(days):(i+1)*len(days):(i+1)*len(days)]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// prepare applies the defaults and validates the inputs.
func prepare(area Area, initialDr float64, days []Day) (Area, error) {
	wrap := func(err error) error { return fmt.Errorf("fao56: area %q: %w", area.ID, err) }
	if err := area.Validate(); err != nil {
		return Area{}, wrap(err)
	}
	a := area.WithDefaults()
	if !in(initialDr, 0, a.TAW()) {
		return Area{}, wrap(bad("initialDr", fmt.Sprintf("must be in [0, TAW] = [0, %.4g] mm", a.TAW()), initialDr))
	}
	if len(days) == 0 {
		return Area{}, wrap(missing("days", "at least one day"))
	}
	for i, d := range days {
		switch {
		case !in(d.ET0, 0, 30):
			return Area{}, wrap(bad(fmt.Sprintf("days[%d].et0", i), "must be in [0, 30] mm", d.ET0))
		case !in(d.RainMM, 0, 2000):
			return Area{}, wrap(bad(fmt.Sprintf("days[%d].rainMM", i), "must be in [0, 2000] mm", d.RainMM))
		case d.SoilVWC != nil && !in(*d.SoilVWC, 0, 1):
			return Area{}, wrap(bad(fmt.Sprintf("days[%d].soilVWC", i), "must be in [0, 1] m³/m³", *d.SoilVWC))
		}
	}
	if err := checkDates(days); err != nil {
		return Area{}, wrap(err)
	}
	return a, nil
}

// run is Run on validated inputs; a has its defaults. dst (len(days))
// receives the days.
func run(a Area, dr float64, days []Day, policy Policy, dst []DayResult) (Result, error) {
	if policy == nil {
		return Result{}, fmt.Errorf("fao56: area %q: %w", a.ID, missing("policy", "required"))
	}
	name := policy.Name()
	if v, ok := policy.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return Result{}, fmt.Errorf("fao56: policy %s: %w", name, err)
		}
	}
	taw, raw := a.TAW(), a.RAW()
	res := Result{Policy: name, Area: a.ID, Days: dst}
	t := &res.Totals
	for i, d := range days {
		r := DayResult{Date: d.Date, ET0: d.ET0, Rain: d.RainMM, EffectiveRain: effectiveRain(d.RainMM, a.MinRainMM)}
		if d.SoilVWC != nil {
			dr, r.Measured = depletion(*d.SoilVWC, a.ThetaFC, a.RootDepthM, taw), true
		}
		r.DrStart = dr
		dec := Decision{Index: i, Date: d.Date, DrMM: dr, RAWMM: raw, TAWMM: taw, RainMM: r.EffectiveRain}
		if i+1 < len(days) {
			dec.NextRainMM = effectiveRain(days[i+1].RainMM, a.MinRainMM)
		}
		irr := policy.Irrigation(dec)
		if !(irr >= 0 && irr < math.Inf(1)) {
			return Result{}, fmt.Errorf("fao56: policy %s, area %q: %w", name, a.ID,
				bad(fmt.Sprintf("days[%d].irrigation", i), "must be finite and ≥ 0 mm", irr))
		}
		r.Irrigation = irr
		r.Ks = ks(math.Max(0, dr-irr), taw, raw)
		r.Stress = r.Ks < 1
		r.ETc = a.Kc * d.ET0
		r.ETcAdj = r.Ks * r.ETc
		dr = dr - r.EffectiveRain - irr + r.ETcAdj
		if dr < 0 {
			r.Drainage, dr = -dr, 0
		}
		dr = math.Min(dr, taw)
		r.DrEnd = dr
		res.Days[i] = r

		t.IrrigationMM += irr
		if irr > 0 {
			t.Events++
		}
		if r.Stress {
			t.StressDays++
		}
		t.DrainageMM += r.Drainage
		t.ETcAdjMM += r.ETcAdj
		t.EffectiveRainMM += r.EffectiveRain
	}
	t.GrossMM = t.IrrigationMM / a.Efficiency
	t.VolumeM3 = t.GrossMM * a.AreaM2 / 1000
	return res, nil
}
