package twin

import (
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb"
)

// Domain groups entity types by what the city does with them.
type Domain string

// Domains. Every entity type not listed in KnownTypes is DomainGeneric and is
// stored with its numeric, boolean and short text properties.
const (
	DomainNoise      Domain = "noise"
	DomainAir        Domain = "air"
	DomainTraffic    Domain = "traffic"
	DomainIrrigation Domain = "irrigation"
	DomainGeneric    Domain = "generic"
)

// AttrSpec is what citytwin knows about an attribute of a known entity type.
type AttrSpec struct {
	Kind Kind
	// Unit is the unit the value is expected in, in words (dB(A), µg/m³, …).
	Unit string
	// Min and Max bound plausible values, inclusive. Both zero means unbounded;
	// use math.Inf for one-sided bounds.
	Min, Max float64
}

// TypeSpec describes a known entity type.
type TypeSpec struct {
	Domain Domain
	Attrs  map[string]AttrSpec
}

func num(unit string, lo, hi float64) AttrSpec {
	return AttrSpec{Kind: KindNumber, Unit: unit, Min: lo, Max: hi}
}

var (
	// concentration is any mass concentration: non-negative, with a generous
	// ceiling that no ambient sensor reaches (it catches unit mix-ups).
	concentration = num("µg/m³", 0, 100000)
	fraction      = num("fraction 0–1", 0, 1)
	decibel       = num("dB(A)", 0, 200)
)

// weatherAttrs are shared by WeatherObserved and the weather attributes that
// AirQualityObserved may carry.
var weatherAttrs = map[string]AttrSpec{
	"temperature":         num("°C", -90, 70),
	"relativeHumidity":    num("fraction 0–1 (or percent 0–100)", 0, 100),
	"atmosphericPressure": num("hPa", 300, 1100),
	"pressure":            num("hPa", 300, 1100),
	"precipitation":       num("l/m²", 0, 2000),
	"solarRadiation":      num("W/m²", 0, 2000),
	"windSpeed":           num("m/s", 0, 120),
	"windDirection":       num("degrees", -180, 360),
	"dewPoint":            num("°C", -90, 70),
	"illuminance":         num("lux", 0, 200000),
	"uVIndexMax":          num("UV index", 0, 30),
}

// KnownTypes maps each known NGSI entity type to its domain and attribute
// specifications (Smart Data Models names). Attributes not listed are still
// stored; listed ones are checked for kind and plausible range. Only the
// measures the twin computes with are listed: auxiliary attributes (weather
// values carried by an AirQualityObserved, say) appear in published data with
// other units or even other kinds, and are stored as sent.
var KnownTypes = map[string]TypeSpec{
	"NoiseLevelObserved": {Domain: DomainNoise, Attrs: map[string]AttrSpec{
		"LAeq": decibel, "LAmax": decibel, "LAmin": decibel, "LAS": decibel, "LAeq_d": decibel,
		"LA10": decibel, "LA50": decibel, "LA90": decibel,
		"sonometerClass": {Kind: KindString, Unit: "class \"0\", \"1\" or \"2\""},
		"heightAverage":  num("m", 0, 1000), "distanceAverage": num("m", 0, 100000),
	}},
	"AirQualityObserved": {Domain: DomainAir, Attrs: map[string]AttrSpec{
		"no2": concentration, "no": concentration, "nox": concentration, "pm10": concentration,
		"pm25": concentration, "pm1": concentration, "pm4": concentration, "o3": concentration,
		"co": concentration, "co2": num("ppm or mg/m³", 0, 1000000), "so2": concentration,
		"c6h6": concentration, "sh2": concentration, "pb": concentration, "as": concentration,
		"cd": concentration, "ni": concentration, "tsp": concentration, "tpc": concentration,
		"volatileOrganicCompoundsTotal": concentration,
		"airQualityIndex":               num("index", 0, 1000),
		"reliability":                   fraction,
	}},
	"TrafficFlowObserved": {Domain: DomainTraffic, Attrs: map[string]AttrSpec{
		"intensity":            num("vehicles", 0, 1000000),
		"occupancy":            fraction,
		"averageVehicleSpeed":  num("km/h", 0, 400),
		"averageVehicleLength": num("m", 0, 100),
		"averageGapDistance":   num("m", 0, 100000),
		"averageHeadwayTime":   num("s", 0, 86400),
		"laneId":               num("lane number", 0, 100),
		"congested":            {Kind: KindBool},
		"reversedLane":         {Kind: KindBool},
	}},
	"GreenspaceRecord": {Domain: DomainIrrigation, Attrs: map[string]AttrSpec{
		"soilMoistureVwc":      fraction,
		"soilMoistureEc":       num("S/m", 0, 1000),
		"soilMoisturePressure": num("kPa", -10000, 10000),
		"soilTemperature":      num("°C", -50, 80),
	}},
	"AgriParcelRecord": {Domain: DomainIrrigation, Attrs: map[string]AttrSpec{
		"soilMoistureVwc": fraction,
		"soilMoistureEc":  num("S/m", 0, 1000),
		"soilTemperature": num("°C", -50, 80),
		"depth":           num("m", 0, 100),
	}},
	"WeatherObserved": {Domain: DomainIrrigation, Attrs: weatherAttrs},
}

