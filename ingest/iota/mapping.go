package iota

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/citytwin/citytwin/twin"
)

// Names and types the IoT Agents give special meaning.
const (
	// TimeInstantAttr is the attribute holding an update's time.
	TimeInstantAttr = "TimeInstant"
	// DefaultEntityType is the entity type of a device whose provisioning
	// names none (the IoT Agents' default).
	DefaultEntityType = "Thing"
	// DefaultAttrType is the type of a measure nobody provisioned.
	DefaultAttrType = "Text"
	// DateTimeType is the type of TimeInstant.
	DateTimeType = "DateTime"
	// isoMillis is how the agents write an arrival time
	// (JavaScript's Date.prototype.toISOString).
	isoMillis = "2006-01-02T15:04:05.000Z"
	// MeasurePrefix renames measures called id or type (measure_id,
	// measure_type), which NGSI reserves.
	MeasurePrefix = "measure_"
	// CommandStatusType and CommandResultType are the types of the
	// {command}_status and {command}_info attributes.
	CommandStatusType = "commandStatus"
	CommandResultType = "commandResult"
)

// Entity is one NGSI-v2 entity update exactly as the IoT Agent would send it
// to the context broker (POST /v2/entities?options=upsert for a single
// update, one element of POST /v2/op/update for a multi-measure), plus the
// tenancy headers and the observation time citytwin derives from it.
type Entity struct {
	// Service and ServicePath are the Fiware-Service and Fiware-ServicePath
	// of the update, the device's (or its group's).
	Service     string
	ServicePath string
	ID          string
	Type        string
	// Attrs are the attributes in the order the agent builds them: static
	// attributes, provisioned attributes, measures nobody provisioned, then
	// TimeInstant when the timestamp option adds it.
	Attrs []EntityAttr
	// Time is the observation time: the TimeInstant attribute's, or the
	// arrival time.
	Time time.Time
	// TimeSource is twin.TimeInstant when the device sent the time, else
	// twin.TimeArrival (also when the timestamp option wrote the arrival
	// time as TimeInstant).
	TimeSource twin.TimeSource
}

// EntityAttr is one NGSI-v2 attribute.
type EntityAttr struct {
	Name     string
	Type     string
	Value    Value
	Metadata map[string]Metadata
}

// Attr returns the named attribute.
func (e *Entity) Attr(name string) (EntityAttr, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return EntityAttr{}, false
}

// set adds a, or replaces an attribute of the same name at its position
// (JavaScript object semantics, as the agent builds the payload).
func (e *Entity) set(a EntityAttr) {
	for i := range e.Attrs {
		if e.Attrs[i].Name == a.Name {
			e.Attrs[i] = a
			return
		}
	}
	e.Attrs = append(e.Attrs, a)
}

