package ngsi

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/valyala/fastjson"

	"github.com/citytwin/citytwin/twin"
)

// entity is the state of decoding one entity. It lives on the stack of
// decoder.entity; nothing in it outlives the call except what is copied into
// the observation.
type entity struct {
	in     Input
	prefix string
	id     string
	obs    twin.Observation
	err    *twin.InputError

	// Shape evidence, see format.
	hasContext bool // "@context" member
	ldTyped    bool // an attribute typed Property, Relationship, GeoProperty, …
	ldMarker   bool // observedAt, unitCode or object outside an NGSI-LD type
	v2Typed    bool // {"type": "Number"|"Text"|…, "value"} or a metadata member
	typeless   bool // {"value": …} with no type: NGSI-LD concise

	// Time candidates, in order of precedence.
	observedAt       time.Time
	hasObservedAt    bool
	dateObserved     *fastjson.Value
	dateObservedTo   *fastjson.Value
	dateObservedFrom *fastjson.Value // the period's start (Observation.Period)
	timeInstant      *fastjson.Value
	metaInstant      time.Time
	metaInstantName  []byte // attribute whose metadata TimeInstant failed to parse
	hasMetaInstant   bool

	// Location candidates: the "location" attribute wins over any other
	// GeoProperty / geo:json attribute.
	loc      *fastjson.Value
	locType  []byte // wrapper type: geo:point needs its own parser
	locName  []byte
	hasNamed bool
}

// entity decodes one entity object whose JSON path prefix is prefix, appends
// an observation or an error to d, and returns the entity's format.
func (d *decoder) entity(o *fastjson.Object, prefix string) Format {
	e := entity{in: d.in, prefix: prefix}
	f := e.decode(o)
	if e.err != nil {
		d.errs = append(d.errs, e.err)
		return f
	}
	if err := twin.Validate(&e.obs, d.in.Arrival, prefix); err != nil {
		d.errs = append(d.errs, err)
		return f
	}
	d.obs = append(d.obs, e.obs)
	return f
}

func (e *entity) fail(reason twin.Reason, field, format string, args ...any) {
	if e.err == nil {
		e.err = twin.Errorf(reason, e.id, e.prefix+field, format, args...)
	}
}

func (e *entity) decode(o *fastjson.Object) Format {
	idv := o.Get("id")
	switch id, ok := str(idv); {
	case idv == nil || (ok && len(id) == 0):
		e.fail(twin.ReasonMissingID, "id", "an entity needs a non-empty id")
	case !ok:
		e.fail(twin.ReasonMissingID, "id", "the entity id must be a string, got %s", typeName(idv))
	case !utf8.Valid(id):
		e.fail(twin.ReasonBadValue, "id", "the entity id must be valid UTF-8")
	default:
		e.id = string(id)
	}
	typv := o.Get("type")
	switch typ, ok := str(typv); {
	case typv == nil || (ok && len(typ) == 0):
		e.fail(twin.ReasonMissingType, "type", "an entity needs a non-empty type")
	case !ok:
		e.fail(twin.ReasonMissingType, "type", "the entity type must be a string, got %s", typeName(typv))
	case !utf8.Valid(typ):
		e.fail(twin.ReasonBadValue, "type", "the entity type must be valid UTF-8")
	default:
		e.obs.EntityType = intern(typ)
	}
	if e.err != nil {
		return e.format()
	}
	e.obs.Tenant = e.in.Tenant
	e.obs.EntityID = e.id
	e.obs.Domain = twin.DomainOf(e.obs.EntityType)
	e.obs.Attrs = make([]twin.Attr, 0, max(o.Len()-2, 1)) // all members but id and type
	o.Visit(func(key []byte, v *fastjson.Value) {
		if e.err == nil {
			e.member(key, v)
		}
	})
	if e.err != nil {
		return e.format()
	}
	e.location()
	e.time()
	if e.err != nil {
		return e.format()
	}
	if len(e.obs.Attrs) > 1 {
		slices.SortFunc(e.obs.Attrs, func(a, b twin.Attr) int { return strings.Compare(a.Name, b.Name) })
		for i := 1; i < len(e.obs.Attrs); i++ {
			if e.obs.Attrs[i].Name == e.obs.Attrs[i-1].Name {
				e.fail(twin.ReasonBadValue, e.obs.Attrs[i].Name, "attribute names must be unique within an entity")
				break
			}
		}
	}
	return e.format()
}

