package iota_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/twin"
)

func TestParseTopic(t *testing.T) {
	ul, js, legacy := iota.ProtocolUL, iota.ProtocolJSON, iota.ProtocolUnknown
	attrs, cmdexe, config := iota.KindAttrs, iota.KindCmdExe, iota.KindConfigCommands
	cases := []struct {
		topic string
		want  iota.Topic
	}{
		{"/ul/k1/dev1/attrs", iota.Topic{Protocol: ul, APIKey: "k1", DeviceID: "dev1", Kind: attrs}},
		{"ul/k1/dev1/attrs", iota.Topic{Protocol: ul, APIKey: "k1", DeviceID: "dev1", Kind: attrs}},
		{"/ul/k1/dev1/attrs/t", iota.Topic{Protocol: ul, APIKey: "k1", DeviceID: "dev1", Kind: attrs, Attr: "t"}},
		{"/json/k1/dev1/attrs", iota.Topic{Protocol: js, APIKey: "k1", DeviceID: "dev1", Kind: attrs}},
		{"json/k1/dev1/attrs/h", iota.Topic{Protocol: js, APIKey: "k1", DeviceID: "dev1", Kind: attrs, Attr: "h"}},
		{"/json/k1/dev1/cmdexe", iota.Topic{Protocol: js, APIKey: "k1", DeviceID: "dev1", Kind: cmdexe}},
		{"/ul/k1/dev1/configuration/commands", iota.Topic{Protocol: ul, APIKey: "k1", DeviceID: "dev1", Kind: config}},
		{"/k1/dev1/attrs", iota.Topic{Protocol: legacy, APIKey: "k1", DeviceID: "dev1", Kind: attrs}},
		{"k1/dev1/attrs", iota.Topic{Protocol: legacy, APIKey: "k1", DeviceID: "dev1", Kind: attrs}},
		{"/k1/dev1/attrs/temperature", iota.Topic{Protocol: legacy, APIKey: "k1", DeviceID: "dev1", Kind: attrs, Attr: "temperature"}},
		{"/1234/MQTT_2/cmdexe", iota.Topic{Protocol: legacy, APIKey: "1234", DeviceID: "MQTT_2", Kind: cmdexe}},
		{"/1234/MQTT_device_1/configuration/commands", iota.Topic{Protocol: legacy, APIKey: "1234", DeviceID: "MQTT_device_1", Kind: config}},
		// A legacy topic whose apikey is "ul" reads as prefixed when it can.
		{"/ul/dev1/attrs", iota.Topic{Protocol: legacy, APIKey: "ul", DeviceID: "dev1", Kind: attrs}},
		{"/urn/urn:x-iot:t311/attrs", iota.Topic{Protocol: legacy, APIKey: "urn", DeviceID: "urn:x-iot:t311", Kind: attrs}},
	}
	for _, c := range cases {
		got, err := iota.ParseTopic(c.topic)
		if err != nil {
			t.Errorf("ParseTopic(%q): %v", c.topic, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseTopic(%q) = %+v, want %+v", c.topic, got, c.want)
		}
		back, err := iota.ParseTopic(got.String())
		if err != nil || back != got {
			t.Errorf("ParseTopic(%q.String() = %q) = %+v, %v", c.topic, got.String(), back, err)
		}
	}
}

func TestParseTopicErrors(t *testing.T) {
	cases := []struct{ topic, rule string }{
		{"", "must be [/{ul|json}]"},
		{"/ul/k1/dev1", "must be [/{ul|json}]"},
		{"/ul/k1/dev1/cmd", "must be [/{ul|json}]"},
		{"/ul/k1/dev1/attrs/t/x", "must be [/{ul|json}]"},
		{"/ul/k1/dev1/configuration/values", "must be [/{ul|json}]"},
		{"/ul//dev1/attrs", "the apikey level must not be empty"},
		{"/ul/k1//attrs", "the device id level must not be empty"},
		{"/ul/k1/dev1/attrs/", "the attribute level must not be empty"},
		{"/ul/k1/de+v/attrs", "must not contain the MQTT wildcards"},
		{"/ul/k1/dev\x01/attrs", "must not contain control characters"},
		{"/ul/k1/dev\xff/attrs", "must be valid UTF-8"},
		{"/ul/k1/" + strings.Repeat("d", 257) + "/attrs", "at most 256 bytes"},
	}
	for _, c := range cases {
		_, err := iota.ParseTopic(c.topic)
		var ie *twin.InputError
		if !errors.As(err, &ie) {
			t.Errorf("ParseTopic(%q) error = %v, want a *twin.InputError", c.topic, err)
			continue
		}
		if ie.Reason != twin.ReasonBadTopic || ie.Field != "topic" || !strings.Contains(ie.Rule, c.rule) {
			t.Errorf("ParseTopic(%q) = %v, want bad_topic with %q", c.topic, err, c.rule)
		}
	}
}

func TestOutboundTopics(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{iota.CommandTopic(iota.ProtocolUnknown, "ABCDEF", "id_sen1"), "/ABCDEF/id_sen1/cmd"},
		{iota.CommandTopic(iota.ProtocolUL, "ABCDEF", "id_sen1"), "/ul/ABCDEF/id_sen1/cmd"},
		{iota.CommandTopic(iota.ProtocolJSON, "ABCDEF", "id_sen1"), "/json/ABCDEF/id_sen1/cmd"},
		{iota.ConfigValuesTopic("1234", "sensor01"), "/1234/sensor01/configuration/values"},
		{iota.ErrorTopic("1234", "sensor01"), "/1234/sensor01/errors"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// citytwin's own agent-to-device topics are not device-to-agent topics.
	for _, topic := range []string{iota.CommandTopic(iota.ProtocolUnknown, "k", "d"), iota.ErrorTopic("k", "d"), iota.ConfigValuesTopic("k", "d")} {
		if _, err := iota.ParseTopic(topic); err == nil {
			t.Errorf("ParseTopic(%q) accepted an agent-to-device topic", topic)
		}
		for _, f := range iota.Subscriptions() {
			if matches(f, topic) {
				t.Errorf("subscription %q matches outbound topic %q", f, topic)
			}
		}
	}
}

// TestSubscriptions checks that the subscription filters cover every topic
// form ParseTopic accepts.
func TestSubscriptions(t *testing.T) {
	subs := iota.Subscriptions()
	if len(subs) != 24 {
		t.Errorf("%d subscriptions, want 24", len(subs))
	}
	for _, topic := range []string{
		"/ul/k/d/attrs", "ul/k/d/attrs", "/ul/k/d/attrs/t", "/json/k/d/cmdexe", "json/k/d/configuration/commands",
		"/k/d/attrs", "k/d/attrs/t", "/k/d/cmdexe", "k/d/configuration/commands",
	} {
		if _, err := iota.ParseTopic(topic); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range subs {
			if matches(f, topic) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no subscription covers %q", topic)
		}
	}
}

// matches is MQTT topic matching with + (no # in these filters).
func matches(filter, topic string) bool {
	f, tp := strings.Split(filter, "/"), strings.Split(topic, "/")
	if len(f) != len(tp) {
		return false
	}
	for i := range f {
		if f[i] != "+" && f[i] != tp[i] {
			return false
		}
	}
	return true
}

func TestProtocolAndKindNames(t *testing.T) {
	if iota.ProtocolUL.String() != "ul" || iota.ProtocolJSON.String() != "json" || iota.ProtocolUnknown.String() != "unknown" {
		t.Error("protocol names")
	}
	if iota.KindAttrs.String() != "attrs" || iota.KindCmdExe.String() != "cmdexe" || iota.KindConfigCommands.String() != "configuration/commands" || iota.Kind(0).String() != "unknown" {
		t.Error("kind names")
	}
}
