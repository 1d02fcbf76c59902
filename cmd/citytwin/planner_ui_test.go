//go:build ui && linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/internal/testenv"
)

// plannerTenant holds the test's sensors and history, apart from any other.
const plannerTenant = "planner"

// TestPlannerPanel drives the dashboard's planner panel in real Chromium
// (web/ui/tests/planner.mjs) against citytwin built with the map (-tags ui),
// its embedded broker and a real InfluxDB holding a known synthetic history.
//
// The history: 72 hourly rollups (measurement citytwin_hourly, the schema of
// package rollup) ending at the current hour, for six sensors placed on the
// demo city in one neighbourhood N that has a park: a noise sensor 11 m from
// a road R of N at 66 dB(A) from 07 to 23 (Europe/Rome) and 56 at night, a
// traffic sensor on R at 600 veh/h and 45 km/h, a traffic sensor on another
// road D of N at 300 veh/h (the detour), an air station at 40 µg/m³ NO2, a
// soil sensor in the park at 0.25 m³/m³ and a weather station (18–30 °C, RH
// 40–80 %, 2 m/s, 250 W/m², no rain). One NGSI reading per sensor over MQTT
// first places them in the live twin, whose locations the planner uses.
//
// With flow −30 % on N every road of N changes its emission by
// 10·lg(0.7) = −1.549 dB whatever its flow and mix (CNOSSOS-EU, flow term
// only), and N's Lden falls, since its noise sensor hears R.
//
// Closing R with 60 % of its flow diverted onto D: R's flow after is 0, D's
// 300 + 0.6 × 600 = 660 veh/h, and D's emission changes by
// 10·lg(660/300) = +3.424 dB (the script computes these from PLAN_ROAD_FLOW
// and PLAN_DETOUR_FLOW, the flows written here).
//
// Screenshots and result.json go to $CITYTWIN_ARTIFACTS/planner (else the
// test's temporary directory). Needs what TestDashboard needs.
func TestPlannerPanel(t *testing.T) {
	node, chromium, uiDir := browserTools(t)
	artifacts := artifactsDir(t, "planner")

	db := testenv.StartInfluxDB(t)
	ct := startCitytwinBinary(t, citytwinUIBinary(t), nil, db, "citytwin-planner")
	base := "http://" + ct.HTTPAddr + "/"
	requireDashboard(t, base, "")
	if resp, err := http.Get(base + "api/v1/scenarios?tenant=" + plannerTenant); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/scenarios = %d: serve.go needs (&web.PlannerAPI{…}).Register(srv)", resp.StatusCode)
	}

	city, err := loadCity("", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fx := choosePlannerFixture(t, city)
	t.Logf("neighbourhood %s (district %s), road %s, detour road %s, park %s; neighbourhood without park: %q",
		fx.Neighbourhood, fx.District, fx.Road, fx.Detour, fx.Park, fx.NoPark)
	publishPlannerSensors(t, ct.MQTTURL, base, fx)
	end := time.Now().Truncate(time.Hour)
	db.Write(t, plannerHistory(fx, end.Add(-72*time.Hour), 72))

	runBrowserScript(t, node, chromium, uiDir, "tests/planner.mjs", artifacts, 8*time.Minute,
		"CITYTWIN_URL="+base,
		"CITYTWIN_TENANT="+plannerTenant,
		"PLAN_NEIGHBOURHOOD="+fx.Neighbourhood,
		"PLAN_DISTRICT="+fx.District,
		"PLAN_ROAD="+fx.Road,
		"PLAN_PARK="+fx.Park,
		"PLAN_NO_PARK="+fx.NoPark,
		fmt.Sprintf("PLAN_CLICK=%f,%f", fx.Noise[0], fx.Noise[1]),
		fmt.Sprintf("PLAN_ROAD_POINT=%f,%f", fx.RoadPoint[0], fx.RoadPoint[1]),
		"PLAN_DETOUR_ROAD="+fx.Detour,
		fmt.Sprintf("PLAN_DETOUR_POINT=%f,%f", fx.DetourPoint[0], fx.DetourPoint[1]),
		fmt.Sprintf("PLAN_ROAD_FLOW=%g", plannerRoadFlow),
		fmt.Sprintf("PLAN_DETOUR_FLOW=%g", plannerDetourFlow),
	)
}