// MarshalJSON encodes the entity in NGSI-v2 normalized form:
// {"id", "type", "{attr}": {"type", "value", "metadata"}}.
func (e Entity) MarshalJSON() ([]byte, error) {
	b := []byte(`{"id":`)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	for _, a := range e.Attrs {
		b = append(b, ',')
		b = appendJSONString(b, a.Name)
		b = append(b, `:{"type":`...)
		b = appendJSONString(b, a.Type)
		b = append(b, `,"value":`...)
		b = a.Value.AppendJSON(b)
		if len(a.Metadata) > 0 {
			md, err := json.Marshal(a.Metadata)
			if err != nil {
				return nil, err
			}
			b = append(b, `,"metadata":`...)
			b = append(b, md...)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// profile is a device's effective provisioning: the device's settings over
// its group's, as the IoT Agent library merges them.
type profile struct {
	service, servicePath string
	deviceID             string
	entityName           string
	entityNameExp        string
	entityType           string
	attrs                []Attribute
	statics              []Attribute
	commands             []Command
	timestamp            bool
	explicit             ExplicitAttrs
	// needEnv: some expression may run, so the expression environment
	// (every measure and static value as Go values) must be built. Most
	// devices have none, and building it was most of the mapping's cost.
	needEnv bool
}

// hasExpressions reports whether any attribute or metadata of attrs holds
// an expression.
func hasExpressions(attrs []Attribute) bool {
	for _, a := range attrs {
		if a.Expression != "" {
			return true
		}
		for _, m := range a.Metadata {
			if m.Expression != "" {
				return true
			}
		}
	}
	return false
}

func resolve(m *Measures, dev *Device, grp *Group) profile {
	var p profile
	p.deviceID = m.DeviceID
	if grp != nil {
		p.service, p.servicePath = grp.Service, grp.ServicePath
		p.entityType = grp.EntityType
		p.attrs, p.statics, p.commands = grp.Attributes, grp.StaticAttributes, grp.Commands
		if grp.Timestamp != nil {
			p.timestamp = *grp.Timestamp
		}
		if grp.ExplicitAttrs != nil {
			p.explicit = *grp.ExplicitAttrs
		}
	}
	if dev != nil {
		p.service, p.servicePath = dev.Service, dev.ServicePath
		p.deviceID = dev.DeviceID
		if dev.EntityType != "" {
			p.entityType = dev.EntityType
		}
		p.entityName = dev.EntityName
		p.attrs = mergeAttrs(dev.Attributes, p.attrs, true)
		p.statics = mergeAttrs(dev.StaticAttributes, p.statics, false)
		p.commands = mergeCommands(dev.Commands, p.commands)
		if dev.Timestamp != nil {
			p.timestamp = *dev.Timestamp
		}
		if dev.ExplicitAttrs != nil {
			p.explicit = *dev.ExplicitAttrs
		}
	} else if grp != nil {
		p.entityNameExp = grp.EntityNameExp
	}
	if p.entityType == "" {
		p.entityType = DefaultEntityType
	}
	if p.servicePath == "" {
		p.servicePath = "/"
	}
	if p.entityName == "" {
		p.entityName = p.entityType + ":" + p.deviceID
	}
	p.needEnv = p.entityNameExp != "" || p.explicit.Expr != "" || hasExpressions(p.attrs) || hasExpressions(p.statics)
	return p
}

func objectID(a Attribute) string {
	if a.ObjectID != "" {
		return a.ObjectID
	}
	return a.Name
}

func attrName(a Attribute) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ObjectID
}

// mergeAttrs adds to the device's attributes the group's whose object_id
// (active attributes) or name (static ones) the device does not use: the
// device wins.
func mergeAttrs(dev, grp []Attribute, byObjectID bool) []Attribute {
	if len(grp) == 0 {
		return dev
	}
	key := attrName
	if byObjectID {
		key = objectID
	}
	out := slices.Clip(dev)
	for _, g := range grp {
		if !slices.ContainsFunc(dev, func(d Attribute) bool { return key(d) == key(g) }) {
			out = append(out, g)
		}
	}
	return out
}

func mergeCommands(dev, grp []Command) []Command {
	out := slices.Clip(dev)
	for _, g := range grp {
		if !slices.ContainsFunc(dev, func(d Command) bool { return d.Name == g.Name }) {
			out = append(out, g)
		}
	}
	return out
}

// MapNGSI maps decoded measures to the NGSI-v2 updates the IoT Agent would
// send for them, for a device dev (nil when the device is not provisioned
// and its group autoprovisions it) of group grp (nil when the device
// belongs to none). The rules are iotagent-node-lib's:
//
//   - the entity is the device's entity_name, else "{entity_type}:{device_id}"
//     (the group's entityNameExp for autoprovisioned devices), of the
//     device's entity_type, else the group's, else "Thing";
//   - attributes are the device's, then the group's with other object_ids;
//     static attributes the device's, then the group's with other names;
//   - measures named id or type become measure_id and measure_type;
//   - each static attribute, then each provisioned attribute in order, takes
//     the measure named by its object_id (or name), or its expression's
//     value; measures it took are not sent again under their own name; an
//     attribute whose value equals its skipValue (null by default) is left
//     out, so a failed expression drops its attribute;
//   - measures nobody provisioned follow with type "Text" ("DateTime" for
//     TimeInstant), unless explicitAttrs is true or a list;
//   - with explicitAttrs a list (or an expression giving one), only the
//     listed attributes are sent (plus TimeInstant with timestamp);
//   - with timestamp, the update gets a TimeInstant (the measure's, which
//     must then be ISO 8601, else the arrival time in UTC) and every
//     attribute a TimeInstant metadata;
//   - a group that leaves no attribute sends nothing; a multi-measure whose
//     updates all have a TimeInstant is sorted by it;
//   - a command result becomes {command}_status "OK" and {command}_info.
//
// Unlike the agent, a bad group (a bad TimeInstant) costs only its own
// update, not the whole message. dev and grp must not both be nil. Errors
// are *twin.InputError values, with the field prefixed by the group
// ("groups[1]." for Ultralight, "[1]." for a JSON array) when there are
// several.
func MapNGSI(m Measures, dev *Device, grp *Group, arrival time.Time) ([]Entity, []*twin.InputError) {
	if dev == nil && grp == nil {
		return nil, []*twin.InputError{twin.Errorf(twin.ReasonBadTopic, "", "topic",
			"no device %q and no group with apikey %q is provisioned", clip(m.DeviceID), clip(m.APIKey))}
	}
	p := resolve(&m, dev, grp)
	arrival = arrival.UTC()
	var (
		out  []Entity
		errs []*twin.InputError
	)
	for i, g := range m.Groups {
		prefix := ""
		if len(m.Groups) > 1 {
			prefix = "[" + strconv.Itoa(i) + "]."
			if m.Protocol == ProtocolUL {
				prefix = "groups" + prefix
			}
		}
		e, ok, err := p.mapGroup(g, arrival, prefix)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, e)
		}
	}
	if len(out) > 1 && len(m.Groups) > 1 && allTimed(out) {
		slices.SortStableFunc(out, func(a, b Entity) int { return a.Time.Compare(b.Time) })
	}
	for _, r := range m.Results {
		e, err := p.mapResult(r, arrival)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, e)
	}
	return out, errs
}

