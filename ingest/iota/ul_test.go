package iota_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/twin"
)

func TestParseUL(t *testing.T) {
	pair := func(k, v string) iota.ULPair { return iota.ULPair{Key: k, Raw: v} }
	cases := []struct {
		payload string
		want    []iota.ULGroup
	}{
		{"t|15|k|abc", []iota.ULGroup{{Pairs: []iota.ULPair{pair("t", "15"), pair("k", "abc")}}}},
		{"|c|7|b|18", []iota.ULGroup{{Pairs: []iota.ULPair{pair("c", "7"), pair("b", "18")}}}},
		{"gps|1.2/3.4#t|10", []iota.ULGroup{{Pairs: []iota.ULPair{pair("gps", "1.2/3.4")}}, {Pairs: []iota.ULPair{pair("t", "10")}}}},
		{"2016-06-13T00:35:30Z|lle|100", []iota.ULGroup{{Timestamp: "2016-06-13T00:35:30Z", Pairs: []iota.ULPair{pair("lle", "100")}}}},
		// An empty timestamp field is ignored, as the agent's falsy check does.
		{"||a|1", []iota.ULGroup{{Pairs: []iota.ULPair{pair("a", "1")}}}},
		// A later key replaces the earlier value at its position.
		{"a|1|b|2|a|3", []iota.ULGroup{{Pairs: []iota.ULPair{pair("a", "3"), pair("b", "2")}}}},
		{"MQTT_2@ping|MADE_OK", []iota.ULGroup{{Result: &iota.ULResult{DeviceID: "MQTT_2", Command: "ping", Raw: "MADE_OK"}}}},
		{"t|1#dev@ping|a|b", []iota.ULGroup{{Pairs: []iota.ULPair{pair("t", "1")}}, {Result: &iota.ULResult{DeviceID: "dev", Command: "ping", Raw: "a|b"}}}},
		// '@' in a value is data, unlike in the agent.
		{"mail|a@b.c", []iota.ULGroup{{Pairs: []iota.ULPair{pair("mail", "a@b.c")}}}},
		{"pos|43.4630608,-3.8345434", []iota.ULGroup{{Pairs: []iota.ULPair{pair("pos", "43.4630608,-3.8345434")}}}},
	}
	for _, c := range cases {
		got, err := iota.ParseUL([]byte(c.payload))
		if err != nil {
			t.Errorf("ParseUL(%q): %v", c.payload, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseUL(%q) = %+v, want %+v", c.payload, got, c.want)
		}
		if again, err := iota.ParseUL(iota.FormatUL(got)); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseUL(FormatUL(%q)) = %+v, %v", c.payload, again, err)
		}
	}
}

func TestParseULErrors(t *testing.T) {
	cases := []struct{ payload, field, rule string }{
		{"", "", "must not be empty"},
		{"notAULPayload ", "groups[0]", "at byte 0: a group must be key|value pairs"},
		{"a|10||", "groups[0].fields[2]", "at byte 5: a key must not be empty"},
		{"a|10|b|", "groups[0].fields[3]", `at byte 7: the value of "b" must not be empty`},
		{"a|10|b|11##t|3", "groups[1]", "at byte 10: a measure group must not be empty"},
		{"a|1#", "groups[1]", "must not be empty"},
		{"|", "groups[0]", "a group must be key|value pairs"},
		{"dev@|1", "groups[0]", "a command result must be"},
	}
	for _, c := range cases {
		_, err := iota.ParseUL([]byte(c.payload))
		var ie *twin.InputError
		if !errors.As(err, &ie) {
			t.Errorf("ParseUL(%q) error = %v, want a *twin.InputError", c.payload, err)
			continue
		}
		if ie.Reason != twin.ReasonUnknownShape || ie.Field != c.field || !strings.Contains(ie.Rule, c.rule) {
			t.Errorf("ParseUL(%q) = %q (field %q), want field %q and %q", c.payload, ie.Rule, ie.Field, c.field, c.rule)
		}
	}
}

