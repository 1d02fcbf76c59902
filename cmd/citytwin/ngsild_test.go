//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/twin"
)

// apiGet GETs path from citytwin with the tenant header and decodes the
// JSON answer into out, failing the test on any status but 200.
func apiGet(t *testing.T, ct *citytwinProc, tenant, path string, out any) http.Header {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ct.HTTPAddr+path, nil)
	req.Header.Set("NGSILD-Tenant", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return resp.Header
}

func mqttPublisher(t *testing.T, brokerURL, clientID string) func(topic, body string) {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { pub.Disconnect(100) })
	return func(topic, body string) {
		t.Helper()
		if tok := pub.Publish(topic, 1, false, body); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
}

// TestNGSILDOperatorQuestions answers the three operator questions
// through the NGSI-LD API of a running citytwin (demo city, real Mosquitto
// and InfluxDB), from readings published over MQTT, then restarts citytwin
// and checks the live state is rebuilt from InfluxDB.
func TestNGSILDOperatorQuestions(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-ngsild")
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	publish := mqttPublisher(t, mq.URL, "pub-ngsild")
	const tenant = "milano"
	now := time.Now().UTC()

	// 1. Noise sensors around a school: which within 500 m exceed 65 dB(A)?
	school := orb.Point{democity.DefaultLon + 0.003, democity.DefaultLat + 0.002}
	type noise struct {
		id      string
		dx, dy  float64 // metres east, north of the school
		laeq    float64
		matches bool
	}
	sensors := []noise{
		{"s1", 150, 100, 70.5, true},
		{"s2", -250, 150, 60, false}, // near but quiet
		{"s3", 0, -430, 66.2, true},
		{"s4", 700, 300, 74, false}, // loud but 760 m away
		{"s5", -100, 0, 65, false},  // exactly at the limit: does not exceed
	}
	const mPerDegLat, mPerDegLon = 111_150.0, 78_000.0
	for _, s := range sensors {
		p := orb.Point{school[0] + s.dx/mPerDegLon, school[1] + s.dy/mPerDegLat}
		if d := geo.DistanceMetres(school, p); (d <= 500) != (s.id != "s4") {
			t.Fatalf("fixture: %s is %.0f m from the school", s.id, d)
		}
		publish("ngsi/"+tenant+"/noise/"+s.id, fmt.Sprintf(`{"id":"urn:ngsi-ld:NoiseLevelObserved:%s","type":"NoiseLevelObserved","@context":"https://smartdatamodels.org/context.jsonld","LAeq":{"type":"Property","value":%g,"observedAt":%q,"unitCode":"2N"},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%f,%f]}}}`,
			s.id, s.laeq, now.Format(time.RFC3339Nano), p[0], p[1]))
	}

	// 2. Air stations: yesterday hour by hour (three readings an hour), and
	// a reading now that sets the AQI band of their neighbourhood.
	yesterday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(-24 * time.Hour)
	air := orb.Point{democity.DefaultLon - 0.01, democity.DefaultLat - 0.004}
	airNIL := city.Link(air, nil, 50).Neighbourhood
	if airNIL == "" {
		t.Fatal("fixture: the air station is in no neighbourhood")
	}
	no2 := func(h, k int) float64 { return 20 + float64(h*7%50) + float64(k)*4.5 }
	wantHourly := make([]float64, 24)
	for h := range 24 {
		for k := range 3 {
			at := yesterday.Add(time.Duration(h)*time.Hour + time.Duration(5+20*k)*time.Minute)
			publish("ngsi/"+tenant+"/air/a1", fmt.Sprintf(`{"id":"urn:ngsi-ld:AirQualityObserved:a1","type":"AirQualityObserved","dateObserved":%q,"no2":%g,"location":{"type":"Point","coordinates":[%f,%f]}}`,
				at.Format(time.RFC3339), no2(h, k), air[0], air[1]))
			wantHourly[h] += no2(h, k) / 3
		}
	}
	conc := map[string]float64{"pm25": 22, "pm10": 35, "no2": 95, "o3": 60}
	wantBand, wantPollutant := twin.AQI(conc)
	publish("ngsi/"+tenant+"/air/a1", fmt.Sprintf(`{"id":"urn:ngsi-ld:AirQualityObserved:a1","type":"AirQualityObserved","dateObserved":%q,"pm25":%g,"pm10":%g,"no2":%g,"o3":%g,"location":{"type":"Point","coordinates":[%f,%f]}}`,
		now.Format(time.RFC3339Nano), conc["pm25"], conc["pm10"], conc["no2"], conc["o3"], air[0], air[1]))

	// Everything is in the twin once the last reading is.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var e map[string]any
		req, _ := http.NewRequest(http.MethodGet, "http://"+ct.HTTPAddr+"/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:a1?options=keyValues", nil)
		req.Header.Set("NGSILD-Tenant", tenant)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
		}
		if e["o3"] == conc["o3"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the air station's latest reading never reached the twin: %v", e)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ask := func(t *testing.T) {
		q := "/ngsi-ld/v1/entities?type=NoiseLevelObserved&q=" + url.QueryEscape("LAeq>65") +
			"&georel=near;maxDistance==500&geometry=Point&coordinates=" + url.QueryEscape(fmt.Sprintf("[%f,%f]", school[0], school[1])) +
			"&options=keyValues&count=true"
		var got []map[string]any
		hdr := apiGet(t, ct, tenant, q, &got)
		var ids []string
		for _, e := range got {
			ids = append(ids, strings.TrimPrefix(e["id"].(string), "urn:ngsi-ld:NoiseLevelObserved:"))
		}
		// Nearest first: s1 is 180 m away, s3 430 m.
		if strings.Join(ids, ",") != "s1,s3" || hdr.Get("NGSILD-Results-Count") != "2" {
			t.Errorf("noise sensors within 500 m above 65 dB(A): %v (count %s), want s1,s3", ids, hdr.Get("NGSILD-Results-Count"))
		}

		var areas []map[string]any
		hdr = apiGet(t, ct, tenant, "/ngsi-ld/v1/entities?type=AdministrativeArea&q="+url.QueryEscape(`adminLevel=="neighbourhood"`)+
			"&attrs=name,aqiBand,aqiPollutant&options=keyValues&limit=1000&count=true", &areas)
		if n := len(city.Features(geo.KindNeighbourhood)); len(areas) != n || hdr.Get("NGSILD-Results-Count") != fmt.Sprint(n) {
			t.Errorf("AQI of every neighbourhood: %d entities (count %s), want all %d", len(areas), hdr.Get("NGSILD-Results-Count"), n)
		}
		banded := 0
		for _, a := range areas {
			if a["aqiBand"] == nil {
				continue
			}
			banded++
			if a["id"] != "urn:ngsi-ld:AdministrativeArea:neighbourhood:"+airNIL || a["aqiBand"] != wantBand || a["aqiPollutant"] != wantPollutant {
				t.Errorf("AQI: %v, want %s band %q by %s", a, airNIL, wantBand, wantPollutant)
			}
		}
		if banded != 1 {
			t.Errorf("AQI: %d neighbourhoods with a band, want 1 (%s)", banded, airNIL)
		}

		var hist struct {
			ID, Type string
			NO2      struct{ Avg [][]any } `json:"no2"`
		}
		apiGet(t, ct, tenant, "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:a1?attrs=no2&timerel=between&timeAt="+
			yesterday.Format(time.RFC3339)+"&endTimeAt="+yesterday.Add(24*time.Hour).Format(time.RFC3339)+"&aggrMethods=avg&aggrPeriodDuration=PT1H", &hist)
		if hist.Type != "AirQualityObserved" || len(hist.NO2.Avg) != 24 {
			t.Fatalf("hourly NO2 yesterday: type %q, %d buckets, want 24", hist.Type, len(hist.NO2.Avg))
		}
		for h, b := range hist.NO2.Avg {
			start := yesterday.Add(time.Duration(h) * time.Hour).Format("2006-01-02T15:04:05.000Z")
			end := yesterday.Add(time.Duration(h+1) * time.Hour).Format("2006-01-02T15:04:05.000Z")
			if v, _ := b[0].(float64); math.Abs(v-wantHourly[h]) > 1e-9 || b[1] != start || b[2] != end {
				t.Errorf("hour %d: %v, want [%g %s %s]", h, b, wantHourly[h], start, end)
			}
		}
	}
	t.Run("live", ask)

	// Another tenant sees none of it.
	var other []map[string]any
	apiGet(t, ct, "someone-else", "/ngsi-ld/v1/entities?type=NoiseLevelObserved,AirQualityObserved", &other)
	if len(other) != 0 {
		t.Errorf("tenant isolation: another tenant sees %d entities", len(other))
	}

	// A restart keeps the live state: it is rebuilt from InfluxDB before
	// citytwin reports ready.
	if !ct.Stop(30 * time.Second) {
		t.Fatal("citytwin did not stop gracefully")
	}
	ct.Start()
	t.Run("after restart", ask)
	var s1 map[string]any
	apiGet(t, ct, tenant, "/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:s1?options=concise", &s1)
	laeq, _ := s1["LAeq"].(map[string]any)
	if laeq["value"] != 70.5 || !slices.Contains([]any{now.Format("2006-01-02T15:04:05.000Z")}, laeq["observedAt"]) {
		t.Errorf("s1 after restart: %v", s1)
	}
}
