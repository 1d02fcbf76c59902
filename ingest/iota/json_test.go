package iota_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/twin"
)

func TestParseJSONMeasures(t *testing.T) {
	obj := func(s string) iota.Value { return iota.Value{Kind: iota.ValueJSON, Str: s} }
	cases := []struct {
		payload string
		want    []iota.MeasureGroup
	}{
		{`{"h": 70, "t": "15", "on": true, "x": null, "o": {"a": [1, 2]}}`, []iota.MeasureGroup{{
			{Name: "h", Value: iota.Number(70)}, {Name: "t", Value: iota.Text("15")}, {Name: "on", Value: iota.Bool(true)},
			{Name: "x", Value: iota.Null}, {Name: "o", Value: obj(`{"a":[1,2]}`)},
		}}},
		{`[{"h": "45%"}, {"h": "47%", "TimeInstant": "2007-11-03T13:18:05Z"}]`, []iota.MeasureGroup{
			{{Name: "h", Value: iota.Text("45%")}},
			{{Name: "h", Value: iota.Text("47%")}, {Name: "TimeInstant", Value: iota.Text("2007-11-03T13:18:05Z")}},
		}},
		{`{"a": 1, "a": 2}`, []iota.MeasureGroup{{{Name: "a", Value: iota.Number(2)}}}},
	}
	for _, c := range cases {
		got, err := iota.ParseJSONMeasures([]byte(c.payload))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseJSONMeasures(%s) = %+v, %v; want %+v", c.payload, got, err, c.want)
		}
	}
}

func TestParseJSONMeasuresErrors(t *testing.T) {
	cases := []struct {
		payload string
		reason  twin.Reason
		field   string
		rule    string
	}{
		{`{"humidity": " }(}`, twin.ReasonNotJSON, "", "payload must be JSON"},
		{`NaN`, twin.ReasonNotJSON, "", "payload must be JSON"},
		{`42`, twin.ReasonUnknownShape, "", "got a number"},
		{`[]`, twin.ReasonNoValues, "", "at least one object"},
		{`[{"a": 1}, 2]`, twin.ReasonUnknownShape, "[1]", "got a number"},
		{`{"": 1}`, twin.ReasonBadValue, "", "must not be empty"},
		{`[{"a": 1}, {"b": 1e999}]`, twin.ReasonBadValue, "[1].b", "finite"},
		{strings.Repeat("[", 400) + strings.Repeat("]", 400), twin.ReasonNotJSON, "", "levels deep"},
	}
	for _, c := range cases {
		_, err := iota.ParseJSONMeasures([]byte(c.payload))
		var ie *twin.InputError
		if !errors.As(err, &ie) || ie.Reason != c.reason || ie.Field != c.field || !strings.Contains(ie.Rule, c.rule) {
			t.Errorf("ParseJSONMeasures(%.40s) = %v, want %s %q %q", c.payload, err, c.reason, c.field, c.rule)
		}
	}
}

func TestParseJSONValue(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    iota.Value
	}{
		{"87", iota.Number(87)},
		{`"32"`, iota.Text("32")},
		{"A$Ci1", iota.Text("4124436931")},
		{"hello", iota.Text("68656c6c6f")},
		{"", iota.Text("")},
		{"1e999", iota.Text("3165393939")},
		{`[{"timestamp":"2025-01-26T12:00:00Z","value":44}]`, iota.Value{Kind: iota.ValueJSON, Str: `[{"timestamp":"2025-01-26T12:00:00Z","value":44}]`}},
	} {
		if got := iota.ParseJSONValue([]byte(c.payload)); !got.Equal(c.want) {
			t.Errorf("ParseJSONValue(%q) = %+v, want %+v", c.payload, got, c.want)
		}
	}
}

