package iota

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/twin"
)

// Map maps decoded measures to twin observations: MapNGSI's updates, each
// turned into observations by Entity.Observations and checked by
// twin.Validate (arrival is the reference for the future-time rule). It
// returns the valid observations and one *twin.InputError per rejected
// update. Map is safe for concurrent use.
//
// Several measure groups of one message without their own time (UL
// "a|1#a|2", a JSON array) all happen at the arrival time: the IoT Agent
// sends them to the context broker one after the other, where the last
// wins. Stored as points they would overwrite each other (same series,
// same time), so each later update of the same entity at the arrival time
// is moved 1 ns later than the previous one: every accepted reading is
// kept, in order.
func Map(m Measures, dev *Device, grp *Group, arrival time.Time) ([]twin.Observation, []*twin.InputError) {
	ents, errs := MapNGSI(m, dev, grp, arrival)
	out := make([]twin.Observation, 0, len(ents))
	last := map[string]time.Time{} // entity id → time of its previous update at arrival time
	for i := range ents {
		obs, err := ents[i].Observations()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for j := range obs {
			if obs[j].TimeSource == twin.TimeArrival || obs[j].Time.Equal(arrival) {
				if prev, ok := last[obs[j].EntityID]; ok && !obs[j].Time.After(prev) {
					obs[j].Time = prev.Add(time.Nanosecond)
				}
				last[obs[j].EntityID] = obs[j].Time
			}
			if err := twin.Validate(&obs[j], arrival, ""); err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, obs[j])
		}
	}
	return out, errs
}

// TenantOf returns the twin tenant of a Fiware-Service: the service folded
// to lower case, as Orion stores tenants (the IoT Agents forward the header
// as provisioned), or twin.DefaultTenant when there is none.
func TenantOf(service string) string {
	if service == "" {
		return twin.DefaultTenant
	}
	return strings.ToLower(service)
}

// Observations turns the update into twin observations:
//
//   - the tenant is TenantOf(Service); the service path is not kept (the
//     twin has no field for it);
//   - TimeInstant is the observation time (Entity.Time), not an attribute;
//   - "location", else the first attribute of type geo:json, geo:point or
//     GeoProperty, becomes the Location when it is a GeoJSON Point or
//     LineString (or a geo:point "lat, lon" text);
//   - attributes of type Relationship become Refs;
//   - numbers, booleans and text become Attrs, with the unitCode metadata
//     as Unit; objects and arrays become their compact JSON text; null,
//     empty text, and text longer than twin.MaxTextLen or holding control
//     characters are not readings and are left out;
//   - an attribute whose value is an array of {"timestamp", "value"}
//     objects (the JSON agent's single-measure series) yields one
//     observation per element, at its timestamp, with the other attributes
//     copied into each.
//
// Attrs are sorted by name. The observations are not validated: Map does
// that.
func (e *Entity) Observations() ([]twin.Observation, *twin.InputError) {
	o := twin.Observation{
		Tenant:     TenantOf(e.Service),
		EntityID:   e.ID,
		EntityType: e.Type,
		Domain:     twin.DomainOf(e.Type),
		Time:       e.Time.UTC(),
		TimeSource: e.TimeSource,
	}
	var (
		loc      *EntityAttr
		series   *EntityAttr
		elements []seriesPoint
	)
	for i := range e.Attrs {
		a := &e.Attrs[i]
		switch {
		case a.Name == TimeInstantAttr:
			continue
		case a.Name == "location" || isGeoType(a.Type):
			if loc == nil || (a.Name == "location" && loc.Name != "location") {
				loc = a
			}
			continue
		case a.Type == "Relationship":
			if a.Value.Kind == ValueString && a.Value.Str != "" && nameRule(a.Value.Str) == "" {
				if o.Refs == nil {
					o.Refs = make(map[string]string, 1)
				}
				o.Refs[a.Name] = a.Value.Str
			}
			continue
		}
		if series == nil {
			if pts, ok := seriesOf(a.Value); ok {
				series, elements = a, pts
				continue
			}
		}
		if at, ok := twinAttr(a.Name, a.Value, a.Metadata); ok {
			o.Attrs = append(o.Attrs, at)
		}
	}
	if loc != nil {
		g, rule := geometryOf(loc.Type, loc.Value)
		if rule != "" {
			return nil, twin.Errorf(twin.ReasonBadCoordinates, e.ID, loc.Name, "%s", rule)
		}
		o.Location = g
	}
	if series == nil {
		sortAttrs(o.Attrs)
		return []twin.Observation{o}, nil
	}
	out := make([]twin.Observation, 0, len(elements))
	for i, pt := range elements {
		t, ok := parseTime(pt.timestamp)
		if !ok {
			return nil, twin.Errorf(twin.ReasonBadTime, e.ID, series.Name+"["+strconv.Itoa(i)+"].timestamp",
				"timestamp must be an ISO 8601 date-time, got %q", clip(pt.timestamp))
		}
		po := o
		po.Time, po.TimeSource = t, twin.TimeInstant
		po.Attrs = slices.Clone(o.Attrs)
		if at, ok := twinAttr(series.Name, pt.value, series.Metadata); ok {
			po.Attrs = append(po.Attrs, at)
		}
		sortAttrs(po.Attrs)
		out = append(out, po)
	}
	return out, nil
}

