// Package fao56 is the FAO-56 irrigation model behind the planners'
// scenarios ("how much water do the parks need next week"): daily reference
// evapotranspiration, the root-zone water balance of each green area, and
// irrigation policies simulated over a horizon and compared side by side.
// Equation numbers are those of FAO Irrigation and Drainage Paper 56 (Allen,
// Pereira, Raes, Smith, 1998), chapters 3, 4 and 8; the project's summary is
// reference/domain.md §7.
//
// The package does no I/O, starts no goroutines and keeps no state: every
// function is pure and safe for concurrent use.
//
// # Units
//
// Temperatures °C; relative humidity as a fraction 0–1 or a percentage (a
// value above 1 is a percentage, as twin accepts WeatherObserved); wind m/s;
// radiation MJ m⁻² d⁻¹ (RsFromWm2 converts a daily mean in W/m², × 0.0864);
// pressures kPa; depths, rain, ET and depletion mm (= l/m²); soil water
// content θ m³/m³ (SDM soilMoistureVwc); volumes m³; latitude degrees north.
//
// # Reference evapotranspiration (chapter 3, domain.md §7)
//
// ET0 chooses, per day: the day's own ET0 if given; FAO-56 Penman-Monteith
// when temperatures, humidity, wind and radiation (Rs, or sunshine hours)
// are present; Hargreaves when only temperatures are; otherwise an error
// naming the missing field. (FAO-56 also allows Penman-Monteith with
// estimated humidity or wind; this package prefers Hargreaves then, which
// planners can recognise in the reported method.)
//
//	P   = 101.3·((293 − 0.0065·z)/293)^5.26                      eq. 7
//	γ   = 0.665·10⁻³·P                                           eq. 8
//	Tmean = (Tmax + Tmin)/2                                      eq. 9
//	e°(T) = 0.6108·exp(17.27·T/(T + 237.3)), es = (e°(Tmax) + e°(Tmin))/2  eqs. 11–12
//	Δ   = 4098·e°(Tmean)/(Tmean + 237.3)²                        eq. 13
//	ea  = (e°(Tmin)·RHmax + e°(Tmax)·RHmin)/2                    eq. 17
//	    = e°(Tmin)·RHmax (no RHmin)                              eq. 18
//	    = RHmean·es (no RHmax)                                   eq. 19
//	Ra  = 24·60/π·Gsc·dr·(ωs·sin φ·sin δ + cos φ·cos δ·sin ωs)   eqs. 21–25
//	N   = 24/π·ωs                                                eq. 34
//	Rs  = (as + bs·n/N)·Ra, as = 0.25, bs = 0.50 by default      eq. 35
//	Rso = (0.75 + 2·10⁻⁵·z)·Ra                                   eq. 37
//	Rns = (1 − 0.23)·Rs                                          eq. 38
//	Rnl = σ·(Tmax,K⁴ + Tmin,K⁴)/2·(0.34 − 0.14·√ea)·(1.35·Rs/Rso − 0.35)  eq. 39
//	Rn  = Rns − Rnl, G = 0 for daily steps                       eqs. 40, 42
//	u2  = uz·4.87/ln(67.8·z − 5.42)                              eq. 47
//	ET0 = [0.408·Δ·(Rn − G) + γ·900/(T + 273)·u2·(es − ea)] / [Δ + γ·(1 + 0.34·u2)]  eq. 6
//	ET0 = 0.0023·(Tmean + 17.8)·√(Tmax − Tmin)·0.408·Ra (Hargreaves)  eq. 52
//
// Assumptions: Rs/Rso is held in [0.3, 1] in eq. 39 (FAO-56 gives the upper
// bound; the lower one, from ASCE-EWRI 2005, keeps the cloudiness factor
// positive); beyond the polar circles ωs is clamped to [0, π]; a negative
// ET0 is reported as 0. Days computes this chain once per day for a site,
// so that any number of green areas share it.
//
// # Root-zone water balance (chapter 8, domain.md §7)
//
//	TAW = 1000·(θFC − θWP)·Zr                                    eq. 82
//	RAW = p·TAW                                                  eq. 83
//	Ks  = 1 if Dr ≤ RAW, else (TAW − Dr)/(TAW − RAW)             eq. 84
//	ETc = Kc·ET0, ETc,adj = Ks·Kc·ET0                            eqs. 56, 80
//	Dr,i = Dr,i−1 − (P − RO)i − Ii − CRi + ETc,adj,i + DPi       eq. 85
//	DPi = max(0, (P − RO)i + Ii − ETc,adj,i − Dr,i−1)            eq. 88
//	Dr  = 1000·(θFC − θ)·Zr from a measured θ                    eq. 87
//
// with 0 ≤ Dr ≤ TAW (eq. 86) and capillary rise CR = 0. RO is the rain that
// does not count: a day's rain below Area.MinRainMM (default 2 mm, light
// rain intercepted by the canopy and evaporated) counts as 0; rain at or
// above it counts fully (no surface runoff is modelled). Each morning, in
// order: a measured soil moisture θ resets Dr = 1000·(θFC − θ)·Zr clamped to
// [0, TAW]; the policy decides the net irrigation I; Ks is evaluated on the
// depletion left after I; the day's rain, I and ETc,adj give Dr at the end of
// the day, the excess beyond field capacity draining as DP. A day is a
// stress day when Ks < 1.
//
// Defaults (Area's zero fields):
//
//   - θFC 0.32 and Zr 0.3 m, as twin.StateConfig (FieldCapacityVWC,
//     RootDepthM); θWP 0.12, a loam-like soil. With p 0.5: TAW = 60 mm,
//     RAW = 30 mm, and the sensor-equivalent trigger θrefill = θFC −
//     RAW/(1000·Zr) = 0.22 (Area.RefillVWC). twin.StateConfig.RefillVWC
//     defaults to 0.20, the same formula with p = 0.6.
//   - p 0.5, the value FAO-56 chapter 8 gives as common for many crops
//     (Table 22 lists crop-specific values).
//   - Kc 0.8: the annual-average crop coefficient of cool-season turfgrass
//     (Meyer et al. 1985, as tabulated by UC ANR's Center for Landscape &
//     Urban Horticulture, ucanr.edu; warm-season turf 0.6). FAO-56 Table 12
//     lists higher values for well-watered, mown turf grass; parks are
//     managed below that, so 0.8 is an assumption for mixed urban lawns, to
//     be set per area.
//   - Irrigation efficiency 1.0: depths are net, what reaches the root
//     zone, and volumes equal net depth × area. Set it (e.g. 0.7–0.8 for
//     sprinklers) to get the gross volume the network must deliver:
//     m³ = mm·AreaM2/1000/Efficiency.
//
// # Policies
//
// Threshold refills to field capacity (I = Dr) on a morning when the
// depletion at the start of the day is ≥ RAW (FAO-56 "irrigate when Dr ≥
// RAW"). Fixed applies a fixed net depth on given weekdays or every N days.
// RainSkip is a Fixed schedule that skips an event when the day's effective
// rain (plus the next day's, optionally) is positive and at least min(depth,
// Dr). Scenario rain is treated as a perfect forecast. Compare runs several
// policies on the same area and days.
//
// Inputs are validated field by field; errors wrap a *FieldError naming the
// field and the rule.
package fao56