func TestJSONResultsAndCommands(t *testing.T) {
	rs, err := iota.ParseJSONResults([]byte(`{ "PING": "1234567890", "cmd1": {"data": "22"} }`))
	want := []iota.JSONResult{{Command: "PING", Value: iota.Text("1234567890")}, {Command: "cmd1", Value: iota.Value{Kind: iota.ValueJSON, Str: `{"data":"22"}`}}}
	if err != nil || !reflect.DeepEqual(rs, want) {
		t.Errorf("ParseJSONResults = %+v, %v", rs, err)
	}
	for _, bad := range []string{`[]`, `{}`, `{"": 1}`, `x`} {
		if _, err := iota.ParseJSONResults([]byte(bad)); err == nil {
			t.Errorf("ParseJSONResults(%s) accepted", bad)
		}
	}
	if got := string(iota.EncodeJSONCommand("ping", iota.Value{Kind: iota.ValueJSON, Str: `{"data":"22"}`})); got != `{"ping":{"data":"22"}}` {
		t.Errorf("EncodeJSONCommand = %s", got)
	}
}

func TestConfigRequests(t *testing.T) {
	cases := []struct {
		p       iota.Protocol
		payload string
		want    iota.ConfigRequest
		err     string
	}{
		{iota.ProtocolUL, "configuration|pollingInterval|publishInterval", iota.ConfigRequest{Type: "configuration", Fields: []string{"pollingInterval", "publishInterval"}}, ""},
		{iota.ProtocolUL, "subscription|a", iota.ConfigRequest{Type: "subscription", Fields: []string{"a"}}, ""},
		{iota.ProtocolJSON, `{"type": "configuration", "fields": ["sleepTime", "warningLevel"]}`, iota.ConfigRequest{Type: "configuration", Fields: []string{"sleepTime", "warningLevel"}}, ""},
		{iota.ProtocolUnknown, `{"type": "subscription", "fields": ["s"]}`, iota.ConfigRequest{Type: "subscription", Fields: []string{"s"}}, ""},
		{iota.ProtocolUL, "notallowedtype|a|b", iota.ConfigRequest{}, "must be configuration or subscription"},
		{iota.ProtocolUL, "configuration", iota.ConfigRequest{}, "at least one attribute"},
		{iota.ProtocolUL, "configuration||x", iota.ConfigRequest{}, "must not be empty"},
		{iota.ProtocolJSON, `{"type": 1}`, iota.ConfigRequest{}, "must be {"},
	}
	for _, c := range cases {
		got, err := iota.ParseConfigRequest(c.p, []byte(c.payload))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseConfigRequest(%q) error = %v, want %q", c.payload, err, c.err)
		case c.err == "" && (err != nil || !reflect.DeepEqual(got, c.want)):
			t.Errorf("ParseConfigRequest(%q) = %+v, %v", c.payload, got, err)
		}
	}
	dt := time.Date(2019, 6, 26, 15, 42, 0, 0, time.UTC)
	vals := []iota.Measure{{Name: "pollingInterval", Value: iota.Number(200)}, {Name: "mode", Value: iota.Text("eco")}}
	if got := string(iota.EncodeConfigValues(iota.ProtocolUL, "device_1", vals, dt)); got != "device_1@configuration|pollingInterval=200|mode=eco|dt=20190626T154200Z" {
		t.Errorf("UL config values = %q", got)
	}
	if got := string(iota.EncodeConfigValues(iota.ProtocolJSON, "device_1", vals, dt)); got != `{"pollingInterval":200,"mode":"eco","dt":"20190626T154200Z"}` {
		t.Errorf("JSON config values = %q", got)
	}
}