// format names the entity's shape from the evidence its members gave.
func (e *entity) format() Format {
	ld := e.hasContext || e.ldTyped || e.ldMarker ||
		(strings.HasPrefix(e.id, "urn:ngsi-ld:") && !e.v2Typed)
	switch {
	case ld && (e.ldTyped || e.v2Typed):
		return FormatLDNormalized
	case ld && (e.typeless || e.ldMarker):
		return FormatLDConcise
	case ld:
		return FormatLDKeyValues
	case e.v2Typed:
		return FormatV2Normalized
	}
	return FormatV2KeyValues
}

// isLDType tells the NGSI-LD attribute types (ETSI GS CIM 009 clause 4.5).
// Relationship is missing on purpose: NGSI-v2 uses the same type name, and
// the two are told apart by "object" versus "value".
func isLDType(t []byte) bool {
	switch string(t) {
	case "Property", "GeoProperty", "LanguageProperty",
		"ListProperty", "ListRelationship", "JsonProperty", "VocabProperty":
		return true
	}
	return false
}

// member decodes one member of the entity object.
func (e *entity) member(name []byte, v *fastjson.Value) {
	switch string(name) {
	case "id", "type":
		return
	case "@context":
		e.hasContext = true
		return
	}

	// Unwrap the attribute: NGSI-LD normalized {"type":"Property","value"},
	// concise {"value","observedAt"} / {"object"}, NGSI-v2 normalized
	// {"type":"Number","value","metadata"}, or a bare keyValues value.
	inner := v
	var (
		wtype    []byte // wrapper type (NGSI-LD or NGSI-v2)
		unit     []byte
		isRel    bool
		dateType bool
		geoType  bool
	)
	if v.Type() == fastjson.TypeObject {
		o, _ := v.Object()
		tv := o.Get("type")
		wtype, _ = str(tv)
		ld := isLDType(wtype)
		if ld {
			e.ldTyped = true
		}
		value := o.Get("value")
		object := o.Get("object")
		switch {
		case string(wtype) == "Relationship" || (object != nil && tv == nil):
			// NGSI-LD {"type":"Relationship","object"}, concise {"object"},
			// or NGSI-v2 {"type":"Relationship","value"}.
			isRel = true
			switch {
			case object != nil && tv != nil:
				e.ldTyped = true
			case object != nil:
				e.ldMarker = true
			default:
				e.v2Typed = true
			}
			inner = object
			if inner == nil {
				inner = value
			}
		case value != nil:
			inner = value
			unit = unitOf(v)
			switch {
			case ld:
			case tv != nil:
				e.v2Typed = true
			case o.Get("metadata") != nil:
				e.v2Typed = true
			default:
				e.typeless = true
			}
			if !e.attrMeta(name, o) {
				return
			}
			switch string(wtype) {
			case "GeoProperty", "geo:json", "geo:point":
				geoType = true
			case "DateTime", "Date", "Time":
				dateType = true
			}
		case o.Get("@value") != nil:
			// A bare JSON-LD value object, {"@type": "DateTime", "@value": …}.
		case isGeoJSONType(wtype):
			// keyValues GeoJSON geometry.
			geoType = true
			wtype = nil
		default:
			// LanguageProperty, JsonProperty, structured values (address…):
			// not a reading.
			if ld || o.Get("languageMap") != nil {
				e.attrMeta(name, o)
			}
			return
		}
	}
	// JSON-LD value object: {"@type": "DateTime", "@value": "…"}.
	if inner != nil && inner.Type() == fastjson.TypeObject {
		io, _ := inner.Object()
		if at := io.Get("@value"); at != nil {
			if t, _ := str(io.Get("@type")); isDateType(t) {
				dateType = true
			}
			inner = at
		}
	}
	if inner == nil {
		return
	}

	switch string(name) {
	case "location":
		e.loc, e.locType, e.locName, e.hasNamed = inner, wtype, name, true
		return
	case "dateObserved":
		e.dateObserved = inner
		return
	case "dateObservedTo":
		e.dateObservedTo = inner
		return
	case "dateObservedFrom":
		e.dateObservedFrom = inner
		return
	case "TimeInstant":
		e.timeInstant = inner
		return
	case "observedAt", "dateCreated", "dateModified", "createdAt", "modifiedAt",
		"address":
		return
	}
	if geoType {
		if !e.hasNamed && e.loc == nil {
			e.loc, e.locType, e.locName = inner, wtype, name
		}
		return
	}
	// By name, only ids are references: "hasAlarm": true stays a reading.
	if it := inner.Type(); isRel || (isRefName(name) && (it == fastjson.TypeString || it == fastjson.TypeArray)) {
		e.ref(name, inner)
		return
	}
	switch inner.Type() {
	case fastjson.TypeNumber:
		f, err := number(inner)
		if err != nil {
			e.fail(twin.ReasonBadValue, string(name), "must be a number, got %s", show(inner))
			return
		}
		e.obs.Attrs = append(e.obs.Attrs, twin.Attr{Name: intern(name), Kind: twin.KindNumber, Num: f, Unit: internUnit(unit)})
	case fastjson.TypeTrue, fastjson.TypeFalse:
		e.obs.Attrs = append(e.obs.Attrs, twin.Attr{Name: intern(name), Kind: twin.KindBool, Bool: inner.Type() == fastjson.TypeTrue, Unit: internUnit(unit)})
	case fastjson.TypeString:
		s, _ := inner.StringBytes()
		// Like long text, multi-line text (descriptions) is not a reading:
		// skipped rather than costing the entity its readings in twin.Validate.
		if len(s) == 0 || dateType || len(s) > twin.MaxTextLen || hasControl(s) || isTimeName(name) || looksLikeTime(s) {
			return
		}
		if string(s[:min(len(s), len(urnPrefix))]) == urnPrefix {
			// A keyValues relationship: the value is an NGSI-LD entity id.
			e.ref(name, inner)
			return
		}
		if !utf8.Valid(s) {
			e.fail(twin.ReasonBadValue, string(name), "text must be valid UTF-8")
			return
		}
		e.obs.Attrs = append(e.obs.Attrs, twin.Attr{Name: intern(name), Kind: twin.KindString, Str: string(s), Unit: internUnit(unit)})
	}
	// Objects, arrays and null are not readings: skipped.
}

