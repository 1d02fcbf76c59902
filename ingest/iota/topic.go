package iota

import (
	"strings"
	"unicode/utf8"

	"github.com/citytwin/citytwin/twin"
)

// Protocol is an IoT Agent device protocol.
type Protocol uint8

// Protocols. ProtocolUnknown is what a legacy prefix-less topic says: the
// protocol then comes from the device's provisioning (ProtocolOf) or, failing
// that, from the payload (DetectProtocol).
const (
	ProtocolUnknown Protocol = iota
	ProtocolUL               // Ultralight 2.0, topic prefix "ul"
	ProtocolJSON             // IoT Agent JSON, topic prefix "json"
)

// String returns the topic prefix of the protocol ("ul", "json"), or
// "unknown".
func (p Protocol) String() string {
	switch p {
	case ProtocolUL:
		return "ul"
	case ProtocolJSON:
		return "json"
	}
	return "unknown"
}

// Kind is what a device-to-agent topic carries.
type Kind uint8

// Topic kinds, named after the last topic levels.
const (
	// KindAttrs carries measures: several in one payload on ".../attrs", or
	// the raw value of one (Topic.Attr) on ".../attrs/{attr}".
	KindAttrs Kind = iota + 1
	// KindCmdExe carries a command result (".../cmdexe").
	KindCmdExe
	// KindConfigCommands carries a configuration request
	// (".../configuration/commands").
	KindConfigCommands
)

// String returns the kind's topic suffix.
func (k Kind) String() string {
	switch k {
	case KindAttrs:
		return "attrs"
	case KindCmdExe:
		return "cmdexe"
	case KindConfigCommands:
		return "configuration/commands"
	}
	return "unknown"
}

// Topic is a parsed device-to-agent MQTT topic.
type Topic struct {
	// Protocol is the topic's protocol prefix, ProtocolUnknown for a legacy
	// prefix-less topic.
	Protocol Protocol
	APIKey   string
	DeviceID string
	Kind     Kind
	// Attr is the measure name (object_id) of a single-measure topic
	// ".../attrs/{attr}", empty otherwise.
	Attr string
}

// MaxTopicLevelLen bounds each topic level ParseTopic accepts.
const MaxTopicLevelLen = 256

// ParseTopic parses a device-to-agent topic in any of the forms the IoT
// Agents subscribe to, with or without the leading slash:
//
//	/{ul|json}/{apikey}/{deviceId}/attrs
//	/{ul|json}/{apikey}/{deviceId}/attrs/{attr}
//	/{ul|json}/{apikey}/{deviceId}/cmdexe
//	/{ul|json}/{apikey}/{deviceId}/configuration/commands
//	/{apikey}/{deviceId}/attrs                 (legacy, no protocol prefix)
//	/{apikey}/{deviceId}/attrs/{attr}
//	/{apikey}/{deviceId}/cmdexe
//	/{apikey}/{deviceId}/configuration/commands
//
// When a topic reads both ways (an apikey spelled "ul" or "json") the
// prefixed reading wins; Validate refuses such apikeys. The error is a
// *twin.InputError with reason twin.ReasonBadTopic.
func ParseTopic(topic string) (Topic, error) {
	s := strings.TrimPrefix(topic, "/")
	levels := strings.Split(s, "/")
	if len(levels) < 3 || len(levels) > 5 {
		return Topic{}, topicError(topic, "must be [/{ul|json}]/{apikey}/{deviceId}/attrs[/{attr}], …/cmdexe or …/configuration/commands")
	}
	if p := protocolOf(levels[0]); p != ProtocolUnknown {
		if t, ok := parseLevels(levels[1:], p); ok {
			return t, checkTopic(topic, t)
		}
	}
	if t, ok := parseLevels(levels, ProtocolUnknown); ok {
		return t, checkTopic(topic, t)
	}
	return Topic{}, topicError(topic, "must be [/{ul|json}]/{apikey}/{deviceId}/attrs[/{attr}], …/cmdexe or …/configuration/commands")
}

func protocolOf(level string) Protocol {
	switch level {
	case "ul":
		return ProtocolUL
	case "json":
		return ProtocolJSON
	}
	return ProtocolUnknown
}

// parseLevels reads {apikey}/{deviceId}/{suffix...}; p is the protocol of
// the prefix level before them, ProtocolUnknown for a legacy topic.
func parseLevels(levels []string, p Protocol) (Topic, bool) {
	if len(levels) < 3 {
		return Topic{}, false
	}
	t := Topic{Protocol: p, APIKey: levels[0], DeviceID: levels[1]}
	rest := levels[2:]
	switch {
	case len(rest) == 1 && rest[0] == "attrs":
		t.Kind = KindAttrs
	case len(rest) == 2 && rest[0] == "attrs":
		t.Kind, t.Attr = KindAttrs, rest[1]
	case len(rest) == 1 && rest[0] == "cmdexe":
		t.Kind = KindCmdExe
	case len(rest) == 2 && rest[0] == "configuration" && rest[1] == "commands":
		t.Kind = KindConfigCommands
	default:
		return Topic{}, false
	}
	return t, true
}

