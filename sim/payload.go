package sim

import (
	"strconv"
	"time"
)

// The encoders below append JSON by hand: the key order is fixed, the output
// is byte-for-byte reproducible and a reading costs one allocation. Every
// string written comes from the fleet (ids, URLs, unit codes, validated
// tenant), never from outside, so none needs escaping.

// encode encodes sensor i's reading at t with values vals in the sensor's
// protocol (and shape).
func (f *Fleet) encode(i int, t time.Time, vals *[maxAttrs]float64) []byte {
	switch f.sensors[i].Protocol {
	case ProtocolUL:
		return appendUL(make([]byte, 0, 128), f.model(i), vals, t)
	case ProtocolJSON:
		return appendJSONMeasures(make([]byte, 0, 160), f.model(i), vals, t)
	}
	return f.render(i, t, f.sensors[i].Shape, vals)
}

// appendUL writes an UltraLight 2.0 measure group with a leading
// timestamp (a group with an odd number of fields starts with it):
// "2025-05-06T06:00:00.000Z|l|61.2|x|70.4". Booleans are "true" or "false",
// which the IoT Agent casts like JSON.
func appendUL(b []byte, m *model, v *[maxAttrs]float64, t time.Time) []byte {
	b = appendTime(b, t)
	for k, a := range m.attrs {
		b = append(b, '|')
		b = append(b, a.objectID...)
		b = append(b, '|')
		b = appendNumber(b, a, v[k])
	}
	return b
}

// appendJSONMeasures writes an IoT Agent JSON measure object with the
// observation time as its TimeInstant measure:
// {"TimeInstant":"2025-05-06T06:00:00.000Z","l":61.2,"x":70.4}.
func appendJSONMeasures(b []byte, m *model, v *[maxAttrs]float64, t time.Time) []byte {
	b = append(b, `{"TimeInstant":"`...)
	b = appendTime(b, t)
	b = append(b, '"')
	for k, a := range m.attrs {
		b = append(b, `,"`...)
		b = append(b, a.objectID...)
		b = append(b, `":`...)
		b = appendNumber(b, a, v[k])
	}
	return append(b, '}')
}

func appendNumber(b []byte, a attr, x float64) []byte {
	if a.boolean {
		return strconv.AppendBool(b, x != 0)
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}

// render encodes sensor i's reading at t with values vals in NGSI shape s.
func (f *Fleet) render(i int, t time.Time, s Shape, vals *[maxAttrs]float64) []byte {
	e := entity{s: &f.sensors[i], m: f.model(i), v: vals, t: t}
	variant := f.params[i].variant
	b := make([]byte, 0, 1024)
	switch s {
	case ShapeLDNormalized:
		b = e.appendLD(b, false, true)
	case ShapeLDConcise:
		b = e.appendLD(b, true, true)
	case ShapeLDKeyValues:
		b = e.appendKeyValues(b, !variant)
	case ShapeV2Normalized:
		b = e.appendV2(b)
	case ShapeV2KeyValues:
		b = e.appendKeyValues(b, false)
	case ShapeV2Notification:
		b = append(b, `{"subscriptionId":"`...)
		b = append(b, f.subV2...)
		b = append(b, `","data":[`...)
		b = e.appendV2(b)
		b = append(b, "]}"...)
	case ShapeLDNotification:
		h := mix(f.params[i].salt, uint64(t.UnixMilli()))
		b = append(b, `{"id":"urn:ngsi-ld:Notification:`...)
		b = appendUUID(b, h, mix(h, 1))
		b = append(b, `","type":"Notification","subscriptionId":"`...)
		b = append(b, f.subLD...)
		b = append(b, `","notifiedAt":"`...)
		// The broker notifies 20–200 ms after the observation.
		b = appendTime(b, t.Add(time.Duration(20+h%180)*time.Millisecond))
		b = append(b, `","data":[`...)
		b = e.appendLD(b, false, false)
		b = append(b, "]}"...)
	case ShapeArray:
		b = append(b, '[')
		if variant {
			b = e.appendKeyValues(b, false)
		} else {
			b = e.appendLD(b, false, true)
		}
		b = append(b, ']')
	default:
		panic("sim: unknown shape " + strconv.Quote(string(s)))
	}
	return b
}

// entity is one reading being encoded.
type entity struct {
	s *Sensor
	m *model
	v *[maxAttrs]float64
	t time.Time
}

func (e *entity) appendHead(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, e.s.ID...)
	b = append(b, `","type":"`...)
	b = append(b, e.s.Type...)
	return append(b, '"')
}

// appendLD writes an NGSI-LD entity, normalized or concise (ETSI GS CIM 009
// clause 4.5), with the observation time as observedAt of every property.
func (e *entity) appendLD(b []byte, concise, context bool) []byte {
	b = e.appendHead(b)
	for k, a := range e.m.attrs {
		b = append(b, `,"`...)
		b = append(b, a.name...)
		if concise {
			b = append(b, `":{"value":`...)
		} else {
			b = append(b, `":{"type":"Property","value":`...)
		}
		b = e.appendValue(b, k)
		if a.unitCode != "" {
			b = append(b, `,"unitCode":"`...)
			b = append(b, a.unitCode...)
			b = append(b, '"')
		}
		b = append(b, `,"observedAt":"`...)
		b = appendTime(b, e.t)
		b = append(b, `"}`...)
	}
	for _, x := range e.m.texts {
		b = append(b, `,"`...)
		b = append(b, x[0]...)
		if concise {
			b = append(b, `":"`...)
		} else {
			b = append(b, `":{"type":"Property","value":"`...)
		}
		b = append(b, x[1]...)
		if concise {
			b = append(b, '"')
		} else {
			b = append(b, `"}`...)
		}
	}
	if rn, ro := e.ref(); rn != "" {
		b = append(b, `,"`...)
		b = append(b, rn...)
		if concise {
			b = append(b, `":{"object":"`...)
		} else {
			b = append(b, `":{"type":"Relationship","object":"`...)
		}
		b = append(b, ro...)
		b = append(b, `"}`...)
	}
	if concise {
		b = append(b, `,"location":`...)
		b = e.appendGeo(b)
	} else {
		b = append(b, `,"location":{"type":"GeoProperty","value":`...)
		b = e.appendGeo(b)
		b = append(b, '}')
	}
	if context {
		b = e.appendContext(b)
	}
	return append(b, '}')
}