// attrMeta reads the sub-attributes of an attribute wrapper that matter here:
// NGSI-LD observedAt and unitCode, NGSI-v2 metadata TimeInstant and unitCode.
// It returns false when the entity was rejected.
func (e *entity) attrMeta(name []byte, o *fastjson.Object) bool {
	if at := o.Get("observedAt"); at != nil {
		e.ldMarker = true
		t, ok := parseTimeValue(at, false)
		if !ok {
			e.fail(twin.ReasonBadTime, string(name)+".observedAt", "observedAt must be an RFC 3339 date-time, got %s", show(at))
			return false
		}
		if !e.hasObservedAt || t.After(e.observedAt) {
			e.observedAt, e.hasObservedAt = t, true
		}
	}
	if o.Get("unitCode") != nil {
		e.ldMarker = true
	}
	if md := o.Get("metadata"); md != nil && md.Type() == fastjson.TypeObject {
		mo, _ := md.Object()
		if ti := mo.Get("TimeInstant"); ti != nil {
			if ti.Type() == fastjson.TypeObject {
				ti = ti.Get("value")
			}
			t, ok := parseTimeValue(ti, false)
			switch {
			case !ok:
				if e.metaInstantName == nil {
					e.metaInstantName = name
				}
			case !e.hasMetaInstant || t.After(e.metaInstant):
				e.metaInstant, e.hasMetaInstant = t, true
			}
		}
	}
	return true
}

// unitOf returns the unit code of an attribute wrapper: NGSI-LD "unitCode" or
// NGSI-v2 metadata unitCode ({"value": "GQ"} or plain "GQ").
func unitOf(v *fastjson.Value) []byte {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	if u, ok := str(v.Get("unitCode")); ok {
		return u
	}
	uc := v.Get("metadata", "unitCode")
	if uc == nil {
		return nil
	}
	if uc.Type() == fastjson.TypeObject {
		uc = uc.Get("value")
	}
	u, _ := str(uc)
	return u
}

// ref records a relationship: the referenced id, or the first of a list.
func (e *entity) ref(name []byte, v *fastjson.Value) {
	if v.Type() == fastjson.TypeArray {
		a, _ := v.Array()
		if len(a) == 0 {
			return
		}
		v = a[0]
		if v.Type() == fastjson.TypeObject { // Orion-LD {"object": …} list items
			v = v.Get("object")
		}
	}
	s, ok := str(v)
	if !ok || len(s) == 0 || len(s) > twin.MaxIDLen || hasControl(s) || !utf8.Valid(s) {
		return
	}
	if e.obs.Refs == nil {
		e.obs.Refs = make(map[string]string, 2)
	}
	e.obs.Refs[intern(name)] = string(s)
}

