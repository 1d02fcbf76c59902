//go:build linux

package main

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/citytwin/citytwin/internal/testenv"
)

// TestLiveMapStream: a live map client on /ws subscribes to the noise layer
// and a neighbourhood layer, gets its snapshot, then the reading published
// over MQTT as a delta (sensor and the neighbourhood's new LAeq); at
// shutdown it is closed with 1001.
func TestLiveMapStream(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-ws", "CITYTWIN_WS_FLUSH_INTERVAL=100ms")
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+ct.HTTPAddr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]any{"type": "subscribe", "layers": []string{"noise", "neighbourhood"}, "tenant": "live"}); err != nil {
		t.Fatal(err)
	}
	type msg struct {
		Type    string
		Sensors []struct {
			ID     string
			Values map[string]struct{ Value any }
		}
		Features []struct {
			Kind, ID   string
			Indicators map[string]any
		}
	}
	read := func() msg {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m msg
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("read: %v", err)
		}
		return m
	}
	if m := read(); m.Type != "snapshot" {
		t.Fatalf("first message %q, want snapshot", m.Type)
	}
	publish := mqttPublisher(t, mq.URL, "pub-ws")
	sent := time.Now()
	publish("ngsi/live/noise/w1", fmt.Sprintf(`{"id":"urn:ngsi-ld:NoiseLevelObserved:w1","type":"NoiseLevelObserved","dateObserved":%q,"LAeq":71.5,"location":{"type":"Point","coordinates":[9.19,45.4642]}}`,
		time.Now().UTC().Format(time.RFC3339Nano)))
	var sensorSeen, featureSeen bool
	for !(sensorSeen && featureSeen) {
		m := read()
		if m.Type != "delta" {
			continue
		}
		for _, s := range m.Sensors {
			if s.ID == "urn:ngsi-ld:NoiseLevelObserved:w1" && s.Values["LAeq"].Value == 71.5 {
				sensorSeen = true
				t.Logf("reading on the live map %v after its publication", time.Since(sent).Round(time.Millisecond))
			}
		}
		for _, f := range m.Features {
			if l, ok := f.Indicators["LAeq"].(float64); ok && f.Kind == "neighbourhood" && math.Abs(l-71.5) < 1e-9 {
				featureSeen = true
			}
		}
	}
	if !ct.Stop(30 * time.Second) {
		t.Fatal("citytwin did not stop gracefully")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("at shutdown: %v, want close 1001", err)
		}
		break
	}
}
