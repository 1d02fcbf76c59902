//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/internal/testenv"
)

const testAdminToken = "admin-token-for-tests-0123456789"

// provisionRequest sends a request to the provisioning API with a bearer
// token (none when empty) and the Fiware headers (no path header when
// servicePath is empty), and returns the status and body.
func provisionRequest(t *testing.T, ct *citytwinProc, method, path, token, service, servicePath, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+ct.HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Fiware-Service", service)
	if servicePath != "" {
		req.Header.Set("Fiware-ServicePath", servicePath)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// iotRequest is provisionRequest in the service path /parks of the vendor
// and command tests.
func iotRequest(t *testing.T, ct *citytwinProc, method, path, token, service, body string) (int, []byte) {
	t.Helper()
	return provisionRequest(t, ct, method, path, token, service, "/parks", body)
}

type vendorAccess struct {
	Services []struct {
		APIKey string `json:"apikey"`
		MQTT   struct{ Username, Password string }
		Token  string
	}
}

// TestVendorFlow follows a vendor through the docs on the embedded broker:
// the city creates its service group, the vendor provisions a device with
// its own token, publishes UltraLight and JSON measures with its group's
// MQTT credentials and sees them stored, gets a clear error for a bad
// measure on its device's error topic, and cannot touch another vendor.
func TestVendorFlow(t *testing.T) {
	t.Run("embedded broker", func(t *testing.T) {
		db := testenv.StartInfluxDB(t)
		ct := startCitytwin(t, nil, db, "citytwin-vendor", "CITYTWIN_ADMIN_TOKEN="+testAdminToken)
		vendorFlow(t, ct, db)
	})
	// With an external Mosquitto, citytwin manages its dynamic-security
	// plugin: its own client, the vendors' clients and roles.
	t.Run("mosquitto dynamic security", func(t *testing.T) {
		mq := testenv.StartMosquitto(t, testenv.WithDynsec(t))
		db := testenv.StartInfluxDB(t)
		ct := startCitytwin(t, mq, db, "citytwin-vendor", "CITYTWIN_ADMIN_TOKEN="+testAdminToken,
			"CITYTWIN_MQTT_USERNAME=citytwin", "CITYTWIN_MQTT_PASSWORD=citytwin-service-password",
			"CITYTWIN_MQTT_DYNSEC_USERNAME="+testenv.DynsecAdmin, "CITYTWIN_MQTT_DYNSEC_PASSWORD="+testenv.DynsecAdminPassword)
		vendorFlow(t, ct, db)
	})
}

func vendorFlow(t *testing.T, ct *citytwinProc, db *testenv.InfluxDB) {
	newGroup := func(service, apikey string) vendorAccess {
		code, body := iotRequest(t, ct, http.MethodPost, "/iot/services", testAdminToken, service,
			fmt.Sprintf(`{"services":[{"apikey":%q,"entity_type":"GreenspaceRecord","resource":"/iot/d","autoprovision":false}]}`, apikey))
		var va vendorAccess
		if code != http.StatusCreated || json.Unmarshal(body, &va) != nil || len(va.Services) != 1 || va.Services[0].Token == "" || va.Services[0].MQTT.Password == "" {
			t.Fatalf("create group %s: %d %s", apikey, code, body)
		}
		return va
	}
	green := newGroup("greenco", "gk1").Services[0]
	other := newGroup("rivalco", "rk1").Services[0]

	// The vendor provisions its soil probe with its own token.
	device := `{"devices":[{"device_id":"soil01","entity_name":"urn:ngsi-ld:GreenspaceRecord:soil01","entity_type":"GreenspaceRecord","protocol":"PDI-IoTA-UltraLight",
		"attributes":[{"object_id":"m","name":"soilMoistureVwc","type":"Number"},{"object_id":"t","name":"soilTemperature","type":"Number"}],
		"static_attributes":[{"name":"location","type":"geo:json","value":{"type":"Point","coordinates":[9.19,45.46]}}]}]}`
	if code, body := iotRequest(t, ct, http.MethodPost, "/iot/devices", green.Token, "greenco", device); code != http.StatusCreated {
		t.Fatalf("provision device: %d %s", code, body)
	}
	if code, _ := iotRequest(t, ct, http.MethodPost, "/iot/devices", green.Token, "rivalco", strings.Replace(device, "soil01", "soil99", -1)); code != http.StatusForbidden {
		t.Errorf("a vendor token provisioned into another service: %d", code)
	}
	if code, _ := iotRequest(t, ct, http.MethodGet, "/iot/devices", "", "greenco", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}

	// The vendor's probe publishes with the group's credentials.
	dial := func(id, user, pass string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(ct.MQTTURL).SetClientID(id).SetUsername(user).SetPassword(pass).SetAutoReconnect(false))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			t.Cleanup(func() { c.Disconnect(100) })
		}
		return c, tok.Error()
	}
	if _, err := dial("intruder", green.MQTT.Username, "not-the-password"); err == nil {
		t.Error("wrong MQTT password accepted")
	}
	probe, err := dial("soil01", green.MQTT.Username, green.MQTT.Password)
	if err != nil {
		t.Fatal(err)
	}
	feedback := make(chan map[string]any, 4)
	if tok := probe.Subscribe("/gk1/+/errors", 1, func(_ paho.Client, m paho.Message) {
		var n map[string]any
		if json.Unmarshal(m.Payload(), &n) == nil {
			feedback <- n
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t1 := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Millisecond)
	t2 := t1.Add(time.Minute)
	publish := func(c paho.Client, topic, payload string) {
		t.Helper()
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	publish(probe, "/ul/gk1/soil01/attrs", t1.Format(time.RFC3339Nano)+"|m|0.31|t|14.5")
	publish(probe, "/json/gk1/soil01/attrs", fmt.Sprintf(`{"m":0.29,"t":15,"TimeInstant":%q}`, t2.Format(time.RFC3339Nano)))
	publish(probe, "/ul/gk1/soil01/attrs", "m|1.7") // a volumetric fraction above 1
	publish(probe, "/ul/gk1/ghost/attrs", "m|0.2")  // not provisioned, no autoprovision

	got := map[string]string{}
	for len(got) < 2 {
		select {
		case n := <-feedback:
			got[fmt.Sprint(n["reason"])] = fmt.Sprint(n["error"])
		case <-time.After(10 * time.Second):
			t.Fatalf("feedback on the device error topics: %v, want out_of_range and unknown_device", got)
		}
	}
	if !strings.Contains(got["out_of_range"], "soilMoistureVwc") || !strings.Contains(got["unknown_device"], "ghost") {
		t.Errorf("feedback %v: want the attribute and the unknown device named", got)
	}

	// Stored under the vendor's service, with the provisioned names.
	deadline := time.Now().Add(10 * time.Second)
	var rows []testenv.Row
	for time.Now().Before(deadline) {
		rows = db.Select(t, `SELECT soilMoistureVwc, soilTemperature FROM GreenspaceRecord WHERE entity_id = 'urn:ngsi-ld:GreenspaceRecord:soil01' AND tenant = 'greenco'`)
		if len(rows) >= 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(rows) != 2 || !rows[0].Time.Equal(t1) || rows[0].Fields["soilMoistureVwc"] != 0.31 || rows[0].Fields["soilTemperature"] != 14.5 ||
		!rows[1].Time.Equal(t2) || rows[1].Fields["soilMoistureVwc"] != 0.29 {
		t.Errorf("stored %+v, want 0.31/14.5 at %v and 0.29/15 at %v", rows, t1, t2)
	}

	// The vendor cannot publish as the rival's device: the broker drops the
	// message and the connection.
	sneak, err := dial("sneak", green.MQTT.Username, green.MQTT.Password)
	if err != nil {
		t.Fatal(err)
	}
	sneak.Publish("/ul/rk1/soil01/attrs", 1, false, "m|0.5").WaitTimeout(2 * time.Second)
	if tok := probe.Subscribe("/rk1/+/cmd", 1, nil); tok.WaitTimeout(5*time.Second) && tok.Error() == nil &&
		tok.(*paho.SubscribeToken).Result()["/rk1/+/cmd"] < 0x80 {
		t.Error("vendor subscribed to the rival's commands")
	}
	time.Sleep(time.Second)
	if n := db.Count(t, `SELECT count(soilMoistureVwc) FROM GreenspaceRecord WHERE tenant = 'rivalco'`); n != 0 {
		t.Errorf("%d points stored for the rival from the vendor's attempt", n)
	}
	_ = other

	// The device's record shows its feedback.
	code, body := iotRequest(t, ct, http.MethodGet, "/iot/devices/soil01", green.Token, "greenco", "")
	var dev struct {
		DeviceID string `json:"device_id"`
		Status   struct {
			LastSeen         *time.Time
			MeasuresAccepted int
			MeasuresRejected int
			LastError        string
		}
	}
	if code != 200 || json.Unmarshal(body, &dev) != nil || dev.Status.MeasuresAccepted != 2 || dev.Status.MeasuresRejected != 1 ||
		dev.Status.LastSeen == nil || !strings.Contains(dev.Status.LastError, "soilMoistureVwc") {
		t.Errorf("device status: %d %s", code, bytes.TrimSpace(body))
	}
}
