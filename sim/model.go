package sim

import (
	"math"
	"time"
	_ "time/tzdata" // Europe/Rome must resolve on hosts without zoneinfo.
)

// rome is the local time that drives every daily pattern.
var rome = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("sim: load embedded time zone " + name + ": " + err.Error())
	}
	return loc
}

// attr describes one measured attribute of a model.
type attr struct {
	name     string
	objectID string // the short measure name of IoT Agent payloads
	unitCode string // UN/CEFACT common code; "" for dimensionless or counts
	decimals int    // rounding applied to the value (and so to the payload)
	boolean  bool
}

// model is the attribute layout of one Smart Data Models type.
type model struct {
	attrs   []attr
	texts   [][2]string // constant Text properties: name, value
	context string      // Smart Data Models JSON-LD context of the type's domain
	// vendor makes the type's IoT Agent devices: it names their service
	// group (part of the apikey) and service path.
	vendor string
}

// maxAttrs bounds the attribute count of every model.
const maxAttrs = 5

// Units: 2N dB(A), GQ µg/m³, KMH km/h, CEL °C, D54 W/m², MTS m/s, MMT mm
// (= l/m²). Fractions (occupancy, soilMoistureVwc, relativeHumidity) are
// 0–1 without a unit code, as in the Smart Data Models schemas.
var (
	noiseModel = model{
		attrs: []attr{
			{name: "LAeq", objectID: "l", unitCode: "2N", decimals: 1},
			{name: "LAmax", objectID: "x", unitCode: "2N", decimals: 1},
		},
		texts:   [][2]string{{"sonometerClass", "1"}},
		context: "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld",
		vendor:  "acoustics",
	}
	airModel = model{
		attrs: []attr{
			{name: "no2", objectID: "n", unitCode: "GQ", decimals: 1},
			{name: "pm10", objectID: "p", unitCode: "GQ", decimals: 1},
			{name: "pm25", objectID: "f", unitCode: "GQ", decimals: 1},
			{name: "o3", objectID: "o", unitCode: "GQ", decimals: 1},
		},
		context: "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld",
		vendor:  "airlab",
	}
	trafficModel = model{
		attrs: []attr{
			{name: "intensity", objectID: "i", decimals: 0},
			{name: "occupancy", objectID: "c", decimals: 3},
			{name: "averageVehicleSpeed", objectID: "s", unitCode: "KMH", decimals: 1},
			{name: "congested", objectID: "j", boolean: true},
		},
		texts:   [][2]string{{"laneDirection", "forward"}},
		context: "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld",
		vendor:  "trafficount",
	}
	soilModel = model{
		attrs: []attr{
			{name: "soilMoistureVwc", objectID: "m", decimals: 3},
			{name: "soilTemperature", objectID: "t", unitCode: "CEL", decimals: 1},
		},
		context: "https://raw.githubusercontent.com/smart-data-models/dataModel.ParksAndGardens/master/context.jsonld",
		vendor:  "irrigo",
	}
	// controllerModel is an irrigation controller: a soil probe wired to a
	// valve, reporting whether the valve is open.
	controllerModel = model{
		attrs: []attr{
			{name: "soilMoistureVwc", objectID: "m", decimals: 3},
			{name: "soilTemperature", objectID: "t", unitCode: "CEL", decimals: 1},
			{name: "valveOpen", objectID: "v", boolean: true},
		},
		context: soilModel.context,
		vendor:  soilModel.vendor,
	}
	weatherModel = model{
		attrs: []attr{
			{name: "temperature", objectID: "t", unitCode: "CEL", decimals: 1},
			{name: "relativeHumidity", objectID: "h", decimals: 2},
			{name: "solarRadiation", objectID: "r", unitCode: "D54", decimals: 0},
			{name: "windSpeed", objectID: "w", unitCode: "MTS", decimals: 1},
			{name: "precipitation", objectID: "p", unitCode: "MMT", decimals: 1},
		},
		context: "https://raw.githubusercontent.com/smart-data-models/dataModel.Weather/master/context.jsonld",
		vendor:  "meteo",
	}
)

func modelOf(typ string) *model {
	switch typ {
	case TypeNoise:
		return &noiseModel
	case TypeAir:
		return &airModel
	case TypeTraffic:
		return &trafficModel
	case TypeSoil:
		return &soilModel
	default:
		return &weatherModel
	}
}