// urnPrefix starts NGSI-LD entity ids; a text value that starts with it is a
// reference, not a reading.
const urnPrefix = "urn:ngsi-ld:"

// isRefName tells relationship attributes by the Smart Data Models naming
// rules: "ref" or "has" followed by the referenced type (refDevice,
// refRoadSegment, hasAgriParcel).
func isRefName(name []byte) bool {
	return len(name) > 3 && (string(name[:3]) == "ref" || string(name[:3]) == "has") && name[3] >= 'A' && name[3] <= 'Z'
}

// looksLikeTime tells a text value that is an RFC 3339 date-time: a date, not
// a reading, whatever the attribute's name (nextWateringDeadline).
func looksLikeTime(s []byte) bool {
	if len(s) < len("2006-01-02T15:04:05") || len(s) > len("2006-01-02T15:04:05.999999999-07:00") ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') {
		return false
	}
	_, ok := parseTime(string(s))
	return ok
}

// isTimeName tells date/time attributes by name: the entity-level time keys
// and the Smart Data Models conventions dateXxx and xxxAt (dateLastWatering,
// plannedStartAt). Their text values are not readings.
func isTimeName(name []byte) bool {
	if len(name) > 4 && string(name[:4]) == "date" && name[4] >= 'A' && name[4] <= 'Z' {
		return true
	}
	n := len(name)
	return n > 2 && string(name[n-2:]) == "At" && name[n-3] >= 'a' && name[n-3] <= 'z'
}

func isDateType(t []byte) bool {
	switch string(t) {
	case "DateTime", "Date", "Time", "xsd:dateTime", "xsd:date", "xsd:time":
		return true
	}
	return false
}

func isGeoJSONType(t []byte) bool {
	switch string(t) {
	case "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection":
		return true
	}
	return false
}

// show renders a payload value for an error rule: JSON, shortened, and valid
// UTF-8 whatever the payload held.
func show(v *fastjson.Value) string {
	return strings.ToValidUTF8(clip(v.String()), "\uFFFD")
}

// clip shortens a text quoted in an error rule, on a rune boundary.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// location sets the observation location from the chosen candidate.
func (e *entity) location() {
	if e.loc == nil {
		return
	}
	g, rule := parseGeometry(e.loc, e.locType)
	if rule != "" {
		e.fail(twin.ReasonBadCoordinates, string(e.locName), "%s", rule)
		return
	}
	if g != nil {
		e.obs.Location = g
	}
}

// time sets the observation time by precedence: the latest observedAt of the
// entity's properties, dateObserved (the end of an interval), dateObservedTo,
// TimeInstant (attribute, then the latest metadata TimeInstant), arrival.
func (e *entity) time() {
	pick := func(v *fastjson.Value, field string, src twin.TimeSource, interval bool) {
		t, ok := parseTimeValue(v, interval)
		if !ok {
			e.fail(twin.ReasonBadTime, field, "%s must be an RFC 3339 date-time%s, got %s", field, intervalRule(interval), show(v))
			return
		}
		e.obs.Time, e.obs.TimeSource = t, src
	}
	switch {
	case e.hasObservedAt:
		e.obs.Time, e.obs.TimeSource = e.observedAt, twin.TimeObservedAt
	case e.dateObserved != nil:
		pick(e.dateObserved, "dateObserved", twin.TimeDateObserved, true)
	case e.dateObservedTo != nil:
		pick(e.dateObservedTo, "dateObservedTo", twin.TimeDateObservedTo, false)
	case e.timeInstant != nil:
		pick(e.timeInstant, "TimeInstant", twin.TimeInstant, false)
	case e.metaInstantName != nil:
		e.fail(twin.ReasonBadTime, string(e.metaInstantName)+".metadata.TimeInstant", "metadata TimeInstant must be an RFC 3339 date-time")
	case e.hasMetaInstant:
		e.obs.Time, e.obs.TimeSource = e.metaInstant, twin.TimeInstant
	default:
		e.obs.Time, e.obs.TimeSource = e.in.Arrival.UTC(), twin.TimeArrival
	}
	e.obs.Period = e.period()
}

// maxPeriod bounds an observation period taken from the payload.
const maxPeriod = 24 * time.Hour

