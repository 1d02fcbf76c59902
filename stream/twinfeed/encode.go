package twinfeed

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// appendSensor encodes a sensor item (see the stream package's PROTOCOL).
func appendSensor(b []byte, s *twin.Sensor, stale bool, names []string) ([]byte, []string) {
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, s.Type)
	b = append(b, `,"domain":`...)
	b = appendString(b, string(s.Domain))
	switch g := s.Location.(type) {
	case orb.Point:
		b = append(b, `,"lon":`...)
		b = appendFloat(b, g[0])
		b = append(b, `,"lat":`...)
		b = appendFloat(b, g[1])
	case orb.LineString:
		b = append(b, `,"geometry":{"type":"LineString","coordinates":[`...)
		for i, p := range g {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendFloat(b, p[0])
			b = append(b, ',')
			b = appendFloat(b, p[1])
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, stale)
	b = append(b, `,"lastSeen":`...)
	b = appendTime(b, s.LastSeen)
	b = append(b, `,"values":{`...)
	names = names[:0]
	for n := range s.Values {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, n, s.Values[n])
	}
	b = append(b, `},"links":`...)
	b = appendLinks(b, &s.Links)
	return append(b, '}'), names
}

// appendSensorPatch encodes a partial sensor item: id, domain and stale
// always; lastSeen when withLastSeen; the values named in changed (sorted);
// links when withLinks. See the stream package's PROTOCOL.
func appendSensorPatch(b []byte, s *twin.Sensor, stale bool, changed []string, withLastSeen, withLinks bool) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = append(b, `,"domain":`...)
	b = appendString(b, string(s.Domain))
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, stale)
	if withLastSeen {
		b = append(b, `,"lastSeen":`...)
		b = appendTime(b, s.LastSeen)
	}
	if len(changed) > 0 {
		b = append(b, `,"values":{`...)
		for i, n := range changed {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, n, s.Values[n])
		}
		b = append(b, '}')
	}
	if withLinks {
		b = append(b, `,"links":`...)
		b = appendLinks(b, &s.Links)
	}
	return append(b, '}')
}

// appendValue encodes "name":{"value":…,"unitCode":…,"observedAt":…}.
func appendValue(b []byte, n string, v twin.Value) []byte {
	b = appendString(b, n)
	b = append(b, `:{"value":`...)
	switch v.Kind {
	case twin.KindNumber:
		b = appendFloat(b, v.Num)
	case twin.KindBool:
		b = strconv.AppendBool(b, v.Bool)
	default:
		b = appendString(b, v.Str)
	}
	if v.Unit != "" {
		b = append(b, `,"unitCode":`...)
		b = appendString(b, v.Unit)
	}
	b = append(b, `,"observedAt":`...)
	b = appendTime(b, v.Time)
	return append(b, '}')
}

// appendLinks encodes {"district":…,…}, the non-empty links.
func appendLinks(b []byte, l *geo.Links) []byte {
	b = append(b, '{')
	first := true
	link := func(k geo.Kind, id string) {
		if id == "" {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = appendString(b, id)
	}
	link(geo.KindDistrict, l.District)
	link(geo.KindNeighbourhood, l.Neighbourhood)
	link(geo.KindRoad, l.Road)
	link(geo.KindGreenArea, l.GreenArea)
	link(geo.KindIrrigationZone, l.IrrigationZone)
	return append(b, '}')
}

// appendFeature encodes a feature item: its kind, id and indicators named
// as the attributes of the feature's NGSI-LD entity (web/ngsild).
func appendFeature(b []byte, k geo.Kind, id string, in *twin.Indicators) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, string(k))
	b = append(b, `,"id":`...)
	b = appendString(b, id)
	b = append(b, `,"indicators":{"sensorCount":`...)
	b = strconv.AppendInt(b, int64(in.Sensors), 10)
	b = append(b, `,"staleSensorCount":`...)
	b = strconv.AppendInt(b, int64(in.StaleSensors), 10)
	num := func(name string, v *float64) {
		if v != nil {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = appendFloat(b, *v)
		}
	}
	num("LAeq", in.LAeq)
	if in.AQIBand != "" {
		b = append(b, `,"aqiBand":`...)
		b = appendString(b, in.AQIBand)
		b = append(b, `,"aqiPollutant":`...)
		b = appendString(b, in.AQIPollutant)
	}
	num("pm25", in.PM25)
	num("pm10", in.PM10)
	num("no2", in.NO2)
	num("o3", in.O3)
	num("congestionIndex", in.Congestion)
	num("intensity", in.Flow)
	num("averageVehicleSpeed", in.Speed)
	num("soilMoistureVwc", in.SoilMoisture)
	num("waterDeficit", in.WaterDeficitMM)
	if in.NeedsWater != nil {
		b = append(b, `,"needsWater":`...)
		b = strconv.AppendBool(b, *in.NeedsWater)
	}
	return append(b, "}}"...)
}

// appendFloat writes a finite number as JSON, anything else as null.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029
// escaped (as encoding/json does) for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