// compute returns sensor i's attribute values at t, in model order, rounded.
// Booleans are 0 or 1.
//
// Every value is a deterministic function of the fleet seed, the sensor, the
// Europe/Rome time of day (shifted by up to ±15 min per sensor) and smooth
// seeded noise (value noise with 10-minute knots), so nearby times give
// nearby values and the same (sensor, t) always gives the same reading.
func (f *Fleet) compute(i int, t time.Time) [maxAttrs]float64 {
	p := &f.params[i]
	h := wrapHours(localHours(t) - p.shift)
	ms := t.UnixMilli()
	var v [maxAttrs]float64
	switch f.sensors[i].Type {
	case TypeNoise:
		v[0], v[1] = noiseAt(p, h, ms)
	case TypeAir:
		v[0], v[1], v[2], v[3] = airAt(p, h, ms)
	case TypeTraffic:
		var congested bool
		v[0], v[1], v[2], congested = trafficAt(p, h, ms)
		if congested {
			v[3] = 1
		}
	case TypeSoil:
		v[0], v[1] = soilAt(p, h, ms)
	default:
		v[0], v[1], v[2], v[3], v[4] = weatherAt(p, h, ms)
	}
	m := f.model(i)
	for k, a := range m.attrs {
		if !a.boolean {
			v[k] = round(v[k], a.decimals)
		}
	}
	return v
}

// model returns sensor i's attribute layout.
func (f *Fleet) model(i int) *model {
	if f.sensors[i].Controller {
		return &controllerModel
	}
	return modelOf(f.sensors[i].Type)
}

// trafficLoad is the city's traffic demand at local hour h, relative to the
// morning peak: about 0.02 at 03:00, a morning rush peak of 1 at 08:00, a
// daytime plateau near 0.37 and an evening rush peak of about 0.92 at 18:00.
func trafficLoad(h float64) float64 {
	day := logistic((h-6.5)*2) * logistic((21-h)*1.2)
	return 0.02 + 0.35*day + 0.65*bell(h, 8, 1.0) + 0.55*bell(h, 18, 1.3)
}

// trafficAt models one lane: intensity is vehicles per 5-minute period
// (capacity 110–180 at load 1, scaled by the road's busyness, ±8 % noise);
// occupancy (0–1) grows with the square of the load, so only rush hours
// reach the congested regime (> 0.6); averageVehicleSpeed falls from the
// free-flow speed (45–60 km/h) to 15 km/h as occupancy rises from 0.1 to 0.8.
func trafficAt(p *params, h float64, ms int64) (intensity, occupancy, speed float64, congested bool) {
	load := trafficLoad(h) * p.busy * (1 + 0.08*smooth(p.salt, 1, ms))
	intensity = math.Max(0, math.Round(p.cap*load))
	occupancy = clamp(0.02+0.65*load*load, 0, 0.98)
	occupancy = round(occupancy, 3)
	speed = p.free - (p.free-15)*smoothstep(0.1, 0.8, occupancy) + 2*smooth(p.salt, 2, ms)
	speed = math.Max(5, speed)
	return intensity, occupancy, speed, occupancy > 0.6
}

// noiseAt models a roadside sound level meter. LAeq (dB(A)) rises 16 dB per
// tenfold traffic: LAeq = 72 + 16·lg(load) + calibration offset (±2 dB),
// i.e. about 45 dB(A) in the night and 72 dB(A) at rush hour. LAmax exceeds
// LAeq by 8–15 dB, more at night when single vehicles stand out.
func noiseAt(p *params, h float64, ms int64) (laeq, lamax float64) {
	load := trafficLoad(h) * p.busy * (1 + 0.1*smooth(p.salt, 1, ms))
	laeq = 72 + 16*math.Log10(math.Max(load, 0.005)) + p.offset/2 + 0.8*smooth(p.salt, 2, ms)
	laeq = clamp(laeq, 30, 110)
	quiet := 1 - math.Min(load, 1)
	lamax = laeq + 8 + 7*clamp(0.6*quiet+0.4*(smooth(p.salt, 3, ms)+1)/2, 0, 1)
	return laeq, lamax
}

// airAt models an urban air quality station (µg/m³). no2 follows traffic an
// hour late (20 at night to 80 at rush hour); pm10 (20–60) follows traffic
// two hours late with a slow day-to-day component; pm25 is 0.56–0.64 of
// pm10; o3 (20–120) rises with the afternoon sun, peaking near 15:00, and
// is titrated by no2, so it is anti-correlated with it. All are ≥ 0.
func airAt(p *params, h float64, ms int64) (no2, pm10, pm25, o3 float64) {
	lag1 := math.Min(trafficLoad(wrapHours(h-1))*p.busy, 1.05)
	lag2 := math.Min(trafficLoad(wrapHours(h-2))*p.busy, 1.05)
	no2 = math.Max(0, 20+58*lag1+p.offset+3*smooth(p.salt, 1, ms))
	daily := (smoothPeriod(p.salt, 2, ms, 6*3600_000) + 1) / 2
	pm10 = clamp(20+40*(0.55*lag2+0.3*daily+0.15*(smooth(p.salt, 3, ms)+1)/2), 0, 80)
	pm25 = pm10 * (0.6 + 0.04*smooth(p.salt, 4, ms))
	sun := math.Pow(math.Max(0, math.Sin(math.Pi*(h-7)/16)), 2)
	titration := 1 - 0.5*clamp((no2-20)/60, 0, 1)
	o3 = math.Max(0, 20+110*sun*titration+4*smooth(p.salt, 5, ms))
	return no2, pm10, pm25, o3
}

