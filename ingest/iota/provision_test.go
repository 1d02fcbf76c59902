package iota_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/ingest/iota"
)

func TestDecodeGroups(t *testing.T) {
	body := `{"services": [{"resource": "/iot/d", "apikey": "80K09H324HV8732", "entity_type": "SensorMachine",
		"cbHost": "http://192.168.1.1:1026", "cbroker": "http://x", "trust": "t", "commands": [], "lazy": [],
		"timestamp": true, "autoprovision": false, "explicitAttrs": "['temperature']", "transport": "MQTT",
		"timezone": "Europe/Madrid", "internal_attributes": {"any": ["thing"]}, "unknownField": 1,
		"attributes": [{"object_id": "t", "name": "temperature", "type": "Number",
			"metadata": {"unitCode": {"type": "Text", "value": "CEL"}}, "expression": "t * 0.1"}],
		"static_attributes": [{"name": "location", "type": "geo:point", "value": "45.46, 9.19"}]}]}`
	gs, err := iota.DecodeGroups([]byte(body), "TestService", "")
	if err != nil {
		t.Fatal(err)
	}
	g := gs[0]
	if g.Service != "TestService" || g.ServicePath != "/" || g.APIKey != "80K09H324HV8732" || g.EntityType != "SensorMachine" ||
		!*g.Timestamp || *g.Autoprovision || g.ExplicitAttrs.Expr != "['temperature']" || g.Attributes[0].Metadata["unitCode"].Value.Str != "CEL" ||
		g.StaticAttributes[0].Value.Str != "45.46, 9.19" || string(g.InternalAttributes) != `{"any": ["thing"]}` {
		t.Errorf("decoded group = %+v", g)
	}
	// A group round-trips through JSON (the registry stores it so).
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var back iota.Group
	if err := json.Unmarshal(b, &back); err != nil || back.Attributes[0].Expression != "t * 0.1" || back.ExplicitAttrs.Expr != "['temperature']" || back.Service != "TestService" {
		t.Errorf("round trip: %s -> %+v, %v", b, back, err)
	}
	if gs, err := iota.DecodeGroups([]byte(`{"groups": [{"apikey": "k", "type": "potSensor"}]}`), "", "/a/b"); err != nil || gs[0].EntityType != "potSensor" {
		t.Errorf("groups body with old type field: %+v, %v", gs, err)
	}
}

