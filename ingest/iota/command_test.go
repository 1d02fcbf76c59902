package iota_test

import (
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
)

func TestCommandState(t *testing.T) {
	dev := &iota.Device{DeviceID: "d1", APIKey: "k", EntityType: "Lamp", Service: "s", ServicePath: "/p"}
	s := iota.NewCommand(dev, "on", iota.Text("1"), now)
	if s.Status != iota.CommandPending || s.DeviceID != "d1" || s.APIKey != "k" || s.Issued != now || s.Status.Final() {
		t.Errorf("NewCommand = %+v", s)
	}
	if got := ngsi(t, []iota.Entity{iota.CommandUpdate(s, dev, nil)}); got != `[{"id":"Lamp:d1","on_status":{"type":"commandStatus","value":"PENDING"},"type":"Lamp"}]` {
		t.Errorf("PENDING update = %s", got)
	}
	later := now.Add(time.Minute)
	if _, expired := s.Expire(later, 2*time.Minute); expired {
		t.Error("expired before its ttl")
	}
	e, expired := s.Expire(later, time.Minute)
	if !expired || e.Status != iota.CommandExpired || e.Info.Str != "expired" || e.Updated != later || e.Status.Final() {
		t.Errorf("Expire = %+v", e)
	}
	if _, again := e.Expire(later, time.Minute); again {
		t.Error("an expired command expired again")
	}
	ok := e.Complete(iota.Number(3), later)
	if ok.Status != iota.CommandOK || !ok.Status.Final() || ok.Info.Num != 3 || s.Status != iota.CommandPending {
		t.Errorf("Complete = %+v (original %+v)", ok, s)
	}
	if got := ngsi(t, []iota.Entity{iota.CommandUpdate(ok, dev, nil)}); got != `[{"id":"Lamp:d1","on_info":{"type":"commandResult","value":3},"on_status":{"type":"commandStatus","value":"OK"},"type":"Lamp"}]` {
		t.Errorf("OK update = %s", got)
	}
	f := s.Fail("device unreachable", later)
	if f.Status != iota.CommandError || f.Info.Str != "device unreachable" || !f.Status.Final() {
		t.Errorf("Fail = %+v", f)
	}
}

func TestEncodeCommand(t *testing.T) {
	dev := device(t, `{"device_id":"MQTT_2","entity_type":"T","commands":[
		{"name":"PING","type":"command"},
		{"name":"EXPRESSION_CMD","type":"command","expression":"EXPRESSION_CMD | replacestr('Text','Expression')"},
		{"name":"HEX","type":"command","payloadType":"binaryfromhex"},
		{"name":"TXT","type":"command","payloadType":"text"},
		{"name":"STR","type":"command","payloadType":"binaryfromstring"},
		{"name":"JS","type":"command","payloadType":"binaryfromjson"},
		{"object_id":"s","name":"set","type":"command","mqtt":{"qos":1,"retain":true}}]}`)
	obj := iota.Value{Kind: iota.ValueJSON, Str: `{"data":"22"}`}
	cases := []struct {
		p    iota.Protocol
		name string
		v    iota.Value
		want string
	}{
		{iota.ProtocolUL, "PING", iota.Text("22"), "MQTT_2@PING|22"},
		{iota.ProtocolUL, "PING", obj, "MQTT_2@PING|data=22"},
		{iota.ProtocolJSON, "PING", obj, `{"PING":{"data":"22"}}`},
		{iota.ProtocolJSON, "EXPRESSION_CMD", iota.Text("Text here"), `{"EXPRESSION_CMD":"Expression here"}`},
		{iota.ProtocolUL, "HEX", iota.Text("414243"), "ABC"},
		{iota.ProtocolJSON, "TXT", iota.Number(7), "7"},
		{iota.ProtocolJSON, "STR", iota.Text("a b"), "a b"},
		{iota.ProtocolUL, "JS", obj, `{"data":"22"}`},
		{iota.ProtocolUL, "set", iota.Number(1), "MQTT_2@s|1"},
	}
	for _, c := range cases {
		b, opts, err := iota.EncodeCommand(c.p, dev, nil, c.name, c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("EncodeCommand(%s, %s) = %q, %v; want %q", c.p, c.name, b, err, c.want)
		}
		if c.name == "set" && (opts == nil || opts.QoS != 1 || !opts.Retain) {
			t.Errorf("set options = %+v", opts)
		}
	}
	for _, bad := range []struct {
		name string
		v    iota.Value
	}{{"HEX", iota.Text("xyz")}, {"nope", iota.Null}} {
		if _, _, err := iota.EncodeCommand(iota.ProtocolUL, dev, nil, bad.name, bad.v); err == nil {
			t.Errorf("EncodeCommand(%s, %+v) accepted", bad.name, bad.v)
		}
	}
	if _, _, err := iota.EncodeCommand(iota.ProtocolUL, nil, nil, "PING", iota.Null); err == nil {
		t.Error("EncodeCommand without device or group accepted")
	}
	grp := group(t, `{"apikey":"k","entity_type":"Light","commands":[{"name":"cmd1"}]}`)
	auto := &iota.Device{DeviceID: "JSON_UNPROVISIONED", APIKey: "k", Service: "Milan", ServicePath: "/noise"}
	if b, _, err := iota.EncodeCommand(iota.ProtocolJSON, auto, grp, "cmd1", obj); err != nil || string(b) != `{"cmd1":{"data":"22"}}` {
		t.Errorf("group command = %q, %v", b, err)
	}
}
