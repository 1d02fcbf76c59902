package iota

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/citytwin/citytwin/twin"
)

// Measures is a decoded device message: what ParseMeasures makes of a
// payload on an attrs or cmdexe topic, and what Map turns into
// observations.
type Measures struct {
	// Protocol is the protocol the payload was read with.
	Protocol Protocol
	APIKey   string
	DeviceID string
	// Groups are the measure groups, one NGSI update each.
	Groups []MeasureGroup
	// Results are command results (cmdexe payloads, or Ultralight groups
	// of the form {deviceId}@{command}|{result}).
	Results []CommandResult
}

// CommandResult is a device's answer to a command.
type CommandResult struct {
	Command string
	Value   Value
}

// DetectProtocol guesses the protocol of a payload on a legacy topic when
// the provisioning does not say (ProtocolOf): JSON when the payload is a
// JSON object or array, Ultralight otherwise.
func DetectProtocol(payload []byte) Protocol {
	s := bytes.TrimSpace(payload)
	if len(s) > 0 && (s[0] == '{' || s[0] == '[') && json.Valid(s) {
		return ProtocolJSON
	}
	return ProtocolUL
}

// ResolveProtocol returns the protocol to read a payload with: the topic's
// prefix; on a legacy prefix-less topic, JSON when the payload is a JSON
// object or array (no Ultralight payload is one, and an Ultralight single
// value that is one casts to the same value), else what the provisioning
// declares (ProtocolOf), else fallback (the deployment's protocol for
// legacy topics; ProtocolUnknown means Ultralight).
//
// The order matters because provisioning data is not reliable about it:
// the IoT Agent JSON's own tests provision devices with protocol "MQTT_UL".
// The payload cannot always tell either: a non-JSON single value is text
// for the Ultralight agent and hex-encoded binary for the JSON agent.
func ResolveProtocol(t Topic, payload []byte, dev *Device, grp *Group, fallback Protocol) Protocol {
	if t.Protocol != ProtocolUnknown {
		return t.Protocol
	}
	if DetectProtocol(payload) == ProtocolJSON {
		return ProtocolJSON
	}
	if p := ProtocolOf(dev, grp); p != ProtocolUnknown {
		return p
	}
	if fallback != ProtocolUnknown {
		return fallback
	}
	return ProtocolUL
}

// ParseMeasures decodes the payload of an attrs or cmdexe topic with
// protocol p (the topic's, ProtocolOf's, or DetectProtocol's:
// ProtocolUnknown means DetectProtocol). Single-measure topics carry the raw
// value of Topic.Attr: cast as Ultralight text (ParseUL rules), or read as
// JSON with binary payloads hex-encoded (ParseJSONValue). The error is a
// *twin.InputError.
func ParseMeasures(t Topic, p Protocol, payload []byte) (Measures, error) {
	if p == ProtocolUnknown {
		p = DetectProtocol(payload)
	}
	m := Measures{Protocol: p, APIKey: t.APIKey, DeviceID: t.DeviceID}
	switch t.Kind {
	case KindAttrs:
		if t.Attr != "" {
			var v Value
			if p == ProtocolJSON {
				v = ParseJSONValue(payload)
			} else {
				v = castJSON(strings.ToValidUTF8(string(payload), "\uFFFD"))
			}
			m.Groups = []MeasureGroup{{{Name: t.Attr, Value: v}}}
			return m, nil
		}
		if p == ProtocolJSON {
			groups, err := ParseJSONMeasures(payload)
			m.Groups = groups
			return m, err
		}
		groups, err := ParseUL(payload)
		if err != nil {
			return m, err
		}
		for _, g := range groups {
			if g.Result != nil {
				m.Results = append(m.Results, CommandResult{Command: g.Result.Command, Value: g.Result.Value()})
				continue
			}
			mg := make(MeasureGroup, 0, len(g.Pairs)+1)
			for _, pair := range g.Pairs {
				mg = mg.set(Measure{Name: pair.Key, Value: pair.Value()})
			}
			if g.Timestamp != "" {
				mg = mg.set(Measure{Name: TimeInstantAttr, Value: Text(g.Timestamp)})
			}
			m.Groups = append(m.Groups, mg)
		}
		return m, nil
	case KindCmdExe:
		if p == ProtocolJSON {
			rs, err := ParseJSONResults(payload)
			for _, r := range rs {
				m.Results = append(m.Results, CommandResult(r))
			}
			return m, err
		}
		r, err := ParseULResult(payload)
		if err != nil {
			return m, err
		}
		m.Results = []CommandResult{{Command: r.Command, Value: r.Value()}}
		return m, nil
	}
	return m, twin.Errorf(twin.ReasonBadTopic, "", "topic", "a %s topic carries no measures", t.Kind)
}