// soilAt models a soil probe in irrigated turf. An irrigation event at
// 05:00 local time wets the soil within 15 minutes to 0.34–0.42 m³/m³; the
// soil then dries by 0.12–0.18 over the day, a third at a steady rate and
// two thirds following evapotranspiration, fastest in the midday heat.
// soilTemperature (°C) swings ±5 around 16 with a peak at 16:00.
func soilAt(p *params, h float64, ms int64) (vwc, temp float64) {
	since := wrapHours(h - 5) // hours since the last irrigation started
	dried := func(s float64) float64 {
		// Fraction of a day's drying done s hours after 05:00: a linear
		// third plus the cumulative midday bell (centred 13:00, σ 3 h).
		et := (normCDF((5+s-13)/3) - normCDF((5-13)/3)) / (normCDF((29-13)/3) - normCDF((5-13)/3))
		return (s/24 + 2*et) / 3
	}
	dryLevel := p.wet - p.dry*dried(24)
	if since < 0.25 {
		// Watering: ramp from yesterday's dry level to field capacity.
		vwc = dryLevel + (p.wet-dryLevel)*since/0.25
	} else {
		vwc = p.wet - p.dry*dried(since)
	}
	vwc = clamp(vwc+0.003*smooth(p.salt, 1, ms), 0, 1)
	temp = 16 + 5*math.Sin(2*math.Pi*(h-10)/24) + p.offset/2 + 0.3*smooth(p.salt, 2, ms)
	return vwc, temp
}

// weatherAt models a weather station: temperature (°C) between about 12 at
// 03:00 and 28 at 15:00; relativeHumidity (0–1) mirrors it; solarRadiation
// (W/m²) is 0 between 20:00 and 06:00 and a bell peaking near 800 at 13:00,
// dimmed by passing clouds; windSpeed (m/s) 1–6, breezier in the afternoon;
// precipitation (mm in the period) is 0 except in about 4 % of hours.
func weatherAt(p *params, h float64, ms int64) (temp, rh, solar, wind, rain float64) {
	c := math.Cos(2 * math.Pi * (h - 15) / 24)
	temp = 20 + 8*c + p.offset/4 + 0.5*smooth(p.salt, 1, ms)
	rh = clamp(0.55-0.28*c+0.05*smooth(p.salt, 2, ms), 0.05, 1)
	clouds := 0.85 + 0.15*smoothPeriod(p.salt, 3, ms, 3600_000)
	if h > 6 && h < 20 {
		solar = 800 * clouds * math.Pow(math.Sin(math.Pi*(h-6)/14), 2)
	}
	wind = clamp(3+1.5*math.Sin(2*math.Pi*(h-9)/24)+1.2*smooth(p.salt, 4, ms), 0.3, 20)
	hour := floorDiv(ms, 3600_000)
	if u01(p.salt^0x7a1, uint64(hour)) < 0.04 {
		rain = 0.2 + 3*u01(p.salt^0x7a2, uint64(hour))
	}
	return temp, rh, solar, wind, rain
}

// localHours returns the Europe/Rome time of day of t in hours [0, 24).
func localHours(t time.Time) float64 {
	lt := t.In(rome)
	hh, mm, ss := lt.Clock()
	return float64(hh) + float64(mm)/60 + (float64(ss)+float64(lt.Nanosecond())/1e9)/3600
}

func wrapHours(h float64) float64 {
	h = math.Mod(h, 24)
	if h < 0 {
		h += 24
	}
	return h
}

// bell is a Gaussian bump of height 1 centred at hour mu.
func bell(h, mu, sigma float64) float64 {
	d := (h - mu) / sigma
	return math.Exp(-d * d / 2)
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func normCDF(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }

func smoothstep(lo, hi, x float64) float64 {
	x = clamp((x-lo)/(hi-lo), 0, 1)
	return x * x * (3 - 2*x)
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// round rounds x to d decimals.
func round(x float64, d int) float64 {
	p := pow10[d]
	return math.Round(x*p) / p
}

var pow10 = [...]float64{1, 10, 100, 1000, 1e4, 1e5, 1e6}

// mix is the splitmix64 finaliser of a combined with b.
func mix(a, b uint64) uint64 {
	z := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// u01 hashes (salt, k) to [0, 1).
func u01(salt, k uint64) float64 { return float64(mix(salt, k)>>11) / (1 << 53) }

// smooth is value noise in [-1, 1] with 10-minute knots for channel ch of
// a sensor.
func smooth(salt, ch uint64, ms int64) float64 {
	return smoothPeriod(salt, ch, ms, 600_000)
}

func smoothPeriod(salt, ch uint64, ms, period int64) float64 {
	k := floorDiv(ms, period)
	frac := float64(ms-k*period) / float64(period)
	s := mix(salt, ch)
	a := 2*u01(s, uint64(k)) - 1
	b := 2*u01(s, uint64(k+1)) - 1
	w := frac * frac * (3 - 2*frac)
	return a + (b-a)*w
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