// appendV2 writes an NGSI-v2 normalized entity; units go in the unitCode
// metadata.
func (e *entity) appendV2(b []byte) []byte {
	b = e.appendHead(b)
	b = append(b, `,"dateObserved":{"type":"DateTime","value":"`...)
	b = appendTime(b, e.t)
	b = append(b, `"}`...)
	for k, a := range e.m.attrs {
		b = append(b, `,"`...)
		b = append(b, a.name...)
		if a.boolean {
			b = append(b, `":{"type":"Boolean","value":`...)
		} else {
			b = append(b, `":{"type":"Number","value":`...)
		}
		b = e.appendValue(b, k)
		if a.unitCode != "" {
			b = append(b, `,"metadata":{"unitCode":{"type":"Text","value":"`...)
			b = append(b, a.unitCode...)
			b = append(b, `"}}`...)
		}
		b = append(b, '}')
	}
	for _, x := range e.m.texts {
		b = append(b, `,"`...)
		b = append(b, x[0]...)
		b = append(b, `":{"type":"Text","value":"`...)
		b = append(b, x[1]...)
		b = append(b, `"}`...)
	}
	if rn, ro := e.ref(); rn != "" {
		b = append(b, `,"`...)
		b = append(b, rn...)
		b = append(b, `":{"type":"Relationship","value":"`...)
		b = append(b, ro...)
		b = append(b, `"}`...)
	}
	b = append(b, `,"location":{"type":"geo:json","value":`...)
	b = e.appendGeo(b)
	return append(b, "}}"...)
}

// appendKeyValues writes a keyValues entity, valid as both NGSI-v2
// (options=keyValues) and NGSI-LD (simplified) when context is false.
func (e *entity) appendKeyValues(b []byte, context bool) []byte {
	b = e.appendHead(b)
	b = append(b, `,"dateObserved":"`...)
	b = appendTime(b, e.t)
	b = append(b, '"')
	for k, a := range e.m.attrs {
		b = append(b, `,"`...)
		b = append(b, a.name...)
		b = append(b, `":`...)
		b = e.appendValue(b, k)
	}
	for _, x := range e.m.texts {
		b = append(b, `,"`...)
		b = append(b, x[0]...)
		b = append(b, `":"`...)
		b = append(b, x[1]...)
		b = append(b, '"')
	}
	if rn, ro := e.ref(); rn != "" {
		b = append(b, `,"`...)
		b = append(b, rn...)
		b = append(b, `":"`...)
		b = append(b, ro...)
		b = append(b, '"')
	}
	b = append(b, `,"location":`...)
	b = e.appendGeo(b)
	if context {
		b = e.appendContext(b)
	}
	return append(b, '}')
}

func (e *entity) appendValue(b []byte, k int) []byte {
	return appendNumber(b, e.m.attrs[k], e.v[k])
}

// ref returns the sensor's one relationship, if any.
func (e *entity) ref() (name, object string) {
	switch {
	case e.s.RefRoadSegment != "":
		return "refRoadSegment", e.s.RefRoadSegment
	case e.s.RefGreenspace != "":
		return "refGreenspace", e.s.RefGreenspace
	}
	return "", ""
}

// appendGeo writes the GeoJSON geometry: the road LineString for traffic,
// a Point otherwise; coordinates are [lon, lat].
func (e *entity) appendGeo(b []byte) []byte {
	if len(e.s.Road) > 0 {
		b = append(b, `{"type":"LineString","coordinates":[`...)
		for j, c := range e.s.Road {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendPos(b, c[0], c[1])
		}
		return append(b, "]}"...)
	}
	b = append(b, `{"type":"Point","coordinates":`...)
	b = appendPos(b, e.s.Lon, e.s.Lat)
	return append(b, '}')
}

func appendPos(b []byte, lon, lat float64) []byte {
	b = append(b, '[')
	b = strconv.AppendFloat(b, lon, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, lat, 'f', -1, 64)
	return append(b, ']')
}

func (e *entity) appendContext(b []byte) []byte {
	b = append(b, `,"@context":["`...)
	b = append(b, e.m.context...)
	return append(b, `"]`...)
}

// appendTime writes t as RFC 3339 in UTC with milliseconds.
func appendTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// appendUUID writes a version 4 UUID made of the 128 bits hi, lo.
func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	const hex = "0123456789abcdef"
	var u [16]byte
	for j := range 8 {
		u[j] = byte(hi >> (56 - 8*j))
		u[8+j] = byte(lo >> (56 - 8*j))
	}
	for j, c := range u {
		if j == 4 || j == 6 || j == 8 || j == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}