func sortAttrs(a []twin.Attr) {
	slices.SortFunc(a, func(x, y twin.Attr) int { return strings.Compare(x.Name, y.Name) })
}

// twinAttr converts a value to a twin attribute, false when it is not a
// reading.
func twinAttr(name string, v Value, md map[string]Metadata) (twin.Attr, bool) {
	a := twin.Attr{Name: name}
	if u, ok := md["unitCode"]; ok && u.Value.Kind == ValueString {
		a.Unit = u.Value.Str
	}
	switch v.Kind {
	case ValueNumber:
		a.Kind, a.Num = twin.KindNumber, v.Num
	case ValueBool:
		a.Kind, a.Bool = twin.KindBool, v.Bool
	case ValueString, ValueJSON:
		if v.Str == "" || len(v.Str) > twin.MaxTextLen || hasControl(v.Str) {
			return a, false
		}
		a.Kind, a.Str = twin.KindString, v.Str
	default:
		return a, false
	}
	return a, true
}

type seriesPoint struct {
	timestamp string
	value     Value
}

// seriesOf reads [{"timestamp": "…", "value": …}, …].
func seriesOf(v Value) ([]seriesPoint, bool) {
	if v.Kind != ValueJSON || !strings.HasPrefix(v.Str, "[") {
		return nil, false
	}
	var raw []map[string]json.RawMessage
	if json.Unmarshal([]byte(v.Str), &raw) != nil || len(raw) == 0 {
		return nil, false
	}
	pts := make([]seriesPoint, len(raw))
	for i, r := range raw {
		if len(r) != 2 || r["timestamp"] == nil || r["value"] == nil {
			return nil, false
		}
		if json.Unmarshal(r["timestamp"], &pts[i].timestamp) != nil {
			return nil, false
		}
		if pts[i].value.UnmarshalJSON(r["value"]) != nil {
			return nil, false
		}
	}
	return pts, true
}

func isGeoType(t string) bool {
	switch t {
	case "geo:json", "geo:point", "GeoProperty", "Point", "LineString":
		return true
	}
	return false
}

// geometryOf reads a location: a GeoJSON Point or LineString ([lon, lat]),
// or "lat, lon" text (NGSI-v2 geo:point). Other geometries give nil and no
// error: they are not a sensor position. Range checks are twin.Validate's.
// geoCache holds parsed GeoJSON locations by their text: a device's static
// location is the same text in every message, and parsing it was a good
// part of the mapping's cost. Bounded: cleared when full. Geometries are
// shared read-only (the twin copies what it keeps).
var geoCache = struct {
	sync.Mutex
	m map[string]orb.Geometry
}{m: map[string]orb.Geometry{}}

const geoCacheMax = 1 << 16

func geometryOf(typ string, v Value) (orb.Geometry, string) {
	if v.Kind == ValueJSON {
		geoCache.Lock()
		g, ok := geoCache.m[v.Str]
		geoCache.Unlock()
		if ok {
			return g, ""
		}
		g, msg := parseGeometry(typ, v)
		if msg == "" {
			geoCache.Lock()
			if len(geoCache.m) >= geoCacheMax {
				clear(geoCache.m)
			}
			geoCache.m[v.Str] = g
			geoCache.Unlock()
		}
		return g, msg
	}
	return parseGeometry(typ, v)
}

func parseGeometry(typ string, v Value) (orb.Geometry, string) {
	if v.Kind == ValueString {
		lat, lon, ok := parseLatLon(v.Str)
		if !ok {
			return nil, "a geo:point must be a \"lat, lon\" text"
		}
		return orb.Point{lon, lat}, ""
	}
	if v.Kind != ValueJSON {
		return nil, "a location must be a GeoJSON geometry or a \"lat, lon\" text"
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal([]byte(v.Str), &g) != nil {
		return nil, "a location must be a GeoJSON geometry"
	}
	switch g.Type {
	case "Point":
		var p []float64
		if json.Unmarshal(g.Coordinates, &p) != nil || len(p) < 2 || len(p) > 3 {
			return nil, "Point coordinates must be [lon, lat] numbers"
		}
		return orb.Point{p[0], p[1]}, ""
	case "LineString":
		var ps [][]float64
		if json.Unmarshal(g.Coordinates, &ps) != nil {
			return nil, "LineString coordinates must be an array of [lon, lat] positions"
		}
		ls := make(orb.LineString, len(ps))
		for i, p := range ps {
			if len(p) < 2 || len(p) > 3 {
				return nil, "LineString coordinates must be an array of [lon, lat] positions"
			}
			ls[i] = orb.Point{p[0], p[1]}
		}
		return ls, ""
	}
	return nil, ""
}

func parseLatLon(s string) (lat, lon float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return lat, lon, err1 == nil && err2 == nil
}