// period returns the observation period the entity states (Smart Data
// Models' TrafficFlowObserved counts "during this observation period"):
// dateObserved as an ISO 8601 interval start/end, else dateObservedFrom to
// dateObservedTo; zero when neither is given or they do not make a period
// of up to a day. A malformed period is not an error: the time rules above
// already judged the fields that set the observation time.
func (e *entity) period() time.Duration {
	var from, to time.Time
	var ok bool
	if e.dateObserved != nil {
		if s, isStr := str(e.dateObserved); isStr {
			if i := strings.IndexByte(string(s), '/'); i > 0 {
				from, ok = parseTime(string(s[:i]))
				if ok {
					to, ok = parseTime(string(s[i+1:]))
				}
			}
		}
	}
	if !ok && e.dateObservedFrom != nil && e.dateObservedTo != nil {
		if from, ok = parseTimeValue(e.dateObservedFrom, false); ok {
			to, ok = parseTimeValue(e.dateObservedTo, false)
		}
	}
	if d := to.Sub(from); ok && d > 0 && d <= maxPeriod {
		return d
	}
	return 0
}

func intervalRule(interval bool) string {
	if interval {
		return " or an ISO 8601 interval start/end"
	}
	return ""
}

// parseGeometry reads a GeoJSON Point or LineString ([lon, lat] positions), or
// an NGSI-v2 geo:point "lat, lon" string. Other geometries give a nil
// geometry and no error: they are not a sensor position. Range checks are
// left to twin.Validate.
func parseGeometry(v *fastjson.Value, wtype []byte) (orb.Geometry, string) {
	if string(wtype) == "geo:point" {
		s, ok := str(v)
		if !ok {
			return nil, "a geo:point must be a \"lat, lon\" string"
		}
		lat, lon, ok := parseLatLon(string(s))
		if !ok {
			return nil, "a geo:point must be a \"lat, lon\" string"
		}
		return orb.Point{lon, lat}, ""
	}
	if v.Type() != fastjson.TypeObject {
		return nil, ""
	}
	t, _ := str(v.Get("type"))
	coords := v.Get("coordinates")
	switch string(t) {
	case "Point":
		p, ok := position(coords)
		if !ok {
			return nil, "Point coordinates must be [lon, lat] numbers"
		}
		return p, ""
	case "LineString":
		if coords == nil || coords.Type() != fastjson.TypeArray {
			return nil, "LineString coordinates must be an array of [lon, lat] positions"
		}
		a, _ := coords.Array()
		ls := make(orb.LineString, len(a))
		for i, pv := range a {
			p, ok := position(pv)
			if !ok {
				return nil, "LineString coordinates must be an array of [lon, lat] positions"
			}
			ls[i] = p
		}
		return ls, ""
	}
	return nil, ""
}

// position reads one GeoJSON position; an altitude is ignored.
func position(v *fastjson.Value) (orb.Point, bool) {
	if v == nil || v.Type() != fastjson.TypeArray {
		return orb.Point{}, false
	}
	a, _ := v.Array()
	if len(a) < 2 || len(a) > 3 {
		return orb.Point{}, false
	}
	var p orb.Point
	for i := range 2 {
		if a[i].Type() != fastjson.TypeNumber {
			return orb.Point{}, false
		}
		f, err := number(a[i])
		if err != nil {
			return orb.Point{}, false
		}
		p[i] = f
	}
	return p, true
}

// parseLatLon reads an NGSI-v2 geo:point, "lat, lon".
func parseLatLon(s string) (lat, lon float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return lat, lon, err1 == nil && err2 == nil
}

// typeName names a JSON value's type with its article, for error rules.
func typeName(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "an array"
	case fastjson.TypeString:
		return "a string"
	case fastjson.TypeNumber:
		return "a number"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "a boolean"
	}
	return "null"
}

// hasControl tells text holding ASCII control characters, which twin.Validate
// refuses in stored text.
func hasControl(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// number returns a JSON number's value. fastjson's Float64 rounds some
// exponent forms wrongly (1.1e11 → 1.1000000000000002e11), so those go
// through strconv, which is exact; plain decimals keep the fast path.
func number(v *fastjson.Value) (float64, error) {
	var buf [32]byte
	raw := v.MarshalTo(buf[:0])
	if bytes.IndexAny(raw, "eE") < 0 {
		return v.Float64()
	}
	return strconv.ParseFloat(string(raw), 64)
}