// plannerFixture is where the test's sensors stand on the demo city.
type plannerFixture struct {
	Neighbourhood, District, Road, Park string
	// Detour is a second road of the neighbourhood, with its own traffic
	// sensor: the one that takes R's diverted traffic.
	Detour string
	// NoPark is a neighbourhood without any green area ("" if none).
	NoPark string
	// Noise is the noise, traffic and air sensors' place, 11 m north of
	// RoadPoint, the middle of R's first segment; Soil is inside the park.
	// DetourSensor is 11 m north of DetourPoint, the middle of D's first
	// segment.
	Noise, RoadPoint, Soil, DetourSensor, DetourPoint orb.Point
	Links                                             map[string]geo.Links // by entity id
}

// The test's sensors: entity id and type.
var plannerSensors = [][2]string{
	{"urn:ngsi-ld:NoiseLevelObserved:plan-n1", "NoiseLevelObserved"},
	{"urn:ngsi-ld:TrafficFlowObserved:plan-t1", "TrafficFlowObserved"},
	{plannerDetourSensor, "TrafficFlowObserved"},
	{"urn:ngsi-ld:AirQualityObserved:plan-a1", "AirQualityObserved"},
	{"urn:ngsi-ld:GreenspaceRecord:plan-s1", "GreenspaceRecord"},
	{"urn:ngsi-ld:WeatherObserved:plan-w1", "WeatherObserved"},
}

// plannerDetourSensor is the traffic sensor on the detour road D.
const plannerDetourSensor = "urn:ngsi-ld:TrafficFlowObserved:plan-t2"

// The hourly flows (intensity_sum, vehicles per hour) of the history on R
// and on the detour road D.
const (
	plannerRoadFlow   = 600.0
	plannerDetourFlow = 300.0
)

// at is where a sensor of the fixture stands.
func (fx plannerFixture) at(id, typ string) orb.Point {
	switch {
	case id == plannerDetourSensor:
		return fx.DetourSensor
	case typ == "AirQualityObserved":
		return orb.Point{fx.Noise[0] + 0.0002, fx.Noise[1]}
	case typ == "GreenspaceRecord", typ == "WeatherObserved":
		return fx.Soil
	}
	return fx.Noise
}

// choosePlannerFixture takes the first neighbourhood (in the city's order)
// with a park whose middle lies in it and two roads whose middles, moved
// 11 m north, still link to that neighbourhood and road (R, then D).
func choosePlannerFixture(t *testing.T, city *geo.City) plannerFixture {
	t.Helper()
	var fx plannerFixture
	for _, n := range city.Features(geo.KindNeighbourhood) {
		if len(city.Intersecting(geo.KindGreenArea, n.Geometry)) == 0 && fx.NoPark == "" {
			fx.NoPark = n.ID
		}
		if fx.Neighbourhood != "" {
			continue
		}
		var park *geo.Feature
		var soil orb.Point
		for _, g := range city.Intersecting(geo.KindGreenArea, n.Geometry) {
			c := g.Geometry.Bound().Center()
			if l := city.Link(c, nil, 50); l.Neighbourhood == n.ID && l.GreenArea == g.ID {
				park, soil = g, c
				break
			}
		}
		if park == nil {
			continue
		}
		type placed struct {
			road, district string
			mid, p         orb.Point
		}
		var roads []placed
		for _, r := range city.Intersecting(geo.KindRoad, n.Geometry) {
			ls, ok := r.Geometry.(orb.LineString)
			if !ok || len(ls) < 2 {
				continue
			}
			mid := orb.Point{(ls[0][0] + ls[1][0]) / 2, (ls[0][1] + ls[1][1]) / 2}
			p := orb.Point{mid[0], mid[1] + 0.0001}
			l := city.Link(p, nil, 50)
			if l.Neighbourhood != n.ID || l.Road != r.ID || l.GreenArea != "" {
				continue
			}
			if roads = append(roads, placed{r.ID, l.District, mid, p}); len(roads) == 2 {
				break
			}
		}
		if len(roads) < 2 {
			continue
		}
		r, d := roads[0], roads[1]
		fx.Neighbourhood, fx.District, fx.Road, fx.Park, fx.Detour = n.ID, r.district, r.road, park.ID, d.road
		fx.RoadPoint, fx.Noise, fx.Soil, fx.DetourPoint, fx.DetourSensor = r.mid, r.p, soil, d.mid, d.p
	}
	if fx.Neighbourhood == "" {
		t.Fatal("the demo city has no neighbourhood with a park and two roads to place the test's sensors")
	}
	fx.Links = map[string]geo.Links{}
	for _, s := range plannerSensors {
		fx.Links[s[0]] = city.Link(fx.at(s[0], s[1]), nil, 50)
	}
	return fx
}