func TestULCast(t *testing.T) {
	cases := []struct {
		raw  string
		want iota.Value
	}{
		{"23", iota.Number(23)},
		{"43.4", iota.Number(43.4)},
		{"-1e3", iota.Number(-1000)},
		{" 7 ", iota.Number(7)},
		{"true", iota.Bool(true)},
		{"null", iota.Null},
		{`"quoted"`, iota.Text("quoted")},
		{"[1,2,3]", iota.Value{Kind: iota.ValueJSON, Str: "[1,2,3]"}},
		{`{"a": 1, "b": [true]}`, iota.Value{Kind: iota.ValueJSON, Str: `{"a":1,"b":[true]}`}},
		{"None", iota.Text("None")},
		{"007", iota.Text("007")},
		{"1.2/3.4", iota.Text("1.2/3.4")},
		{"NaN", iota.Text("NaN")},
		{"Infinity", iota.Text("Infinity")},
		{"1e400", iota.Text("1e400")},
		{"['a','b']", iota.Text("['a','b']")},
		{"{a:1}", iota.Text("{a:1}")},
	}
	for _, c := range cases {
		p := iota.ULPair{Key: "k", Raw: c.raw}
		if got := p.Value(); !got.Equal(c.want) {
			t.Errorf("cast %q = %+v, want %+v", c.raw, got, c.want)
		}
		n, ok := p.Number()
		if ok != (c.want.Kind == iota.ValueNumber) || ok && n != c.want.Num {
			t.Errorf("Number(%q) = %v, %v", c.raw, n, ok)
		}
	}
}

func TestULResultAndCommand(t *testing.T) {
	r, err := iota.ParseULResult([]byte("weatherStation167@ping|Ping ok"))
	if err != nil || r != (iota.ULResult{DeviceID: "weatherStation167", Command: "ping", Raw: "Ping ok"}) {
		t.Errorf("ParseULResult = %+v, %v", r, err)
	}
	if v := (iota.ULResult{Raw: "1234567890"}).Value(); !v.Equal(iota.Number(1234567890)) {
		t.Errorf("result cast = %+v", v)
	}
	for _, bad := range []string{"", "ping|x", "@ping|x", "dev@|x"} {
		if _, err := iota.ParseULResult([]byte(bad)); err == nil {
			t.Errorf("ParseULResult(%q) accepted", bad)
		}
	}
	c, err := iota.ParseULCommand([]byte("weatherStation167@ping|param1=1|param2=2"))
	if err != nil || c.DeviceID != "weatherStation167" || c.Command != "ping" ||
		!reflect.DeepEqual(c.Params, []iota.ULPair{{Key: "param1", Raw: "1"}, {Key: "param2", Raw: "2"}}) {
		t.Errorf("ParseULCommand = %+v, %v", c, err)
	}
	c, err = iota.ParseULCommand([]byte("Robot1@turn|left"))
	if err != nil || c.Value != "left" || c.Params != nil {
		t.Errorf("ParseULCommand = %+v, %v", c, err)
	}
	if _, err := iota.ParseULCommand([]byte("Robot1@turn|a=1|b")); err == nil {
		t.Error("ParseULCommand accepted a parameter without =")
	}
	if _, err := iota.ParseULCommand([]byte("turn|left")); err == nil {
		t.Error("ParseULCommand accepted a command without @")
	}
	enc := []struct {
		v    iota.Value
		want string
	}{
		{iota.Text("22"), "id_sen1@ping|22"},
		{iota.Number(22), "id_sen1@ping|22"},
		{iota.Value{Kind: iota.ValueJSON, Str: `{"param1":1,"param2":"2","o":{"x":1}}`}, `id_sen1@ping|param1=1|param2=2|o={"x":1}`},
		{iota.Value{Kind: iota.ValueJSON, Str: `{}`}, "id_sen1@ping"},
		{iota.Value{Kind: iota.ValueJSON, Str: `[1,2]`}, "id_sen1@ping|[1,2]"},
	}
	for _, e := range enc {
		if got := string(iota.EncodeULCommand("id_sen1", "ping", e.v)); got != e.want {
			t.Errorf("EncodeULCommand(%+v) = %q, want %q", e.v, got, e.want)
		}
	}
}