func allTimed(es []Entity) bool {
	for i := range es {
		if _, ok := es[i].Attr(TimeInstantAttr); !ok {
			return false
		}
	}
	return true
}

// candidate is an attribute the group may send.
type candidate struct {
	EntityAttr
	objectID string
	skip     *Value // nil: never skipped (measures nobody provisioned)
}

func (p *profile) env(g MeasureGroup) map[string]any {
	env := make(map[string]any, len(g)+len(p.statics)+6)
	for _, m := range g {
		env[m.Name] = m.Value.Any()
	}
	for _, s := range p.statics {
		if s.Value != nil {
			env[attrName(s)] = s.Value.Any()
		}
	}
	env["id"] = p.deviceID
	env["type"] = p.entityType
	env["service"] = p.service
	env["subservice"] = p.servicePath
	return env
}

func (p *profile) mapGroup(g MeasureGroup, arrival time.Time, prefix string) (Entity, bool, *twin.InputError) {
	measures := make(MeasureGroup, 0, len(g))
	for _, m := range g {
		if m.Name == "id" || m.Name == "type" {
			m.Name = MeasurePrefix + m.Name
		}
		measures = measures.set(m)
	}
	var env map[string]any // nil without expressions: writes below are guarded
	if p.needEnv {
		env = p.env(measures)
	}
	e := Entity{Service: p.service, ServicePath: p.servicePath, ID: p.entityName, Type: p.entityType}
	if p.entityNameExp != "" {
		if v, err := evalExpr(p.entityNameExp, env); err == nil && v.Kind == ValueString && v.Str != "" {
			e.ID = v.Str
		}
	}
	if env != nil {
		env["entity_name"] = e.ID
	}

	var cands []candidate
	leftovers := measures
	for _, a := range append(slices.Clip(p.statics), p.attrs...) {
		oid, name := objectID(a), attrName(a)
		mv, present := measures.Get(oid)
		if present && env != nil {
			env[name] = mv.Any()
		} else {
			delete(env, name)
		}
		hit := false
		var val Value
		switch {
		case a.Value != nil:
			hit, val = true, *a.Value
		case present:
			hit, val = true, mv
		}
		if slices.ContainsFunc(leftovers, func(m Measure) bool { return m.Name == oid || m.Name == name }) {
			leftovers = slices.DeleteFunc(slices.Clone(leftovers), func(m Measure) bool { return m.Name == oid || m.Name == name })
		}
		if a.Expression != "" {
			hit = true
			val = evalWithValue(a.Expression, env, mv, present)
		}
		skip := Null
		if a.SkipValue != nil {
			skip = *a.SkipValue
		}
		if hit {
			c := candidate{EntityAttr: EntityAttr{Name: name, Type: a.Type, Value: val}, objectID: oid, skip: &skip}
			c.Metadata = p.metadata(a.Metadata, env)
			cands = append(cands, c)
		}
		if val.IsNull() {
			delete(env, name)
		} else if env != nil {
			env[name] = val.Any()
		}
	}

	all, names, objectIDs := p.explicitAttrs(env)
	if all {
		for _, m := range leftovers {
			typ := DefaultAttrType
			if m.Name == TimeInstantAttr {
				typ = DateTimeType
			}
			cands = append(cands, candidate{EntityAttr: EntityAttr{Name: m.Name, Type: typ, Value: m.Value}})
		}
	}

	var stamp Value
	fromArrival := false
	if p.timestamp {
		for _, c := range cands {
			if c.Name == TimeInstantAttr {
				stamp = c.Value
				break
			}
		}
		if stamp.IsNull() || stamp.Kind == ValueString && stamp.Str == "" {
			stamp, fromArrival = Text(arrival.Format(isoMillis)), true
		} else if _, ok := stampTime(stamp); !ok {
			return e, false, twin.Errorf(twin.ReasonBadTime, e.ID, prefix+TimeInstantAttr,
				"TimeInstant must be an ISO 8601 date-time, got %s%s", clip(stamp.Text()), ulTimestampHint(g))
		}
	}
	for _, c := range cands {
		switch {
		case c.Name == "id" || c.Name == "type":
			continue
		case c.skip != nil && c.Value.Equal(*c.skip):
			continue
		case names != nil && !slices.Contains(names, c.Name) && !(c.objectID != "" && slices.Contains(objectIDs, c.objectID)):
			continue
		}
		if p.timestamp && c.Name != TimeInstantAttr {
			md := make(map[string]Metadata, len(c.Metadata)+1)
			for k, v := range c.Metadata {
				md[k] = v
			}
			md[TimeInstantAttr] = Metadata{Type: DateTimeType, Value: stamp}
			c.Metadata = md
		}
		e.set(c.EntityAttr)
	}
	if len(e.Attrs) == 0 {
		return e, false, nil
	}
	if p.timestamp {
		e.set(EntityAttr{Name: TimeInstantAttr, Type: DateTimeType, Value: stamp})
	}
	if fromArrival {
		e.Time, e.TimeSource = arrival, twin.TimeArrival
	} else if err := e.setTime(arrival, prefix, ulTimestampHint(g)); err != nil {
		return e, false, err
	}
	return e, true, nil
}