// ConfigRequest is a device's request on ".../configuration/commands": the
// entity attributes it wants ("configuration": once, on
// ConfigValuesTopic; "subscription": whenever they change).
type ConfigRequest struct {
	Type   string
	Fields []string
}

// Configuration request types.
const (
	ConfigOnce      = "configuration"
	ConfigSubscribe = "subscription"
)

// ParseConfigRequest parses a configuration request: Ultralight
// "configuration|pollingInterval|publishInterval", or JSON {"type":
// "configuration", "fields": ["sleepTime", "warningLevel"]}. Types other
// than configuration and subscription are refused, as the agents ignore
// them.
func ParseConfigRequest(p Protocol, payload []byte) (ConfigRequest, error) {
	if p == ProtocolUnknown {
		p = DetectProtocol(payload)
	}
	var r ConfigRequest
	if p == ProtocolJSON {
		var doc struct {
			Type   string   `json:"type"`
			Fields []string `json:"fields"`
		}
		if err := json.Unmarshal(payload, &doc); err != nil {
			return r, twin.Errorf(twin.ReasonNotJSON, "", "", "a configuration request must be {\"type\": \"configuration\", \"fields\": [...]}: %s", clip(err.Error()))
		}
		r = ConfigRequest{Type: doc.Type, Fields: doc.Fields}
	} else {
		parts := strings.Split(strings.ToValidUTF8(string(payload), "\uFFFD"), "|")
		r = ConfigRequest{Type: parts[0], Fields: parts[1:]}
	}
	if r.Type != ConfigOnce && r.Type != ConfigSubscribe {
		return ConfigRequest{}, twin.Errorf(twin.ReasonBadValue, "", "type", "a configuration request type must be configuration or subscription, got %q", clip(r.Type))
	}
	if len(r.Fields) == 0 {
		return ConfigRequest{}, twin.Errorf(twin.ReasonNoValues, "", "fields", "a configuration request must name at least one attribute")
	}
	for _, f := range r.Fields {
		if rule := nameRule(f); rule != "" {
			return ConfigRequest{}, twin.Errorf(twin.ReasonBadValue, "", "fields", "attribute names %s", rule)
		}
	}
	return r, nil
}

// EncodeConfigValues encodes the answer to a configuration request, with
// the time dt added as "dt" in the compact form the agents use
// (20190626T154200Z): Ultralight
// "device_1@configuration|pollingInterval=200|publishInterval=80|dt=…", JSON
// {"pollingInterval": 200, …, "dt": "…"}.
func EncodeConfigValues(p Protocol, deviceID string, values []Measure, dt time.Time) []byte {
	stamp := dt.UTC().Format("20060102T150405Z")
	if p == ProtocolJSON {
		b := []byte{'{'}
		for _, m := range values {
			k, _ := json.Marshal(m.Name)
			b = append(b, k...)
			b = append(b, ':')
			b = m.Value.AppendJSON(b)
			b = append(b, ',')
		}
		b = append(b, `"dt":"`...)
		b = append(b, stamp...)
		return append(b, `"}`...)
	}
	b := []byte(deviceID + "@" + ConfigOnce)
	for _, m := range values {
		b = append(b, '|')
		b = append(b, m.Name...)
		b = append(b, '=')
		b = append(b, m.Value.Text()...)
	}
	return append(b, "|dt="+stamp...)
}