// checkTopic checks the levels a topic names: non-empty, valid UTF-8, no
// control characters, at most MaxTopicLevelLen bytes.
func checkTopic(topic string, t Topic) error {
	for _, l := range []struct{ name, v string }{{"apikey", t.APIKey}, {"device id", t.DeviceID}, {"attribute", t.Attr}} {
		if l.name == "attribute" && t.Attr == "" {
			if strings.HasSuffix(topic, "/") {
				return topicError(topic, "the attribute level must not be empty")
			}
			continue
		}
		if rule := levelRule(l.v); rule != "" {
			return topicError(topic, "the "+l.name+" level "+rule)
		}
	}
	return nil
}

// levelRule returns the rule a topic level breaks, or "".
func levelRule(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxTopicLevelLen:
		return "must be at most 256 bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case hasControl(s):
		return "must not contain control characters"
	case strings.ContainsAny(s, "+#"):
		return "must not contain the MQTT wildcards + or #"
	}
	return ""
}

func topicError(topic, rule string) error {
	return twin.Errorf(twin.ReasonBadTopic, "", "topic", "topic %q %s", clip(topic), rule)
}

// String returns the topic in its canonical form, with a leading slash and
// the protocol prefix when the protocol is known. ParseTopic(t.String())
// returns t.
func (t Topic) String() string {
	var b strings.Builder
	if t.Protocol != ProtocolUnknown {
		b.WriteString("/")
		b.WriteString(t.Protocol.String())
	}
	b.WriteString("/")
	b.WriteString(t.APIKey)
	b.WriteString("/")
	b.WriteString(t.DeviceID)
	b.WriteString("/")
	b.WriteString(t.Kind.String())
	if t.Attr != "" {
		b.WriteString("/")
		b.WriteString(t.Attr)
	}
	return b.String()
}

// CommandTopic returns the topic a command for a device is published on.
//
// With ProtocolUnknown it is "/{apikey}/{deviceId}/cmd", the topic both IoT
// Agents publish commands on and the one deployed firmware subscribes to:
// agent-to-device topics carry no protocol prefix, since the device already
// knows its own protocol (IoT Agent UL and JSON user manuals, "Commands").
// That is the topic citytwin publishes on. With ProtocolUL or ProtocolJSON it
// returns the prefixed "/{ul|json}/{apikey}/{deviceId}/cmd", for devices
// configured to subscribe under their protocol prefix; no IoT Agent
// publishes there.
func CommandTopic(p Protocol, apikey, deviceID string) string {
	return deviceTopic(p, apikey, deviceID, "cmd")
}

// ConfigValuesTopic returns the topic a device receives its configuration
// on, "/{apikey}/{deviceId}/configuration/values" (no protocol prefix, as
// the IoT Agents publish it).
func ConfigValuesTopic(apikey, deviceID string) string {
	return deviceTopic(ProtocolUnknown, apikey, deviceID, "configuration/values")
}

// ErrorTopic returns the topic citytwin publishes per-device feedback on
// (why a payload was rejected), "/{apikey}/{deviceId}/errors".
//
// The IoT Agents have no such topic; citytwin adds it in the device's own
// agent-to-device space beside cmd and configuration/values, so the broker
// ACL that lets a device read its commands ("/{apikey}/{deviceId}/#") lets
// it read its errors, and no device-to-agent subscription (Subscriptions)
// matches it, so citytwin never consumes its own feedback.
func ErrorTopic(apikey, deviceID string) string {
	return deviceTopic(ProtocolUnknown, apikey, deviceID, "errors")
}

func deviceTopic(p Protocol, apikey, deviceID, suffix string) string {
	prefix := ""
	if p != ProtocolUnknown {
		prefix = "/" + p.String()
	}
	return prefix + "/" + apikey + "/" + deviceID + "/" + suffix
}

// Subscriptions returns the MQTT topic filters that cover every topic
// ParseTopic accepts: for each of the prefixes "/ul", "/json" and none
// (legacy), the attrs, attrs/+, cmdexe and configuration/commands filters,
// each with and without the leading slash (24 filters).
func Subscriptions() []string {
	var out []string
	for _, lead := range []string{"/", ""} {
		for _, prefix := range []string{"ul/", "json/", ""} {
			for _, suffix := range []string{"attrs", "attrs/+", "cmdexe", "configuration/commands"} {
				out = append(out, lead+prefix+"+/+/"+suffix)
			}
		}
	}
	return out
}
