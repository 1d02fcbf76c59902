package twin

// European Air Quality Index (EEA), six bands, as published by the European
// Environment Agency since 2021 for its up-to-date index
// (https://airindex.eea.europa.eu, "About the European Air Quality Index").
// Concentrations in µg/m³; the EEA applies NO2 and O3 to hourly means and PM2.5
// and PM10 to 24-hour running means. The twin applies the table to each
// sensor's latest reading (or the mean of a feature's latest readings), which
// is an instantaneous reading of the index, not the EEA's averaged one.
//
//	band             PM2.5     PM10       NO2        O3
//	good             0–10      0–20       0–40       0–50
//	fair             10–20     20–40      40–90      50–100
//	moderate         20–25     40–50      90–120     100–130
//	poor             25–50     50–100     120–230    130–240
//	very poor        50–75     100–150    230–340    240–380
//	extremely poor   > 75      > 150      > 340      > 380
//
// The table was cross-checked against two secondary copies (a weather site
// quoting the EEA index levels and open-meteo's EuropeanAirQuality thresholds);
// the primary EEA page could not be fetched, and a later revision of the index
// aligned with the WHO 2021 guidelines, if any, was not confirmed. Bounds are
// upper-inclusive: 10 µg/m³ of PM2.5 is good, 10.1 is fair. The overall band is
// the worst band of any pollutant present (EEA: "the poorest index level for
// any of the pollutants").

// AQI band names, from best to worst.
const (
	AQIGood          = "good"
	AQIFair          = "fair"
	AQIModerate      = "moderate"
	AQIPoor          = "poor"
	AQIVeryPoor      = "very poor"
	AQIExtremelyPoor = "extremely poor"
)

// AQIBands lists the band names from best (index 0) to worst.
var AQIBands = []string{AQIGood, AQIFair, AQIModerate, AQIPoor, AQIVeryPoor, AQIExtremelyPoor}

// aqiUpper holds, per pollutant attribute name (Smart Data Models
// AirQualityObserved), the inclusive upper bounds of the first five bands;
// anything above the last is extremely poor.
var aqiUpper = map[string][5]float64{
	"pm25": {10, 20, 25, 50, 75},
	"pm10": {20, 40, 50, 100, 150},
	"no2":  {40, 90, 120, 230, 340},
	"o3":   {50, 100, 130, 240, 380},
}

// AQIPollutants lists the pollutants the index uses, in the order used to
// break ties (the first pollutant reaching the worst band decides).
var AQIPollutants = []string{"pm25", "pm10", "no2", "o3"}

// AQIBandOf returns the band index (0 = good … 5 = extremely poor) of a
// concentration of pollutant (pm25, pm10, no2 or o3, µg/m³), and false for
// any other pollutant.
func AQIBandOf(pollutant string, conc float64) (int, bool) {
	ub, ok := aqiUpper[pollutant]
	if !ok {
		return 0, false
	}
	for i, u := range ub {
		if conc <= u {
			return i, true
		}
	}
	return len(ub), true
}

// AQI returns the European Air Quality Index band of a set of concentrations
// keyed by pollutant, and the pollutant that decided it (the worst one; ties go
// to the earlier pollutant in AQIPollutants). It returns "", "" when none of
// the index pollutants is present.
func AQI(conc map[string]float64) (band, pollutant string) {
	worst := -1
	for _, p := range AQIPollutants {
		c, ok := conc[p]
		if !ok {
			continue
		}
		b, _ := AQIBandOf(p, c)
		if b > worst {
			worst, pollutant = b, p
		}
	}
	if worst < 0 {
		return "", ""
	}
	return AQIBands[worst], pollutant
}