// ulTimestampHint explains a bad TimeInstant that came from an Ultralight
// group's first field.
func ulTimestampHint(g MeasureGroup) string {
	if len(g) > 0 && g[len(g)-1].Name == TimeInstantAttr {
		return " (an Ultralight group with an odd number of fields starts with its timestamp)"
	}
	return ""
}

// setTime sets the entity's observation time from its TimeInstant
// attribute, or the arrival time.
func (e *Entity) setTime(arrival time.Time, prefix, hint string) *twin.InputError {
	ti, ok := e.Attr(TimeInstantAttr)
	if !ok {
		e.Time, e.TimeSource = arrival, twin.TimeArrival
		return nil
	}
	t, ok := stampTime(ti.Value)
	if !ok {
		return twin.Errorf(twin.ReasonBadTime, e.ID, prefix+TimeInstantAttr,
			"TimeInstant must be an ISO 8601 date-time, got %s%s", clip(ti.Value.Text()), hint)
	}
	e.Time, e.TimeSource = t, twin.TimeInstant
	return nil
}

func stampTime(v Value) (time.Time, bool) {
	if v.Kind != ValueString {
		return time.Time{}, false
	}
	return parseTime(v.Str)
}

// evalWithValue evaluates an attribute expression. Besides the measures,
// statics and attributes computed so far, the expression may name the
// attribute's own measure "value" (the legacy language's @value, and the
// usual "value * 0.1"), unless a measure is called value.
func evalWithValue(src string, env map[string]any, own Value, present bool) Value {
	if _, taken := env["value"]; !taken && present {
		env["value"] = own.Any()
		defer delete(env, "value")
	}
	v, err := evalExpr(src, env)
	if err != nil {
		return Null
	}
	return v
}

