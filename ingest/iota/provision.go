package iota

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Group is a config group (formerly service group): the template shared by
// the devices that present its apikey. It is the body element of the IoT
// Agent north API's POST /iot/groups ({"groups": […]}) and the deprecated
// POST /iot/services ({"services": […]}), JSON-compatible with both.
//
// Fields the IoT Agents accept that only concern their own context-broker
// connection or the HTTP transport (cbHost, cbroker, trust, endpoint,
// timezone, …) are kept, so that a provisioning round-trips, and have no
// effect on the mapping. Features citytwin does not implement are refused
// by Validate rather than silently ignored.
type Group struct {
	// Service and ServicePath are the Fiware-Service and Fiware-ServicePath
	// headers of the provisioning request (DecodeGroups sets them).
	Service     string `json:"service,omitempty"`
	ServicePath string `json:"service_path,omitempty"`

	// Resource is the southbound HTTP path of the agent ("/iot/d" for
	// Ultralight, "/iot/json" for JSON); ProtocolOf reads it.
	Resource string `json:"resource,omitempty"`
	// APIKey identifies the group in device topics.
	APIKey string `json:"apikey"`
	// EntityType is the NGSI type of the group's devices' entities. The old
	// field name "type" is read too.
	EntityType string `json:"entity_type,omitempty"`
	// EntityNameExp is an expression naming the entity of an autoprovisioned
	// device (default "{entity_type}:{device_id}").
	EntityNameExp string `json:"entityNameExp,omitempty"`
	// Timestamp, when true, stamps every update with a TimeInstant (the
	// measure's, or the arrival time) and every attribute with TimeInstant
	// metadata.
	Timestamp *bool `json:"timestamp,omitempty"`
	// Autoprovision, unless false, lets devices that are not provisioned
	// send measures under the group's apikey (the registry's decision).
	Autoprovision *bool `json:"autoprovision,omitempty"`
	// ExplicitAttrs limits the attributes sent, see ExplicitAttrs.
	ExplicitAttrs *ExplicitAttrs `json:"explicitAttrs,omitempty"`

	Attributes         []Attribute     `json:"attributes,omitempty"`
	Lazy               []Attribute     `json:"lazy,omitempty"`
	StaticAttributes   []Attribute     `json:"static_attributes,omitempty"`
	InternalAttributes json.RawMessage `json:"internal_attributes,omitempty"`
	Commands           []Command       `json:"commands,omitempty"`

	// Protocol is the IoT Agent protocol name ("IoTA-UL", "IoTA-JSON",
	// "PDI-IoTA-UltraLight", …); ProtocolOf reads it.
	Protocol    string `json:"protocol,omitempty"`
	Transport   string `json:"transport,omitempty"`
	PayloadType string `json:"payloadType,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
	Description string `json:"description,omitempty"`
	Endpoint    string `json:"endpoint,omitempty"`
	// ExpressionLanguage is "jexl" or "legacy"; both are read, see
	// ExpressionFunctions.
	ExpressionLanguage string `json:"expressionLanguage,omitempty"`
	NGSIVersion        string `json:"ngsiVersion,omitempty"`
	Trust              string `json:"trust,omitempty"`
	CBHost             string `json:"cbHost,omitempty"`
	CBroker            string `json:"cbroker,omitempty"`
}

// UnmarshalJSON decodes a group, reading the old field "type" as
// entity_type.
func (g *Group) UnmarshalJSON(b []byte) error {
	type plain Group
	var aux struct {
		plain
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*g = Group(aux.plain)
	if g.EntityType == "" {
		g.EntityType = aux.Type
	}
	return nil
}

// Device is a provisioned device: the body element of POST /iot/devices
// ({"devices": […]}). A device without apikey is reached with the agent's
// default key; a device without entity_type takes its group's, and one
// without entity_name is named "{entity_type}:{device_id}".
type Device struct {
	// Service and ServicePath are the Fiware-Service and Fiware-ServicePath
	// headers of the provisioning request (DecodeDevices sets them).
	Service     string `json:"service,omitempty"`
	ServicePath string `json:"service_path,omitempty"`

	DeviceID      string         `json:"device_id"`
	APIKey        string         `json:"apikey,omitempty"`
	EntityName    string         `json:"entity_name,omitempty"`
	EntityType    string         `json:"entity_type,omitempty"`
	Timestamp     *bool          `json:"timestamp,omitempty"`
	ExplicitAttrs *ExplicitAttrs `json:"explicitAttrs,omitempty"`

	Attributes         []Attribute     `json:"attributes,omitempty"`
	Lazy               []Attribute     `json:"lazy,omitempty"`
	StaticAttributes   []Attribute     `json:"static_attributes,omitempty"`
	InternalAttributes json.RawMessage `json:"internal_attributes,omitempty"`
	Commands           []Command       `json:"commands,omitempty"`

	Protocol           string `json:"protocol,omitempty"`
	Transport          string `json:"transport,omitempty"`
	PayloadType        string `json:"payloadType,omitempty"`
	Timezone           string `json:"timezone,omitempty"`
	Endpoint           string `json:"endpoint,omitempty"`
	Polling            *bool  `json:"polling,omitempty"`
	ExpressionLanguage string `json:"expressionLanguage,omitempty"`
	NGSIVersion        string `json:"ngsiVersion,omitempty"`
	CBHost             string `json:"cbHost,omitempty"`
}

// Attribute maps a measure to an entity attribute (in attributes), or is a
// fixed attribute sent with every update (in static_attributes, with a
// Value).
type Attribute struct {
	// ObjectID is the measure name the device uses; empty means Name.
	ObjectID string `json:"object_id,omitempty"`
	// Name is the entity attribute; empty means ObjectID.
	Name string `json:"name,omitempty"`
	// Type is the NGSI attribute type ("Number", "Text", "geo:json", …).
	Type string `json:"type"`
	// Value is the value of a static attribute; active attributes have none.
	Value *Value `json:"value,omitempty"`
	// Metadata are NGSI attribute metadata; {"unitCode": {"type": "Text",
	// "value": "CEL"}} gives the twin.Attr its Unit.
	Metadata map[string]Metadata `json:"metadata,omitempty"`
	// Expression computes the value from the measures, see
	// ExpressionFunctions.
	Expression string `json:"expression,omitempty"`
	// SkipValue is the value for which the attribute is left out of the
	// update (null when unset).
	SkipValue *Value `json:"skipValue,omitempty"`
	// EntityName and EntityType route an attribute to another entity
	// (multi-entity); citytwin refuses them.
	EntityName string `json:"entity_name,omitempty"`
	EntityType string `json:"entity_type,omitempty"`
}

// Metadata is one NGSI-v2 attribute metadata.
type Metadata struct {
	Type  string `json:"type,omitempty"`
	Value Value  `json:"value"`
	// Expression, when set, computes Value like an attribute expression.
	Expression string `json:"expression,omitempty"`
}

// Command is a command the device accepts.
type Command struct {
	ObjectID string `json:"object_id,omitempty"`
	Name     string `json:"name"`
	// Type is "command" (or empty).
	Type string `json:"type,omitempty"`
	// Expression transforms the command value before it is sent; the
	// command's own name holds the value in the expression.
	Expression string `json:"expression,omitempty"`
	// PayloadType transforms the payload: "" or "json" (the protocol
	// encoding), "text", "binaryfromstring", "binaryfromhex",
	// "binaryfromjson" (see EncodeCommand).
	PayloadType string `json:"payloadType,omitempty"`
	// ContentType is for HTTP push commands; kept, unused.
	ContentType string `json:"contentType,omitempty"`
	// MQTT are the publish options of the command.
	MQTT *CommandMQTT `json:"mqtt,omitempty"`
}

// CommandMQTT are per-command MQTT publish options.
type CommandMQTT struct {
	QoS    int  `json:"qos"`
	Retain bool `json:"retain"`
}

// ExplicitAttrs is the explicitAttrs setting: a boolean (true sends only the
// provisioned attributes, false also the measures nobody provisioned), or an
// expression evaluating to a boolean or to the list of attribute names to
// send ("['temperature','humidity']").
type ExplicitAttrs struct {
	// Expr is the expression; when empty, All decides.
	Expr string
	// All is the boolean form.
	All bool
}

// MarshalJSON encodes the boolean or the expression text.
func (e ExplicitAttrs) MarshalJSON() ([]byte, error) {
	if e.Expr != "" {
		return json.Marshal(e.Expr)
	}
	return json.Marshal(e.All)
}

// UnmarshalJSON reads a boolean or an expression text.
func (e *ExplicitAttrs) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	switch t := x.(type) {
	case bool:
		*e = ExplicitAttrs{All: t}
	case string:
		*e = ExplicitAttrs{Expr: t}
	default:
		return errors.New("explicitAttrs must be a boolean or an expression text")
	}
	return nil
}

// FieldError is a provisioning field that breaks a rule.
type FieldError struct {
	// Field is the JSON path of the field ("devices[0].device_id").
	Field string
	// Rule says what the field must be.
	Rule string
}

// Error returns "{field}: {rule}".
func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// DecodeGroups decodes a POST /iot/groups body ({"groups": […]}) or a POST
// /iot/services body ({"services": […]}), stamps each group with the
// request's Fiware-Service and Fiware-ServicePath (an empty path is "/"),
// and validates them. The error joins one *FieldError per broken rule,
// named by JSON path ("services[0].apikey: required").
func DecodeGroups(body []byte, service, servicePath string) ([]Group, error) {
	var doc struct {
		Groups   *[]Group `json:"groups"`
		Services *[]Group `json:"services"`
	}
	if err := decodeBody(body, &doc); err != nil {
		return nil, err
	}
	list, key := doc.Groups, "groups"
	switch {
	case doc.Groups != nil && doc.Services != nil:
		return nil, &FieldError{Field: "services", Rule: "give either groups or services, not both"}
	case doc.Services != nil:
		list, key = doc.Services, "services"
	case doc.Groups == nil:
		return nil, &FieldError{Field: "groups", Rule: "required: the body must be {\"groups\": [...]} or {\"services\": [...]}"}
	}
	var v validator
	v.headers(service, servicePath)
	if servicePath == "" {
		servicePath = "/"
	}
	if len(*list) == 0 {
		v.fail(key, "must hold at least one group")
	}
	for i := range *list {
		g := &(*list)[i]
		g.Service, g.ServicePath = service, servicePath
		g.validate(&v, key+"["+strconv.Itoa(i)+"].")
	}
	return *list, v.err()
}

// DecodeDevices decodes a POST /iot/devices body ({"devices": […]}), stamps
// each device with the request's Fiware-Service and Fiware-ServicePath (an
// empty path is "/"), and validates them, as DecodeGroups does.
func DecodeDevices(body []byte, service, servicePath string) ([]Device, error) {
	var doc struct {
		Devices *[]Device `json:"devices"`
	}
	if err := decodeBody(body, &doc); err != nil {
		return nil, err
	}
	if doc.Devices == nil {
		return nil, &FieldError{Field: "devices", Rule: "required: the body must be {\"devices\": [...]}"}
	}
	var v validator
	v.headers(service, servicePath)
	if servicePath == "" {
		servicePath = "/"
	}
	if len(*doc.Devices) == 0 {
		v.fail("devices", "must hold at least one device")
	}
	for i := range *doc.Devices {
		d := &(*doc.Devices)[i]
		d.Service, d.ServicePath = service, servicePath
		d.validate(&v, "devices["+strconv.Itoa(i)+"].")
	}
	return *doc.Devices, v.err()
}

func decodeBody(body []byte, doc any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(doc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &FieldError{Field: te.Field, Rule: "must be " + jsonTypeName(te.Type.Kind().String()) + ", got " + te.Value}
		}
		return &FieldError{Field: "body", Rule: "must be JSON: " + clip(err.Error())}
	}
	if dec.More() {
		return &FieldError{Field: "body", Rule: "must be a single JSON object"}
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool", "ptr":
		return "a boolean"
	}
	return "a " + kind
}

// Validate checks the group against the rules listed in the package
// documentation. The error joins one *FieldError per broken rule.
func (g *Group) Validate() error {
	var v validator
	g.validate(&v, "")
	return v.err()
}

// Validate checks the device against the rules listed in the package
// documentation. The error joins one *FieldError per broken rule.
func (d *Device) Validate() error {
	var v validator
	d.validate(&v, "")
	return v.err()
}

func (g *Group) validate(v *validator, p string) {
	v.service(p, g.Service, g.ServicePath)
	if g.APIKey == "" {
		v.fail(p+"apikey", "required")
	} else if rule := apikeyRule(g.APIKey); rule != "" {
		v.fail(p+"apikey", rule)
	}
	if g.Resource != "" && (g.Resource[0] != '/' || strings.ContainsAny(g.Resource, " ?#") || hasControl(g.Resource)) {
		v.fail(p+"resource", "must be an HTTP path starting with / (\"/iot/d\", \"/iot/json\")")
	}
	if g.EntityType != "" {
		v.check(p+"entity_type", typeRule(g.EntityType))
	}
	if g.EntityNameExp != "" {
		v.expression(p+"entityNameExp", g.EntityNameExp)
	}
	v.common(p, commonFields{g.ExplicitAttrs, g.Attributes, g.Lazy, g.StaticAttributes, g.Commands, g.PayloadType, g.Timezone})
}

func (d *Device) validate(v *validator, p string) {
	v.service(p, d.Service, d.ServicePath)
	if d.DeviceID == "" {
		v.fail(p+"device_id", "required")
	} else if rule := levelRule(d.DeviceID); rule != "" {
		v.fail(p+"device_id", rule+" (it is an MQTT topic level)")
	} else if strings.ContainsRune(d.DeviceID, '/') {
		v.fail(p+"device_id", "must not contain / (it is an MQTT topic level)")
	}
	if d.APIKey != "" {
		v.check(p+"apikey", apikeyRule(d.APIKey))
	}
	if d.EntityName != "" {
		v.check(p+"entity_name", nameRule(d.EntityName))
	}
	if d.EntityType != "" {
		v.check(p+"entity_type", typeRule(d.EntityType))
	}
	v.common(p, commonFields{d.ExplicitAttrs, d.Attributes, d.Lazy, d.StaticAttributes, d.Commands, d.PayloadType, d.Timezone})
}

// commonFields are the fields groups and devices share.
type commonFields struct {
	explicit    *ExplicitAttrs
	attrs       []Attribute
	lazy        []Attribute
	static      []Attribute
	commands    []Command
	payloadType string
	timezone    string
}

// validator collects broken rules.
type validator struct {
	errs []error
}

func (v *validator) fail(field, rule string) {
	v.errs = append(v.errs, &FieldError{Field: field, Rule: rule})
}

func (v *validator) check(field, rule string) {
	if rule != "" {
		v.fail(field, rule)
	}
}

func (v *validator) err() error { return errors.Join(v.errs...) }

func (v *validator) expression(field, src string) {
	if _, err := compileExpr(src); err != nil {
		v.fail(field, "expression "+err.Error())
	}
}

// headers checks the Fiware-Service and Fiware-ServicePath of a request.
func (v *validator) headers(service, path string) {
	v.check("Fiware-Service", serviceRule(service))
	v.check("Fiware-ServicePath", servicePathRule(path))
}

// service checks the Service and ServicePath fields.
func (v *validator) service(p, service, path string) {
	v.check(p+"service", serviceRule(service))
	v.check(p+"service_path", servicePathRule(path))
}

func (v *validator) common(p string, c commonFields) {
	if c.explicit != nil && c.explicit.Expr != "" {
		v.expression(p+"explicitAttrs", c.explicit.Expr)
	}
	if len(c.lazy) > 0 {
		v.fail(p+"lazy", "lazy attributes are not supported: citytwin is not a context provider, so nothing would ever read them")
	}
	switch c.payloadType {
	case "", "iotagent":
	case "ngsiv2", "ngsild":
		v.fail(p+"payloadType", "NGSI payloads are not mapped by citytwin's IoT Agent: publish them on citytwin's NGSI topics")
	default:
		v.fail(p+"payloadType", "must be iotagent (or empty)")
	}
	if len(c.timezone) > 64 || hasControl(c.timezone) {
		v.fail(p+"timezone", "must be an IANA time zone name")
	}
	for i, a := range c.attrs {
		v.attribute(p+"attributes["+strconv.Itoa(i)+"].", a, false)
	}
	for i, a := range c.static {
		v.attribute(p+"static_attributes["+strconv.Itoa(i)+"].", a, true)
	}
	for i, cmd := range c.commands {
		v.command(p+"commands["+strconv.Itoa(i)+"].", cmd)
	}
}

func (v *validator) attribute(p string, a Attribute, static bool) {
	name := a.Name
	if name == "" {
		name = a.ObjectID
	}
	if name == "" {
		v.fail(p+"name", "required")
	} else {
		v.check(p+"name", attrNameRule(name))
	}
	if a.ObjectID != "" {
		if rule := levelRule(a.ObjectID); rule != "" {
			v.fail(p+"object_id", rule+" (it is an MQTT topic level)")
		} else if strings.ContainsAny(a.ObjectID, "/|#") {
			v.fail(p+"object_id", "must not contain /, | or # (it is an MQTT topic level and an Ultralight key)")
		}
	}
	if a.Type == "" {
		v.fail(p+"type", "required")
	} else {
		v.check(p+"type", nameRule(a.Type))
	}
	switch {
	case static && a.Value == nil:
		v.fail(p+"value", "required: a static attribute needs a value")
	case !static && a.Value != nil:
		v.fail(p+"value", "only static_attributes carry a value")
	}
	if static && a.Expression != "" {
		v.fail(p+"expression", "static attributes have no expression")
	}
	if a.Expression != "" {
		v.expression(p+"expression", a.Expression)
	}
	if a.EntityName != "" || a.EntityType != "" {
		f := p + "entity_name"
		if a.EntityName == "" {
			f = p + "entity_type"
		}
		v.fail(f, "multi-entity mapping is not supported: citytwin keeps one entity per device")
	}
	for k, m := range a.Metadata {
		mp := p + "metadata." + k
		switch {
		case k == "" || hasControl(k) || !utf8.ValidString(k):
			v.fail(p+"metadata", "metadata names must be non-empty text without control characters")
		case k == "unitCode" && m.Expression == "" && m.Value.Kind != ValueString:
			v.fail(mp+".value", "a unitCode must be a UN/CEFACT code text (\"CEL\", \"GQ\", …)")
		}
		if m.Expression != "" {
			v.expression(mp+".expression", m.Expression)
		}
	}
}

func (v *validator) command(p string, c Command) {
	if c.Name == "" {
		v.fail(p+"name", "required")
	} else if rule := attrNameRule(c.Name); rule != "" {
		v.fail(p+"name", rule)
	} else if strings.ContainsAny(c.Name, "@|#=") {
		v.fail(p+"name", "must not contain @, |, # or = (Ultralight command syntax)")
	}
	if c.Type != "" && c.Type != "command" {
		v.fail(p+"type", "must be command")
	}
	if c.Expression != "" {
		v.expression(p+"expression", c.Expression)
	}
	switch c.PayloadType {
	case "", "json", "text", "binaryfromstring", "binaryfromhex", "binaryfromjson":
	default:
		v.fail(p+"payloadType", "must be json, text, binaryfromstring, binaryfromhex or binaryfromjson")
	}
	if c.MQTT != nil && (c.MQTT.QoS < 0 || c.MQTT.QoS > 2) {
		v.fail(p+"mqtt.qos", "must be 0, 1 or 2")
	}
}

// MaxAPIKeyLen bounds apikeys.
const MaxAPIKeyLen = 64

// apikeyRule: 1-64 characters of [A-Za-z0-9_-], not a protocol prefix.
func apikeyRule(s string) string {
	if s == "" || len(s) > MaxAPIKeyLen {
		return "must be 1-64 characters of [A-Za-z0-9_-]"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return "must be 1-64 characters of [A-Za-z0-9_-]"
		}
	}
	if s == "ul" || s == "json" {
		return "must not be ul or json (a topic level that names the protocol)"
	}
	return ""
}

// maxNameLen bounds entity ids, types and attribute names (twin.MaxIDLen).
const maxNameLen = 256

// nameRule is what twin.Validate asks of ids: 1-256 bytes of valid UTF-8,
// no control characters, not ending with a backslash.
func nameRule(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > maxNameLen:
		return "must be at most 256 bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case hasControl(s):
		return "must not contain control characters"
	case s[len(s)-1] == '\\':
		return "must not end with a backslash"
	}
	return ""
}

// typeRule adds to nameRule what twin.Validate asks of entity types.
func typeRule(s string) string {
	if rule := nameRule(s); rule != "" {
		return rule
	}
	if s[0] == '_' {
		return "must not begin with an underscore (reserved by InfluxDB)"
	}
	return ""
}

// attrNameRule adds to nameRule what twin.Validate asks of attribute names
// and what NGSI reserves.
func attrNameRule(s string) string {
	if rule := nameRule(s); rule != "" {
		return rule
	}
	switch {
	case s == "id" || s == "type":
		return "must not be id or type (reserved by NGSI)"
	case s == "time" || s[0] == '_':
		return "must not be \"time\" or begin with an underscore (reserved by InfluxDB)"
	}
	return ""
}

// serviceRule is Orion's rule for Fiware-Service: up to 50 characters of
// [A-Za-z0-9_]; empty means the default tenant.
func serviceRule(s string) string {
	if len(s) > 50 {
		return "must be at most 50 characters of [A-Za-z0-9_]"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return "must be at most 50 characters of [A-Za-z0-9_]"
		}
	}
	return ""
}

// servicePathRule is Orion's rule for the Fiware-ServicePath of an update:
// "/" or up to 10 levels "/a/b" of 1-50 characters of [A-Za-z0-9_]; empty
// means "/".
func servicePathRule(s string) string {
	if s == "" || s == "/" {
		return ""
	}
	const rule = "must be / or up to 10 levels /a/b of 1-50 characters of [A-Za-z0-9_]"
	if s[0] != '/' {
		return rule
	}
	levels := strings.Split(s[1:], "/")
	if len(levels) > 10 {
		return rule
	}
	for _, l := range levels {
		if l == "" || serviceRule(l) != "" {
			return rule
		}
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

// clip shortens text quoted in an error rule, on a rune boundary, and makes
// it valid UTF-8.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// ProtocolOf returns the protocol a device's provisioning declares: its
// group's resource ("/iot/d" → ProtocolUL, "/iot/json" → ProtocolJSON),
// which is what routes a device to an IoT Agent; else the device's, then
// the group's, protocol name ("…UL…", "…UltraLight…" → ProtocolUL,
// "…JSON…" → ProtocolJSON); else ProtocolUnknown. Either argument may be
// nil. ResolveProtocol says when to trust it.
func ProtocolOf(dev *Device, grp *Group) Protocol {
	if grp != nil {
		if p := ProtocolOfResource(grp.Resource); p != ProtocolUnknown {
			return p
		}
	}
	if dev != nil {
		if p := protocolName(dev.Protocol); p != ProtocolUnknown {
			return p
		}
	}
	if grp != nil {
		return protocolName(grp.Protocol)
	}
	return ProtocolUnknown
}

// ProtocolOfResource returns the protocol of an IoT Agent southbound
// resource: "/iot/d" is Ultralight's default, "/iot/json" JSON's.
func ProtocolOfResource(resource string) Protocol {
	switch strings.TrimSuffix(resource, "/") {
	case "/iot/d", "/iot/ul":
		return ProtocolUL
	case "/iot/json":
		return ProtocolJSON
	}
	return ProtocolUnknown
}

func protocolName(s string) Protocol {
	u := strings.ToUpper(s)
	switch {
	case strings.Contains(u, "JSON"):
		return ProtocolJSON
	case strings.Contains(u, "ULTRALIGHT"), strings.Contains(u, "IOTA-UL"), strings.HasSuffix(u, "_UL"), u == "UL":
		return ProtocolUL
	}
	return ProtocolUnknown
}
