//go:build linux

package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/internal/testenv"
)

// TestIrrigationValveCommand: an operator opens a simulated irrigation
// valve for 10 minutes over HTTP; the valve gets the UltraLight command over
// MQTT; citytwin restarts while the command is pending; the valve's result
// then completes it (visible over HTTP) and the status is stored like the
// IoT Agent reports it.
func TestIrrigationValveCommand(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, nil, db, "citytwin-commands", "CITYTWIN_ADMIN_TOKEN="+testAdminToken)
	code, body := iotRequest(t, ct, http.MethodPost, "/iot/services", testAdminToken, "parks",
		`{"services":[{"apikey":"irr1","entity_type":"IrrigationValve","resource":"/iot/d","autoprovision":false}]}`)
	var va vendorAccess
	if code != http.StatusCreated || json.Unmarshal(body, &va) != nil {
		t.Fatalf("create group: %d %s", code, body)
	}
	access := va.Services[0]
	if code, body := iotRequest(t, ct, http.MethodPost, "/iot/devices", access.Token, "parks",
		`{"devices":[{"device_id":"valve01","entity_name":"urn:ngsi-ld:IrrigationValve:valve01","entity_type":"IrrigationValve","protocol":"PDI-IoTA-UltraLight","commands":[{"name":"open_valve","type":"command"}]}]}`); code != http.StatusCreated {
		t.Fatalf("provision valve: %d %s", code, body)
	}

	// The valve keeps a persistent session, as field devices do.
	got := make(chan string, 4)
	valve := paho.NewClient(paho.NewClientOptions().AddBroker(ct.MQTTURL).SetClientID("valve01").
		SetUsername(access.MQTT.Username).SetPassword(access.MQTT.Password).SetCleanSession(false).SetAutoReconnect(true).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe("/irr1/valve01/cmd", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
		}))
	if tok := valve.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer valve.Disconnect(100)
	time.Sleep(200 * time.Millisecond) // the subscription

	if code, body := iotRequest(t, ct, http.MethodPost, "/iot/devices/valve01/commands", testAdminToken, "parks", `{"name":"open_valve","value":"10"}`); code != http.StatusAccepted {
		t.Fatalf("send command: %d %s", code, body)
	}
	if code, body := iotRequest(t, ct, http.MethodPost, "/iot/devices/valve01/commands", testAdminToken, "parks", `{"name":"self_destruct"}`); code != http.StatusBadRequest || !strings.Contains(string(body), "self_destruct") {
		t.Errorf("undeclared command: %d %s", code, body)
	}
	select {
	case cmd := <-got:
		if cmd != "valve01@open_valve|10" {
			t.Errorf("the valve got %q, want valve01@open_valve|10", cmd)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the valve got no command")
	}
	status := func() (string, string) {
		t.Helper()
		code, body := iotRequest(t, ct, http.MethodGet, "/iot/devices/valve01/commands", access.Token, "parks", "")
		var out struct {
			Commands []struct{ Name, Status, Info string }
		}
		if code != 200 || json.Unmarshal(body, &out) != nil || len(out.Commands) != 1 || out.Commands[0].Name != "open_valve" {
			t.Fatalf("commands: %d %s", code, body)
		}
		return out.Commands[0].Status, out.Commands[0].Info
	}
	if st, _ := status(); st != "PENDING" {
		t.Fatalf("status %s, want PENDING", st)
	}

	// The pending command survives a restart of citytwin.
	if !ct.Stop(30 * time.Second) {
		t.Fatal("citytwin did not stop gracefully")
	}
	ct.Start()
	if st, _ := status(); st != "PENDING" {
		t.Fatalf("after restart: status %s, want PENDING", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !valve.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if tok := valve.Publish("/ul/irr1/valve01/cmdexe", 1, false, "valve01@open_valve|opened for 10 min"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("result: %v", tok.Error())
	}
	for {
		st, info := status()
		if st == "OK" {
			if info != "opened for 10 min" {
				t.Errorf("info %q", info)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s after the result, want OK", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rows []testenv.Row
	for time.Now().Before(deadline) {
		rows = db.Select(t, `SELECT open_valve_status, open_valve_info FROM IrrigationValve WHERE entity_id = 'urn:ngsi-ld:IrrigationValve:valve01' AND tenant = 'parks'`)
		if len(rows) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(rows) != 1 || rows[0].Fields["open_valve_status"] != "OK" || rows[0].Fields["open_valve_info"] != "opened for 10 min" {
		t.Errorf("stored command status %+v", rows)
	}
}
