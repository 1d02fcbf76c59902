package fao56

import "math"

// Constants of FAO-56 chapter 3.
const (
	// SolarConstant is Gsc, MJ m⁻² min⁻¹ (eq. 21).
	SolarConstant = 0.0820
	// StefanBoltzmann is σ, MJ K⁻⁴ m⁻² d⁻¹ (eq. 39).
	StefanBoltzmann = 4.903e-9
	// Albedo is α of the grass reference crop (eq. 38).
	Albedo = 0.23
	// MJToMM converts radiation in MJ m⁻² d⁻¹ to its evaporation equivalent
	// in mm/day (1/λ with λ = 2.45 MJ/kg, eq. 20).
	MJToMM = 0.408
	// WPerM2ToMJPerDay converts a mean irradiance over the day (W/m²) to a
	// daily sum in MJ m⁻² d⁻¹: 86 400 s × 10⁻⁶.
	WPerM2ToMJPerDay = 0.0864
)

// Pressure returns the atmospheric pressure P (kPa) at elevation z (m),
// eq. 7: P = 101.3·((293 − 0.0065·z)/293)^5.26.
func Pressure(z float64) float64 {
	return 101.3 * math.Pow((293-0.0065*z)/293, 5.26)
}

// Psychrometric returns γ (kPa/°C) at pressure p (kPa), eq. 8:
// γ = 0.665·10⁻³·P.
func Psychrometric(p float64) float64 {
	return 0.665e-3 * p
}

// SaturationVP returns e°(T) (kPa) at air temperature t (°C), eq. 11:
// e°(T) = 0.6108·exp(17.27·T/(T + 237.3)).
func SaturationVP(t float64) float64 {
	return 0.6108 * math.Exp(17.27*t/(t+237.3))
}

// SlopeSVP returns Δ (kPa/°C), the slope of the saturation vapour pressure
// curve at t (°C), eq. 13: Δ = 4098·e°(T)/(T + 237.3)².
func SlopeSVP(t float64) float64 {
	d := t + 237.3
	return 4098 * SaturationVP(t) / (d * d)
}

// Extraterrestrial returns the extraterrestrial radiation Ra (MJ m⁻² d⁻¹)
// and the daylight hours N (h) at latitude latDeg (degrees, north positive)
// on day of year doy (1–366), eqs. 21–25 and 34:
//
//	φ  = π/180·latDeg                                  (eq. 22)
//	dr = 1 + 0.033·cos(2π·J/365)                       (eq. 23)
//	δ  = 0.409·sin(2π·J/365 − 1.39)                    (eq. 24)
//	ωs = arccos(−tan φ·tan δ)                          (eq. 25)
//	Ra = 24·60/π·Gsc·dr·(ωs·sin φ·sin δ + cos φ·cos δ·sin ωs)  (eq. 21)
//	N  = 24/π·ωs                                       (eq. 34)
//
// Beyond the polar circles −tan φ·tan δ leaves [−1, 1]; it is clamped, so
// ωs is 0 (polar night: Ra = 0, N = 0) or π (midnight sun: N = 24).
func Extraterrestrial(latDeg float64, doy int) (ra, n float64) {
	phi := latDeg * math.Pi / 180
	x := 2 * math.Pi * float64(doy) / 365
	dr := 1 + 0.033*math.Cos(x)
	decl := 0.409 * math.Sin(x-1.39)
	sp, cp := math.Sincos(phi)
	sd, cd := math.Sincos(decl)
	arg := -sp / cp * sd / cd
	arg = math.Max(-1, math.Min(1, arg))
	ws := math.Acos(arg)
	ra = 24 * 60 / math.Pi * SolarConstant * dr * (ws*sp*sd + cp*cd*math.Sin(ws))
	return math.Max(0, ra), 24 / math.Pi * ws
}

// WindAt2m converts a wind speed u (m/s) measured at height z (m) above the
// ground to u2 at 2 m, eq. 47: u2 = u·4.87/ln(67.8·z − 5.42).
func WindAt2m(u, z float64) float64 {
	return u * 4.87 / math.Log(67.8*z-5.42)
}

// RsFromWm2 converts the mean solar irradiance over a whole day (W/m²,
// night hours included, as a WeatherObserved solarRadiation average) to the
// daily sum Rs in MJ m⁻² d⁻¹ (× 0.0864).
func RsFromWm2(mean float64) float64 {
	return mean * WPerM2ToMJPerDay
}

// RsAngstrom estimates Rs (MJ m⁻² d⁻¹) from n hours of bright sunshine with
// the Angstrom formula, eq. 35: Rs = (as + bs·n/N)·Ra.
func RsAngstrom(n, daylight, ra, as, bs float64) float64 {
	if daylight <= 0 {
		return 0
	}
	return (as + bs*n/daylight) * ra
}

// ClearSky returns Rso (MJ m⁻² d⁻¹) at elevation z (m), eq. 37:
// Rso = (0.75 + 2·10⁻⁵·z)·Ra.
func ClearSky(ra, z float64) float64 {
	return (0.75 + 2e-5*z) * ra
}

// NetLongwave returns Rnl (MJ m⁻² d⁻¹), eq. 39:
//
//	Rnl = σ·(Tmax,K⁴ + Tmin,K⁴)/2·(0.34 − 0.14·√ea)·(1.35·Rs/Rso − 0.35)
//
// FAO-56 limits Rs/Rso to ≤ 1.0. It is also held at ≥ 0.3 (the lower
// limit of ASCE-EWRI 2005, an assumption of this package): below about 0.26
// the cloudiness factor turns negative, and on a polar-night day Rso = 0.
func NetLongwave(tmax, tmin, ea, rs, rso float64) float64 {
	ratio := 1.0
	if rso > 0 {
		ratio = rs / rso
	}
	ratio = math.Max(0.3, math.Min(1, ratio))
	kx, kn := tmax+273.16, tmin+273.16
	t4 := (kx*kx*kx*kx + kn*kn*kn*kn) / 2
	return StefanBoltzmann * t4 * (0.34 - 0.14*math.Sqrt(ea)) * (1.35*ratio - 0.35)
}

// PenmanMonteith returns the FAO-56 Penman-Monteith reference
// evapotranspiration ET0 (mm/day), eq. 6:
//
//	ET0 = [0.408·Δ·(Rn − G) + γ·900/(T + 273)·u2·(es − ea)] / [Δ + γ·(1 + 0.34·u2)]
//
// with Δ and γ in kPa/°C, Rn and G in MJ m⁻² d⁻¹, t the mean temperature
// (°C), u2 in m/s and es, ea in kPa. A negative result (possible on cold,
// humid, dark days) is returned as 0.
func PenmanMonteith(delta, gamma, rn, g, t, u2, es, ea float64) float64 {
	num := MJToMM*delta*(rn-g) + gamma*900/(t+273)*u2*(es-ea)
	den := delta + gamma*(1+0.34*u2)
	return math.Max(0, num/den)
}

// Hargreaves returns the Hargreaves reference evapotranspiration (mm/day),
// eq. 52: ET0 = 0.0023·(Tmean + 17.8)·(Tmax − Tmin)^0.5·Ra, with Ra given
// in MJ m⁻² d⁻¹ and converted to mm/day (× 0.408) as eq. 52 requires.
func Hargreaves(tmax, tmin, tmean, ra float64) float64 {
	dt := math.Max(0, tmax-tmin)
	return math.Max(0, 0.0023*(tmean+17.8)*math.Sqrt(dt)*ra*MJToMM)
}