// publishPlannerSensors publishes one reading per sensor and waits until the
// live twin lists them all in the neighbourhood (or, for the park's, there).
func publishPlannerSensors(t *testing.T, mqttURL, base string, fx plannerFixture) {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mqttURL).SetClientID("planner-ui-test").SetAutoReconnect(false))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to %s: %v", mqttURL, tok.Error())
	}
	defer pub.Disconnect(100)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, s := range plannerSensors {
		at, attrs, domain := fx.at(s[0], s[1]), "", ""
		switch s[1] {
		case "NoiseLevelObserved":
			attrs, domain = `"LAeq":60`, "noise"
		case "TrafficFlowObserved":
			attrs, domain = `"intensity":10,"averageVehicleSpeed":45`, "traffic"
		case "AirQualityObserved":
			attrs, domain = `"no2":40`, "air"
		case "GreenspaceRecord":
			attrs, domain = `"soilMoistureVwc":0.25`, "irrigation"
		case "WeatherObserved":
			attrs, domain = `"temperature":24,"relativeHumidity":0.6`, "weather"
		}
		body := fmt.Sprintf(`{"id":%q,"type":%q,"dateObserved":%q,%s,"location":{"type":"Point","coordinates":[%f,%f]}}`,
			s[0], s[1], now, attrs, at[0], at[1])
		topic := "ngsi/" + plannerTenant + "/" + domain + "/" + s[0][strings.LastIndexByte(s[0], ':')+1:]
		if tok := pub.Publish(topic, 1, false, body); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	// Every sensor is listed by the neighbourhood or the park it stands in.
	listed := func(kind, id string) map[string]bool {
		resp, err := http.Get(base + "api/v1/layers/" + kind + "/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f struct {
			Properties struct{ Sensors []struct{ ID string } }
		}
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("GET layers/%s/%s: %v: %.200s", kind, id, err, b)
		}
		out := map[string]bool{}
		for _, s := range f.Properties.Sensors {
			out[s.ID] = true
		}
		return out
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		seen := listed("neighbourhood", fx.Neighbourhood)
		for id := range listed("greenarea", fx.Park) {
			seen[id] = true
		}
		missing := []string{}
		for _, s := range plannerSensors {
			if !seen[s[0]] {
				missing = append(missing, s[0])
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s the twin does not list %v in neighbourhood %s or park %s", missing, fx.Neighbourhood, fx.Park)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// plannerHistory is the synthetic history as line protocol: one rollup
// point per sensor and hour from start, tagged with the sensor's links and
// with its location field as package rollup writes them.
func plannerHistory(fx plannerFixture, start time.Time, hours int) string {
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	for i := range hours {
		h := start.Add(time.Duration(i) * time.Hour)
		laeq := 56.0
		if l := h.In(rome).Hour(); l >= 7 && l < 23 {
			laeq = 66
		}
		for _, s := range plannerSensors {
			var fields string
			switch s[1] {
			case "NoiseLevelObserved":
				fields = fmt.Sprintf("LAeq=%g,LAeq_n=60", laeq)
			case "AirQualityObserved":
				fields = "no2=40,no2_n=60"
			case "TrafficFlowObserved":
				flow := plannerRoadFlow
				if s[0] == plannerDetourSensor {
					flow = plannerDetourFlow
				}
				fields = fmt.Sprintf("intensity_sum=%g,intensity=%g,averageVehicleSpeed=45,occupancy=0.2", flow, flow/60)
			case "GreenspaceRecord":
				fields = "soilMoistureVwc=0.25"
			case "WeatherObserved":
				fields = "temperature_max=30,temperature_min=18,relativeHumidity=0.6,relativeHumidity_max=0.8,relativeHumidity_min=0.4,windSpeed=2,solarRadiation=250,precipitation_sum=0"
			}
			// The hour's last location, GeoJSON text as package rollup writes
			// it: the planner's baseline finds entities and their links by it.
			at := fx.at(s[0], s[1])
			fields += fmt.Sprintf(`,%s="{\"type\":\"Point\",\"coordinates\":[%f,%f]}"`, history.LocationField, at[0], at[1])
			l := fx.Links[s[0]]
			tags := fmt.Sprintf("entity_id=%s,tenant=%s,type=%s", s[0], plannerTenant, s[1])
			for _, kv := range [][2]string{{"district", l.District}, {"neighbourhood", l.Neighbourhood}, {"road", l.Road}, {"greenspace", l.GreenArea}} {
				if kv[1] != "" {
					tags += "," + kv[0] + "=" + kv[1]
				}
			}
			fmt.Fprintf(&b, "%s,%s %s %d\n", history.HourlyMeasurement, tags, fields, h.UnixNano())
		}
	}
	return b.String()
}