func TestProtocolResolution(t *testing.T) {
	legacy := iota.Topic{APIKey: "k", DeviceID: "d", Kind: iota.KindAttrs}
	prefixed := legacy
	prefixed.Protocol = iota.ProtocolUL
	jsonGroup := &iota.Group{APIKey: "k", Resource: "/iot/json"}
	cases := []struct {
		t        iota.Topic
		payload  string
		dev      *iota.Device
		grp      *iota.Group
		fallback iota.Protocol
		want     iota.Protocol
	}{
		{prefixed, `{"a":1}`, nil, nil, iota.ProtocolUnknown, iota.ProtocolUL},
		{legacy, ` {"a":1}`, nil, nil, iota.ProtocolUnknown, iota.ProtocolJSON},
		{legacy, `[{"a":1}]`, &iota.Device{Protocol: "IoTA-UL"}, nil, iota.ProtocolUnknown, iota.ProtocolJSON},
		{legacy, `a|1`, nil, nil, iota.ProtocolUnknown, iota.ProtocolUL},
		{legacy, `{not json`, nil, nil, iota.ProtocolUnknown, iota.ProtocolUL},
		{legacy, `hello`, nil, jsonGroup, iota.ProtocolUnknown, iota.ProtocolJSON},
		{legacy, `hello`, &iota.Device{Protocol: "IoTA-JSON"}, nil, iota.ProtocolUL, iota.ProtocolJSON},
		{legacy, `hello`, &iota.Device{Protocol: "PDI-IoTA-UltraLight"}, nil, iota.ProtocolJSON, iota.ProtocolUL},
		{legacy, `hello`, &iota.Device{Protocol: "GENERIC_PROTO"}, nil, iota.ProtocolJSON, iota.ProtocolJSON},
		{legacy, `hello`, nil, &iota.Group{Protocol: "MQTT_UL"}, iota.ProtocolJSON, iota.ProtocolUL},
	}
	for i, c := range cases {
		if got := iota.ResolveProtocol(c.t, []byte(c.payload), c.dev, c.grp, c.fallback); got != c.want {
			t.Errorf("case %d: ResolveProtocol = %s, want %s", i, got, c.want)
		}
	}
	if iota.ProtocolOfResource("/iot/d") != iota.ProtocolUL || iota.ProtocolOfResource("/iot/json/") != iota.ProtocolJSON || iota.ProtocolOfResource("/x") != iota.ProtocolUnknown {
		t.Error("ProtocolOfResource")
	}
}

func TestParseMeasures(t *testing.T) {
	topic := func(s string) iota.Topic {
		tp, err := iota.ParseTopic(s)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	m, err := iota.ParseMeasures(topic("/ul/k/d/attrs"), iota.ProtocolUL, []byte("2016-06-13T00:35:30Z|t|10#d@ping|ok"))
	if err != nil || len(m.Groups) != 1 || len(m.Results) != 1 || m.APIKey != "k" || m.DeviceID != "d" {
		t.Fatalf("ParseMeasures = %+v, %v", m, err)
	}
	if ti, _ := m.Groups[0].Get("TimeInstant"); ti.Str != "2016-06-13T00:35:30Z" {
		t.Errorf("timestamp field = %+v", ti)
	}
	if m.Results[0] != (iota.CommandResult{Command: "ping", Value: iota.Text("ok")}) {
		t.Errorf("result = %+v", m.Results[0])
	}
	m, err = iota.ParseMeasures(topic("/k/d/attrs/t"), iota.ProtocolUnknown, []byte("23"))
	if err != nil || !m.Groups[0][0].Value.Equal(iota.Number(23)) || m.Protocol != iota.ProtocolUL {
		t.Errorf("single UL measure = %+v, %v", m, err)
	}
	m, err = iota.ParseMeasures(topic("/json/k/d/cmdexe"), iota.ProtocolJSON, []byte(`{"ping":"1"}`))
	if err != nil || len(m.Results) != 1 || m.Results[0].Value.Str != "1" {
		t.Errorf("JSON result = %+v, %v", m, err)
	}
	if _, err := iota.ParseMeasures(topic("/ul/k/d/cmdexe"), iota.ProtocolUL, []byte("ping")); err == nil {
		t.Error("bad UL result accepted")
	}
	if _, err := iota.ParseMeasures(topic("/ul/k/d/configuration/commands"), iota.ProtocolUL, []byte("configuration|a")); err == nil {
		t.Error("a configuration topic does not carry measures")
	}
	if _, err := iota.ParseMeasures(topic("/json/k/d/attrs"), iota.ProtocolJSON, []byte("a|1")); err == nil {
		t.Error("UL payload read as JSON accepted")
	}
}