func TestDecodeDevices(t *testing.T) {
	body := `{"devices": [{"device_id": "noise001", "entity_name": "urn:ngsi-ld:NoiseLevelObserved:noise001",
		"entity_type": "NoiseLevelObserved", "transport": "MQTT", "protocol": "IoTA-UL", "explicitAttrs": true,
		"attributes": [{"object_id": "l", "name": "LAeq", "type": "Number", "metadata": {"unitCode": {"type": "Text", "value": "2N"}}}],
		"static_attributes": [{"name": "location", "type": "geo:json", "value": {"type": "Point", "coordinates": [9.19, 45.46]}}],
		"commands": [{"name": "ping", "type": "command", "mqtt": {"qos": 1, "retain": false}}]}]}`
	ds, err := iota.DecodeDevices([]byte(body), "milan", "/noise")
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	if d.DeviceID != "noise001" || d.Service != "milan" || d.ServicePath != "/noise" || !d.ExplicitAttrs.All ||
		d.StaticAttributes[0].Value.Str != `{"type":"Point","coordinates":[9.19,45.46]}` || d.Commands[0].MQTT.QoS != 1 {
		t.Errorf("decoded device = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestValidationRules checks every provisioning rule and its message.
func TestValidationRules(t *testing.T) {
	cases := []struct {
		name, body string
		devices    bool
		service    string
		path       string
		want       string
	}{
		{"not JSON", `{`, true, "", "", "body: must be JSON"},
		{"two documents", `{"devices":[{"device_id":"a"}]} {}`, true, "", "", "body: must be a single JSON object"},
		{"wrong type", `{"devices":[{"device_id":7}]}`, true, "", "", "devices.device_id: must be a string, got number"},
		{"no devices key", `{}`, true, "", "", "devices: required"},
		{"empty devices", `{"devices":[]}`, true, "", "", "devices: must hold at least one device"},
		{"device_id required", `{"devices":[{}]}`, true, "", "", "devices[0].device_id: required"},
		{"device_id slash", `{"devices":[{"device_id":"a/b"}]}`, true, "", "", "devices[0].device_id: must not contain / (it is an MQTT topic level)"},
		{"device_id wildcard", `{"devices":[{"device_id":"a+b"}]}`, true, "", "", "devices[0].device_id: must not contain the MQTT wildcards + or # (it is an MQTT topic level)"},
		{"device_id control", `{"devices":[{"device_id":"a\u0001"}]}`, true, "", "", "devices[0].device_id: must not contain control characters"},
		{"device apikey", `{"devices":[{"device_id":"a","apikey":"a b"}]}`, true, "", "", "devices[0].apikey: must be 1-64 characters of [A-Za-z0-9_-]"},
		{"entity_name control", `{"devices":[{"device_id":"a","entity_name":"x\n"}]}`, true, "", "", "devices[0].entity_name: must not contain control characters"},
		{"entity_type underscore", `{"devices":[{"device_id":"a","entity_type":"_x"}]}`, true, "", "", "devices[0].entity_type: must not begin with an underscore"},
		{"service header", `{"devices":[{"device_id":"a"}]}`, true, "my-service", "", "Fiware-Service: must be at most 50 characters of [A-Za-z0-9_]"},
		{"service path header", `{"devices":[{"device_id":"a"}]}`, true, "", "gardens", "Fiware-ServicePath: must be / or up to 10 levels"},
		{"service path empty level", `{"devices":[{"device_id":"a"}]}`, true, "", "/a//b", "Fiware-ServicePath: must be / or up to 10 levels"},
		{"attribute name required", `{"devices":[{"device_id":"a","attributes":[{"type":"Number"}]}]}`, true, "", "", "devices[0].attributes[0].name: required"},
		{"attribute type required", `{"devices":[{"device_id":"a","attributes":[{"name":"t"}]}]}`, true, "", "", "devices[0].attributes[0].type: required"},
		{"attribute name reserved", `{"devices":[{"device_id":"a","attributes":[{"name":"id","type":"Text"}]}]}`, true, "", "", "devices[0].attributes[0].name: must not be id or type"},
		{"attribute name influx", `{"devices":[{"device_id":"a","attributes":[{"name":"time","type":"Text"}]}]}`, true, "", "", `devices[0].attributes[0].name: must not be "time" or begin with an underscore`},
		{"object_id topic level", `{"devices":[{"device_id":"a","attributes":[{"object_id":"a|b","name":"t","type":"Text"}]}]}`, true, "", "", "devices[0].attributes[0].object_id: must not contain /, | or #"},
		{"active value", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Text","value":1}]}]}`, true, "", "", "devices[0].attributes[0].value: only static_attributes carry a value"},
		{"static value", `{"devices":[{"device_id":"a","static_attributes":[{"name":"t","type":"Text"}]}]}`, true, "", "", "devices[0].static_attributes[0].value: required"},
		{"static expression", `{"devices":[{"device_id":"a","static_attributes":[{"name":"t","type":"Text","value":1,"expression":"1"}]}]}`, true, "", "", "devices[0].static_attributes[0].expression: static attributes have no expression"},
		{"expression syntax", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","expression":"t *"}]}]}`, true, "", "", "devices[0].attributes[0].expression: expression does not compile"},
		{"expression function", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","expression":"now()"}]}]}`, true, "", "", "devices[0].attributes[0].expression: expression does not compile"},
		{"expression builtin", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","expression":"len(t)"}]}]}`, true, "", "", "devices[0].attributes[0].expression: expression does not compile"},
		{"expression length", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","expression":"` + strings.Repeat("1+", 600) + `1"}]}]}`, true, "", "", "devices[0].attributes[0].expression: expression must be at most 1024 bytes"},
		{"expression nodes", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","expression":"` + strings.Repeat("t+", 300) + `1"}]}]}`, true, "", "", "devices[0].attributes[0].expression: expression does not compile"},
		{"legacy unclosed", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","expression":"${@t"}]}]}`, true, "", "", "a ${ has no closing }"},
		{"multi-entity", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","entity_name":"other"}]}]}`, true, "", "", "devices[0].attributes[0].entity_name: multi-entity mapping is not supported"},
		{"unitCode text", `{"devices":[{"device_id":"a","attributes":[{"name":"t","type":"Number","metadata":{"unitCode":{"value":3}}}]}]}`, true, "", "", "devices[0].attributes[0].metadata.unitCode.value: a unitCode must be a UN/CEFACT code text"},
		{"lazy", `{"devices":[{"device_id":"a","lazy":[{"name":"t","type":"Number"}]}]}`, true, "", "", "devices[0].lazy: lazy attributes are not supported"},
		{"payloadType", `{"devices":[{"device_id":"a","payloadType":"ngsiv2"}]}`, true, "", "", "devices[0].payloadType: NGSI payloads are not mapped"},
		{"explicitAttrs type", `{"devices":[{"device_id":"a","explicitAttrs":3}]}`, true, "", "", "explicitAttrs must be a boolean or an expression text"},
		{"explicitAttrs expression", `{"devices":[{"device_id":"a","explicitAttrs":"[ 'a'"}]}`, true, "", "", "devices[0].explicitAttrs: expression does not compile"},
		{"command name", `{"devices":[{"device_id":"a","commands":[{"name":"a@b"}]}]}`, true, "", "", "devices[0].commands[0].name: must not contain @, |, # or ="},
		{"command type", `{"devices":[{"device_id":"a","commands":[{"name":"c","type":"Text"}]}]}`, true, "", "", "devices[0].commands[0].type: must be command"},
		{"command payloadType", `{"devices":[{"device_id":"a","commands":[{"name":"c","payloadType":"xml"}]}]}`, true, "", "", "devices[0].commands[0].payloadType: must be json, text"},
		{"command qos", `{"devices":[{"device_id":"a","commands":[{"name":"c","mqtt":{"qos":3}}]}]}`, true, "", "", "devices[0].commands[0].mqtt.qos: must be 0, 1 or 2"},
		{"no groups key", `{"x":[]}`, false, "", "", `groups: required`},
		{"both keys", `{"groups":[],"services":[]}`, false, "", "", "services: give either groups or services, not both"},
		{"apikey required", `{"services":[{"entity_type":"T"}]}`, false, "", "", "services[0].apikey: required"},
		{"apikey charset", `{"services":[{"apikey":"a/b"}]}`, false, "", "", "services[0].apikey: must be 1-64 characters of [A-Za-z0-9_-]"},
		{"apikey length", `{"groups":[{"apikey":"` + strings.Repeat("k", 65) + `"}]}`, false, "", "", "groups[0].apikey: must be 1-64 characters of [A-Za-z0-9_-]"},
		{"apikey protocol", `{"groups":[{"apikey":"json"}]}`, false, "", "", "groups[0].apikey: must not be ul or json"},
		{"resource", `{"groups":[{"apikey":"k","resource":"iot/d"}]}`, false, "", "", "groups[0].resource: must be an HTTP path starting with /"},
		{"entityNameExp", `{"groups":[{"apikey":"k","entityNameExp":"id +"}]}`, false, "", "", "groups[0].entityNameExp: expression does not compile"},
		{"group attribute", `{"groups":[{"apikey":"k","attributes":[{"name":"a","type":"T"},{"name":"b","type":"T","expression":"b|nosuch"}]}]}`, false, "", "", "groups[0].attributes[1].expression: expression does not compile"},
	}
	for _, c := range cases {
		var err error
		if c.devices {
			_, err = iota.DecodeDevices([]byte(c.body), c.service, c.path)
		} else {
			_, err = iota.DecodeGroups([]byte(c.body), c.service, c.path)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error = %v, want %q", c.name, err, c.want)
			continue
		}
		var fe *iota.FieldError
		if !errors.As(err, &fe) && !strings.Contains(c.want, "explicitAttrs must be") {
			t.Errorf("%s: %T is not a *FieldError", c.name, err)
		}
	}
	// Every broken rule is reported.
	_, err := iota.DecodeDevices([]byte(`{"devices":[{"apikey":"a b"},{"device_id":"ok","lazy":[{"name":"x","type":"T"}]}]}`), "", "")
	if err == nil || !strings.Contains(err.Error(), "devices[0].device_id: required") || !strings.Contains(err.Error(), "devices[0].apikey") || !strings.Contains(err.Error(), "devices[1].lazy") {
		t.Errorf("joined errors = %v", err)
	}
	if err := (&iota.Group{APIKey: "k", Service: "s", ServicePath: "/p"}).Validate(); err != nil {
		t.Errorf("minimal group: %v", err)
	}
}

func TestExplicitAttrsJSON(t *testing.T) {
	for _, s := range []string{`true`, `false`, `"['a','b']"`} {
		var e iota.ExplicitAttrs
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(e); string(b) != s {
			t.Errorf("explicitAttrs %s round-trips to %s", s, b)
		}
	}
	var e iota.ExplicitAttrs
	if json.Unmarshal([]byte(`{`), &e) == nil {
		t.Error("bad JSON accepted")
	}
}

func TestFieldError(t *testing.T) {
	if got := (&iota.FieldError{Field: "devices[0].device_id", Rule: "required"}).Error(); got != "devices[0].device_id: required" {
		t.Error(got)
	}
}
