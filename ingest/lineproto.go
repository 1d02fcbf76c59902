package ingest

import (
	"strconv"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/twin"
)

// appendLine appends the InfluxDB line protocol for one observation to buf:
//
//	{EntityType}[,district=…],domain={domain},entity_id={id}[,greenspace=…][,neighbourhood=…][,road=…],tenant={tenant}[,zone=…] {attr}={value},…[,location="{GeoJSON}"] {unix ns}
//
// The location field, present when the observation has one, holds the
// geometry as compact GeoJSON ({"type":"Point","coordinates":[lon,lat]}) so
// that the live state can be rebuilt from InfluxDB after a restart.
//
// The bracketed tags are the sensor's links to the city (o.Links), present
// when set, so that history can be grouped by feature. Tags are in key
// order, as InfluxDB prefers. Numbers are always written as
// floats so that a field never flips between integer and float. The caller has
// validated the observation (no control characters, at least one attribute).
func appendLine(buf []byte, o *twin.Observation) []byte {
	buf = appendEscaped(buf, o.EntityType, measurementEscapes)
	buf = appendTag(buf, ",district=", o.Links.District)
	buf = appendTag(buf, ",domain=", string(o.Domain))
	buf = appendTag(buf, ",entity_id=", o.EntityID)
	buf = appendTag(buf, ",greenspace=", o.Links.GreenArea)
	buf = appendTag(buf, ",neighbourhood=", o.Links.Neighbourhood)
	buf = appendTag(buf, ",road=", o.Links.Road)
	buf = appendTag(buf, ",tenant=", o.Tenant)
	buf = appendTag(buf, ",zone=", o.Links.IrrigationZone)
	buf = append(buf, ' ')
	for i, a := range o.Attrs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendEscaped(buf, a.Name, tagEscapes)
		buf = append(buf, '=')
		switch a.Kind {
		case twin.KindNumber:
			buf = strconv.AppendFloat(buf, a.Num, 'g', -1, 64)
		case twin.KindBool:
			buf = strconv.AppendBool(buf, a.Bool)
		default:
			buf = append(buf, '"')
			buf = appendEscaped(buf, a.Str, stringEscapes)
			buf = append(buf, '"')
		}
	}
	if o.Location != nil {
		buf = append(buf, `,location="`...)
		buf = appendGeoJSON(buf, o.Location)
		buf = append(buf, '"')
	}
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, o.Time.UnixNano(), 10)
	return append(buf, '\n')
}

// appendGeoJSON appends a Point or LineString as GeoJSON already escaped for
// a line-protocol string field (it holds no '"' or '\\' to escape: keys are
// written with \" ). Other geometries are not produced by the decoders.
func appendGeoJSON(buf []byte, g orb.Geometry) []byte {
	appendPt := func(buf []byte, p orb.Point) []byte {
		buf = append(buf, '[')
		buf = strconv.AppendFloat(buf, p[0], 'f', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, p[1], 'f', -1, 64)
		return append(buf, ']')
	}
	switch g := g.(type) {
	case orb.Point:
		buf = append(buf, `{\"type\":\"Point\",\"coordinates\":`...)
		buf = appendPt(buf, g)
	case orb.LineString:
		buf = append(buf, `{\"type\":\"LineString\",\"coordinates\":[`...)
		for i, p := range g {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendPt(buf, p)
		}
		buf = append(buf, ']')
	default:
		return append(buf, "null"...)
	}
	return append(buf, '}')
}

// appendTag appends ",key=value" when value is set (InfluxDB has no empty
// tag values).
func appendTag(buf []byte, key, value string) []byte {
	if value == "" {
		return buf
	}
	buf = append(buf, key...)
	return appendEscaped(buf, value, tagEscapes)
}

type escapeSet uint8

const (
	measurementEscapes escapeSet = iota // comma, space
	tagEscapes                          // comma, equals, space (tag keys/values, field keys)
	stringEscapes                       // double quote, backslash (string field values)
)

func needsEscape(c byte, set escapeSet) bool {
	switch set {
	case measurementEscapes:
		return c == ',' || c == ' '
	case tagEscapes:
		return c == ',' || c == '=' || c == ' '
	default:
		return c == '"' || c == '\\'
	}
}

func appendEscaped(buf []byte, s string, set escapeSet) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i], set) {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', s[i])
			start = i + 1
		}
	}
	return append(buf, s[start:]...)
}