// DomainOf returns the domain of an entity type.
func DomainOf(entityType string) Domain {
	if s, ok := KnownTypes[entityType]; ok {
		return s.Domain
	}
	return DomainGeneric
}

// MaxFutureSkew is how far ahead of its arrival an observation time may be.
const MaxFutureSkew = 5 * time.Minute

// MaxTextLen is the longest text value stored; longer text is not a reading.
const MaxTextLen = 256

// Validate checks an observation against the rules every stored reading obeys:
// id and type present, time not more than MaxFutureSkew after arrival,
// coordinates in range, every value finite, known attributes of the right kind
// and within their plausible range, and at least one value. It returns the first
// broken rule as an *InputError. fieldPrefix is prepended to field names in
// errors (e.g. "data[2]."), and may be empty.
func Validate(o *Observation, arrival time.Time, fieldPrefix string) *InputError {
	if o.EntityID == "" {
		return Errorf(ReasonMissingID, "", fieldPrefix+"id", "an entity needs a non-empty id")
	}
	if o.EntityType == "" {
		return Errorf(ReasonMissingType, o.EntityID, fieldPrefix+"type", "an entity needs a non-empty type")
	}
	if rule := checkName(o.EntityID, MaxIDLen); rule != "" {
		return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+"id", "%s", rule)
	}
	if rule := checkName(o.EntityType, MaxIDLen); rule != "" {
		return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+"type", "%s", rule)
	}
	if o.EntityType[0] == '_' {
		return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+"type", "must not begin with an underscore (reserved by InfluxDB)")
	}
	if o.Time.After(arrival.Add(MaxFutureSkew)) {
		return Errorf(ReasonFutureTime, o.EntityID, fieldPrefix+timeField(o.TimeSource),
			"observation time %s is more than %s after arrival %s", o.Time.UTC().Format(time.RFC3339), MaxFutureSkew, arrival.UTC().Format(time.RFC3339))
	}
	if o.Location != nil {
		if err := checkLocation(o.Location); err != "" {
			return Errorf(ReasonBadCoordinates, o.EntityID, fieldPrefix+"location", "%s", err)
		}
	}
	spec := KnownTypes[o.EntityType]
	for _, a := range o.Attrs {
		if rule := checkName(a.Name, MaxIDLen); rule != "" {
			return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+a.Name, "attribute name %s", rule)
		}
		if a.Name[0] == '_' || a.Name == "time" {
			return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+a.Name, "attribute name must not be \"time\" or begin with an underscore (reserved by InfluxDB)")
		}
		if a.Kind == KindString {
			if len(a.Str) > MaxTextLen {
				return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+a.Name, "text must be at most %d bytes", MaxTextLen)
			}
			if hasControl(a.Str) {
				return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+a.Name, "text must not contain control characters")
			}
		}
		if a.Kind == KindNumber && (math.IsNaN(a.Num) || math.IsInf(a.Num, 0)) {
			return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+a.Name, "must be a finite number")
		}
		as, ok := spec.Attrs[a.Name]
		if !ok {
			continue
		}
		if a.Kind != as.Kind {
			return Errorf(ReasonBadValue, o.EntityID, fieldPrefix+a.Name, "must be a %s, got a %s", as.Kind, a.Kind)
		}
		if a.Kind == KindNumber && (as.Min != 0 || as.Max != 0) && (a.Num < as.Min || a.Num > as.Max) {
			return Errorf(ReasonOutOfRange, o.EntityID, fieldPrefix+a.Name,
				"must be within %g..%g %s, got %g", as.Min, as.Max, as.Unit, a.Num)
		}
	}
	if len(o.Attrs) == 0 {
		return Errorf(ReasonNoValues, o.EntityID, fieldPrefix, "an entity needs at least one numeric, boolean or short text property to store")
	}
	return nil
}

// MaxIDLen bounds entity ids, types, tenants and attribute names.
const MaxIDLen = 256

// checkName returns the rule a name breaks, or "" when it is acceptable as an
// InfluxDB measurement, tag value or field key.
func checkName(s string, max int) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > max:
		return fmt.Sprintf("must be at most %d bytes", max)
	case hasControl(s):
		return "must not contain control characters"
	case s[len(s)-1] == '\\':
		return "must not end with a backslash"
	}
	return ""
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func timeField(s TimeSource) string {
	switch s {
	case TimeObservedAt:
		return "observedAt"
	case TimeDateObserved:
		return "dateObserved"
	case TimeDateObservedTo:
		return "dateObservedTo"
	case TimeInstant:
		return "TimeInstant"
	}
	return ""
}

func checkLocation(g orb.Geometry) string {
	var pts []orb.Point
	switch v := g.(type) {
	case orb.Point:
		pts = []orb.Point{v}
	case orb.LineString:
		if len(v) < 2 {
			return "a LineString needs at least two positions"
		}
		pts = v
	default:
		return "must be a GeoJSON Point or LineString"
	}
	for _, p := range pts {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			return "coordinates must be [lon, lat] with lon within -180..180 and lat within -90..90"
		}
	}
	return ""
}