// metadata copies an attribute's metadata, evaluating metadata expressions.
func (p *profile) metadata(md map[string]Metadata, env map[string]any) map[string]Metadata {
	if len(md) == 0 {
		return nil
	}
	out := make(map[string]Metadata, len(md))
	for k, m := range md {
		if m.Expression != "" && k != TimeInstantAttr {
			v, err := evalExpr(m.Expression, env)
			if err != nil {
				v = Null
			}
			m = Metadata{Type: m.Type, Value: v}
		}
		out[k] = m
	}
	return out
}

// explicitAttrs evaluates the explicitAttrs setting: all reports whether
// measures nobody provisioned are sent; names (with objectIDs), when not
// nil, lists the only attributes sent.
//
// As in iotagent-node-lib's code (its api.md says the opposite for
// expressions), an expression giving true or false acts as the boolean
// field does: true sends only what is provisioned. An expression that
// fails sends everything, as the agent's does; one giving anything but a
// boolean or a list sends nothing.
func (p *profile) explicitAttrs(env map[string]any) (all bool, names, objectIDs []string) {
	if p.explicit.Expr == "" {
		return !p.explicit.All, nil, nil
	}
	v, err := evalExpr(p.explicit.Expr, env)
	if err != nil {
		return true, nil, nil
	}
	switch v.Kind {
	case ValueBool:
		return !v.Bool, nil, nil
	case ValueJSON:
		list, ok := v.Any().([]any)
		if !ok {
			return false, []string{}, nil
		}
		names = []string{}
		for _, x := range list {
			switch t := x.(type) {
			case string:
				names = append(names, t)
			case map[string]any:
				if oid, ok := t["object_id"].(string); ok {
					objectIDs = append(objectIDs, oid)
				}
			}
		}
		if len(names)+len(objectIDs) > 0 && p.timestamp {
			names = append(names, TimeInstantAttr)
		}
		return false, names, objectIDs
	}
	return false, []string{}, nil
}

// mapResult maps a command result to the {command}_status and
// {command}_info update.
func (p *profile) mapResult(r CommandResult, arrival time.Time) (Entity, *twin.InputError) {
	e := Entity{Service: p.service, ServicePath: p.servicePath, ID: p.entityName, Type: p.entityType}
	name := ""
	for _, c := range p.commands {
		if c.Name == r.Command || c.ObjectID == r.Command {
			name = c.Name
			break
		}
	}
	if name == "" {
		return e, twin.Errorf(twin.ReasonBadValue, e.ID, "command", "command %q is not provisioned for this device", clip(r.Command))
	}
	st := CommandState{Name: name, Status: CommandOK, Info: r.Value, Updated: arrival}
	e.Attrs = st.Attrs()
	if p.timestamp {
		stamp := Text(arrival.Format(isoMillis))
		for i := range e.Attrs {
			e.Attrs[i].Metadata = map[string]Metadata{TimeInstantAttr: {Type: DateTimeType, Value: stamp}}
		}
		e.Attrs = append(e.Attrs, EntityAttr{Name: TimeInstantAttr, Type: DateTimeType, Value: stamp})
	}
	e.Time, e.TimeSource = arrival, twin.TimeArrival
	return e, nil
}

// parseTime reads an ISO 8601 date-time as the IoT Agents accept them:
// RFC 3339 with or without fractional seconds and zone (no zone is UTC),
// minutes precision, the basic form 20160613T003530Z, or a date alone.
// The result is in UTC.
func parseTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02") || len(s) > 40 {
		return time.Time{}, false
	}
	layouts := []string{
		time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
		"20060102T150405Z07:00", "20060102T150405Z", "2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	if strings.ContainsAny(s, "tz") {
		return parseTime(strings.ToUpper(s))
	}
	return time.Time{}, false
}
