//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/internal/testenv"
)

type alertJSON struct {
	ID, Rule, Tenant, FeatureKind, FeatureID string
	Sensors                                  []string
	Threshold, Value, Peak                   float64
	Open                                     bool
	Start, End                               time.Time
}

// TestAlertsOverMQTT: a soil-moisture reading below the refill threshold,
// published over MQTT, opens an alert on its irrigation zone (API and MQTT
// event); a reading back above threshold + hysteresis closes it.
func TestAlertsOverMQTT(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-alerts")
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	// A point inside the first irrigation zone that has one.
	var zone *geo.Feature
	var p orb.Point
	for _, z := range city.Features(geo.KindIrrigationZone) {
		c := z.Geometry.Bound().Center()
		if f := city.Containing(geo.KindIrrigationZone, c); f != nil && f.ID == z.ID {
			zone, p = z, c
			break
		}
	}
	if zone == nil {
		t.Fatal("fixture: no irrigation zone contains its bound's centre")
	}

	events := make(chan alertJSON, 16)
	watcher := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID("alert-watcher"))
	if tok := watcher.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer watcher.Disconnect(100)
	if tok := watcher.Subscribe("citytwin/alerts/parks/#", 1, func(_ paho.Client, m paho.Message) {
		var a alertJSON
		if json.Unmarshal(m.Payload(), &a) == nil {
			events <- a
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	publish := mqttPublisher(t, mq.URL, "pub-alerts")
	soil := func(v float64, at time.Time) {
		publish("ngsi/parks/soil/p1", fmt.Sprintf(`{"id":"urn:ngsi-ld:GreenspaceRecord:p1","type":"GreenspaceRecord","dateObserved":%q,"soilMoistureVwc":%g,"location":{"type":"Point","coordinates":[%f,%f]}}`,
			at.Format(time.RFC3339Nano), v, p[0], p[1]))
	}
	nextEvent := func(what string) alertJSON {
		t.Helper()
		select {
		case a := <-events:
			return a
		case <-time.After(10 * time.Second):
			t.Fatalf("no MQTT alert event (%s) within 10 s", what)
		}
		return alertJSON{}
	}
	alerts := func(state string) []alertJSON {
		t.Helper()
		resp, err := http.Get("http://" + ct.HTTPAddr + "/api/v1/alerts?tenant=parks&rule=soil-refill&state=" + state)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []alertJSON
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Alerts change once per stored batch, so each step waits for its event.
	t0 := time.Now().UTC().Add(-10 * time.Minute)
	soil(0.26, t0)                  // fine
	soil(0.15, t0.Add(time.Minute)) // below 0.20: opens
	opened := nextEvent("opened")
	if opened.Rule != "soil-refill" || !opened.Open || opened.FeatureKind != "irrigationzone" || opened.FeatureID != zone.ID ||
		opened.Value != 0.15 || !slices.Equal(opened.Sensors, []string{"urn:ngsi-ld:GreenspaceRecord:p1"}) {
		t.Fatalf("opened event %+v, want soil-refill on irrigationzone %s at 0.15", opened, zone.ID)
	}
	soil(0.21, t0.Add(2*time.Minute)) // above 0.20 but within the 0.02 hysteresis: stays open
	soil(0.12, t0.Add(3*time.Minute)) // new peak (the lowest value)
	peak := nextEvent("new peak")
	if peak.ID != opened.ID || peak.Peak != 0.12 || !peak.Open {
		t.Fatalf("peak event %+v, want the same alert with peak 0.12", peak)
	}
	if open := alerts("open"); len(open) != 1 || open[0].ID != opened.ID {
		t.Fatalf("open alerts %+v, want %s", open, opened.ID)
	}

	soil(0.23, t0.Add(4*time.Minute)) // above 0.22: closes
	closed := nextEvent("closed")
	if closed.ID != opened.ID || closed.Open || !closed.End.Equal(t0.Add(4*time.Minute).Truncate(time.Nanosecond)) || closed.Peak != 0.12 {
		t.Fatalf("closed event %+v", closed)
	}
	if open := alerts("open"); len(open) != 0 {
		t.Errorf("alerts still open: %+v", open)
	}
	if done := alerts("closed"); len(done) != 1 || done[0].ID != opened.ID || !done[0].Start.Equal(t0.Add(time.Minute)) {
		t.Errorf("closed alerts %+v", done)
	}
	m, err := ct.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if m[`citytwin_alerts_opened_total{rule="soil-refill"}`] != 1 || m[`citytwin_alerts_closed_total{rule="soil-refill"}`] != 1 {
		t.Errorf("alert metrics: opened %v closed %v", m[`citytwin_alerts_opened_total{rule="soil-refill"}`], m[`citytwin_alerts_closed_total{rule="soil-refill"}`])
	}
}
