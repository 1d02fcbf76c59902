//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/internal/arpa"
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

// operatorScene is what the operator questions are asked about: noise
// sensors around a school, air stations with yesterday's hourly NO2 and a
// reading now. publish sends it over MQTT; ask checks the API's answers.
type operatorScene struct {
	tenant string
	city   *geo.City
	school orb.Point
	// stations are the air stations; the first gets yesterday's history.
	stations []station
	now      time.Time
}

type station struct {
	id   string
	p    orb.Point
	conc map[string]float64 // the reading now, µg/m³
}

// noise sensors around the school: metres east and north, LAeq, and
// whether they answer "within 500 m and above 65 dB(A)".
var schoolNoise = []struct {
	id      string
	dx, dy  float64
	laeq    float64
	matches bool
}{
	{"s1", 150, 100, 70.5, true},
	{"s2", -250, 150, 60, false}, // near but quiet
	{"s3", 0, -430, 66.2, true},
	{"s4", 700, 300, 74, false}, // loud but 760 m away
	{"s5", -100, 0, 65, false},  // at the limit: does not exceed it
}

func (sc *operatorScene) noisePoint(i int) orb.Point {
	const mPerDegLat = 111_150.0
	mPerDegLon := mPerDegLat * math.Cos(sc.school[1]*math.Pi/180)
	n := schoolNoise[i]
	return orb.Point{sc.school[0] + n.dx/mPerDegLon, sc.school[1] + n.dy/mPerDegLat}
}

func (sc *operatorScene) yesterday() time.Time {
	return time.Date(sc.now.Year(), sc.now.Month(), sc.now.Day(), 0, 0, 0, 0, time.UTC).Add(-24 * time.Hour)
}

// no2 is yesterday's k-th reading of hour h (three an hour).
func no2(h, k int) float64 { return 20 + float64(h*7%50) + float64(k)*4.5 }

func (sc *operatorScene) publish(t *testing.T, publish func(topic, body string)) {
	for i, n := range schoolNoise {
		p := sc.noisePoint(i)
		if d := geo.DistanceMetres(sc.school, p); (d <= 500) != (n.id != "s4") {
			t.Fatalf("fixture: %s is %.0f m from the school", n.id, d)
		}
		publish("ngsi/"+sc.tenant+"/noise/"+n.id, fmt.Sprintf(`{"id":"urn:ngsi-ld:NoiseLevelObserved:%s","type":"NoiseLevelObserved","@context":"https://smartdatamodels.org/context.jsonld","LAeq":{"type":"Property","value":%g,"observedAt":%q,"unitCode":"2N"},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%f,%f]}}}`,
			n.id, n.laeq, sc.now.Format(time.RFC3339Nano), p[0], p[1]))
	}
	y, st := sc.yesterday(), sc.stations[0]
	for h := range 24 {
		for k := range 3 {
			at := y.Add(time.Duration(h)*time.Hour + time.Duration(5+20*k)*time.Minute)
			publish("ngsi/"+sc.tenant+"/air/"+st.id, fmt.Sprintf(`{"id":"urn:ngsi-ld:AirQualityObserved:%s","type":"AirQualityObserved","dateObserved":%q,"no2":%g,"location":{"type":"Point","coordinates":[%f,%f]}}`,
				st.id, at.Format(time.RFC3339), no2(h, k), st.p[0], st.p[1]))
		}
	}
	for _, st := range sc.stations {
		var attrs []string
		for _, pol := range twin.AQIPollutants {
			attrs = append(attrs, fmt.Sprintf("%q:%g", pol, st.conc[pol]))
		}
		publish("ngsi/"+sc.tenant+"/air/"+st.id, fmt.Sprintf(`{"id":"urn:ngsi-ld:AirQualityObserved:%s","type":"AirQualityObserved","dateObserved":%q,%s,"location":{"type":"Point","coordinates":[%f,%f]}}`,
			st.id, sc.now.Format(time.RFC3339Nano), strings.Join(attrs, ","), st.p[0], st.p[1]))
	}
}

// waitLive waits until every station's reading of now is in the twin and
// every message received is acknowledged, that is stored (the twin sees a
// reading when it is accepted, a batch before it is durable).
func (sc *operatorScene) waitLive(t *testing.T, ct *citytwinProc) {
	deadline := time.Now().Add(20 * time.Second)
	for _, st := range sc.stations {
		for {
			var e map[string]any
			req, _ := http.NewRequest(http.MethodGet, "http://"+ct.HTTPAddr+"/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:"+st.id+"?options=keyValues", nil)
			req.Header.Set("NGSILD-Tenant", sc.tenant)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
			}
			if e["o3"] == st.conc["o3"] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("station %s's reading never reached the twin: %v", st.id, e)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	m, ok := waitMetric(ct, 20*time.Second, func(m map[string]float64) bool {
		return m["citytwin_ingest_messages_received_total"] > 0 &&
			m["citytwin_ingest_messages_acked_total"] == m["citytwin_ingest_messages_received_total"]
	})
	if !ok {
		t.Fatalf("ingest not drained: received %v, acked %v", m["citytwin_ingest_messages_received_total"], m["citytwin_ingest_messages_acked_total"])
	}
}

// ask puts the three operator questions to the API and checks the answers
// against values computed here.
func (sc *operatorScene) ask(t *testing.T, ct *citytwinProc) {
	// "Which noise sensors within 500 m of this school exceed 65 dB(A)?"
	q := "/ngsi-ld/v1/entities?type=NoiseLevelObserved&q=" + url.QueryEscape("LAeq>65") +
		"&georel=near;maxDistance==500&geometry=Point&coordinates=" + url.QueryEscape(fmt.Sprintf("[%f,%f]", sc.school[0], sc.school[1])) +
		"&options=keyValues&count=true"
	var got []map[string]any
	hdr := apiGet(t, ct, sc.tenant, q, &got)
	var ids []string
	for _, e := range got {
		ids = append(ids, strings.TrimPrefix(e["id"].(string), "urn:ngsi-ld:NoiseLevelObserved:"))
	}
	// Nearest first: s1 is 180 m away, s3 430 m.
	if strings.Join(ids, ",") != "s1,s3" || hdr.Get("NGSILD-Results-Count") != "2" {
		t.Errorf("noise sensors within 500 m above 65 dB(A): %v (count %s), want s1,s3", ids, hdr.Get("NGSILD-Results-Count"))
	}

	// "The AQI band of every neighbourhood now": each neighbourhood's band
	// is that of the mean concentrations of its stations.
	byNIL := map[string][]station{}
	for _, st := range sc.stations {
		nb := sc.city.Link(st.p, nil, 50).Neighbourhood
		if nb == "" {
			t.Fatalf("fixture: station %s is in no neighbourhood", st.id)
		}
		byNIL[nb] = append(byNIL[nb], st)
	}
	var areas []map[string]any
	hdr = apiGet(t, ct, sc.tenant, "/ngsi-ld/v1/entities?type=AdministrativeArea&q="+url.QueryEscape(`adminLevel=="neighbourhood"`)+
		"&attrs=name,aqiBand,aqiPollutant&options=keyValues&limit=1000&count=true", &areas)
	if n := len(sc.city.Features(geo.KindNeighbourhood)); len(areas) != n || hdr.Get("NGSILD-Results-Count") != fmt.Sprint(n) {
		t.Errorf("AQI of every neighbourhood: %d entities (count %s), want all %d", len(areas), hdr.Get("NGSILD-Results-Count"), n)
	}
	banded := 0
	for _, a := range areas {
		id := strings.TrimPrefix(a["id"].(string), "urn:ngsi-ld:AdministrativeArea:neighbourhood:")
		sts := byNIL[id]
		if a["aqiBand"] == nil {
			if len(sts) > 0 {
				t.Errorf("neighbourhood %s (%v) has stations but no AQI band", id, a["name"])
			}
			continue
		}
		banded++
		mean := map[string]float64{}
		for _, st := range sts {
			for pol, v := range st.conc {
				mean[pol] += v / float64(len(sts))
			}
		}
		band, pol := twin.AQI(mean)
		if a["aqiBand"] != band || a["aqiPollutant"] != pol {
			t.Errorf("neighbourhood %s (%v): AQI %v by %v, want %q by %s", id, a["name"], a["aqiBand"], a["aqiPollutant"], band, pol)
		}
	}
	if banded != len(byNIL) {
		t.Errorf("AQI: %d neighbourhoods with a band, want %d", banded, len(byNIL))
	}

	// "The hourly mean NO2 of this station yesterday."
	y := sc.yesterday()
	var hist struct {
		ID, Type string
		NO2      struct{ Avg [][]any } `json:"no2"`
	}
	apiGet(t, ct, sc.tenant, "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:"+sc.stations[0].id+"?attrs=no2&timerel=between&timeAt="+
		y.Format(time.RFC3339)+"&endTimeAt="+y.Add(24*time.Hour).Format(time.RFC3339)+"&aggrMethods=avg&aggrPeriodDuration=PT1H", &hist)
	if hist.Type != "AirQualityObserved" || len(hist.NO2.Avg) != 24 {
		t.Fatalf("hourly NO2 yesterday: type %q, %d buckets, want 24", hist.Type, len(hist.NO2.Avg))
	}
	for h, b := range hist.NO2.Avg {
		want := (no2(h, 0) + no2(h, 1) + no2(h, 2)) / 3
		start := y.Add(time.Duration(h) * time.Hour).Format("2006-01-02T15:04:05.000Z")
		end := y.Add(time.Duration(h+1) * time.Hour).Format("2006-01-02T15:04:05.000Z")
		if v, _ := b[0].(float64); math.Abs(v-want) > 1e-9 || b[1] != start || b[2] != end {
			t.Errorf("hour %d: %v, want [%g %s %s]", h, b, want, start, end)
		}
	}
}

// TestNGSILDOperatorQuestions answers the operator questions through the
// NGSI-LD API of a running citytwin on the demo city (real Mosquitto and
// InfluxDB), from readings published over MQTT, then restarts citytwin and
// checks the live state is rebuilt from InfluxDB.
func TestNGSILDOperatorQuestions(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-ngsild")
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	sc := &operatorScene{
		tenant: "milano", city: city, now: time.Now().UTC(),
		school: orb.Point{democity.DefaultLon + 0.003, democity.DefaultLat + 0.002},
		stations: []station{
			{"a1", orb.Point{democity.DefaultLon - 0.01, democity.DefaultLat - 0.004}, map[string]float64{"pm25": 22, "pm10": 35, "no2": 95, "o3": 60}},
			{"a2", orb.Point{democity.DefaultLon - 0.0102, democity.DefaultLat - 0.0041}, map[string]float64{"pm25": 8, "pm10": 15, "no2": 30, "o3": 40}},
			{"a3", orb.Point{democity.DefaultLon + 0.03, democity.DefaultLat + 0.01}, map[string]float64{"pm25": 60, "pm10": 80, "no2": 50, "o3": 20}},
		},
	}
	sc.publish(t, mqttPublisher(t, mq.URL, "pub-ngsild"))
	sc.waitLive(t, ct)
	t.Run("live", func(t *testing.T) { sc.ask(t, ct) })

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
	t.Run("after restart", func(t *testing.T) { sc.ask(t, ct) })
	var s1 map[string]any
	apiGet(t, ct, sc.tenant, "/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:s1?options=concise", &s1)
	laeq, _ := s1["LAeq"].(map[string]any)
	if laeq["value"] != 70.5 || laeq["observedAt"] != sc.now.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("s1 after restart: %v", s1)
	}
}

// milanCity writes a city.json naming Milan's open-data layers in place
// under ../shared/data/milano (never copied), or skips the test.
func milanCity(t *testing.T) string {
	root, err := filepath.Abs("../../../shared/data/milano")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("Milan open data not present (%s): %v", root, err)
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	cfg := map[string]any{"layers": []map[string]any{
		{"kind": "neighbourhood", "path": p("andrebomm-nil-explorer/data/nil.geojson"), "id_prop": "ID_NIL", "name_prop": "NIL"},
		{"kind": "district", "path": p("zunstraal-J-Co-Project/test-dataset/ds379_municipi_label.geojson"), "id_prop": "MUNICIPIO"},
		{"kind": "road", "path": p("michelebanfi-trees/data/osm_transit.highways.geojson"), "name_prop": "name",
			"road_class_prop": "highway", "lanes_prop": "lanes", "speed_prop": "maxspeed"},
		{"kind": "greenarea", "path": p("MattoMatteo-Progetto-Bike/Data/Raw/Punti_di_interesse/Parchi/Parchi_WGS84_Milano_1.geojson"), "name_prop": "PARCO"},
	}}
	dir := t.TempDir()
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "city.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// arpaMilan returns ARPA Lombardia's stations in the comune of Milano, with
// made-up current concentrations.
func arpaMilan(t *testing.T) []station {
	var out []station
	for _, s := range arpa.Stations(t) {
		if s.Comune != "Milano" {
			continue
		}
		i := float64(len(out))
		out = append(out, station{"arpa-" + s.ID, s.Point,
			map[string]float64{"pm25": 6 + 7*i, "pm10": 12 + 9*i, "no2": 25 + 20*i, "o3": 30 + 5*i}})
	}
	if len(out) < 5 {
		t.Fatalf("only %d ARPA stations in Milano", len(out))
	}
	return out
}

// TestMilanOperatorQuestions asks the operator questions on the real Milan
// cartography (88 NIL, 9 Municipi, OSM roads, parks) with ARPA's station
// locations: the school is Liceo Parini in Brera.
func TestMilanOperatorQuestions(t *testing.T) {
	dir := milanCity(t)
	stations := arpaMilan(t)
	city, _, err := geo.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-milan", "CITYTWIN_CITY="+dir)
	sc := &operatorScene{tenant: "comune-milano", city: city, now: time.Now().UTC(), school: orb.Point{9.1866, 45.4745}, stations: stations}
	sc.publish(t, mqttPublisher(t, mq.URL, "pub-milan"))
	sc.waitLive(t, ct)
	sc.ask(t, ct)

	// The station in via Senato is linked to its NIL and Municipio.
	for _, st := range stations {
		ln := city.Link(st.p, nil, 50)
		var e map[string]any
		apiGet(t, ct, sc.tenant, "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:"+st.id+"?options=keyValues&attrs=refNeighbourhood,refDistrict", &e)
		if e["refNeighbourhood"] != "urn:ngsi-ld:AdministrativeArea:neighbourhood:"+ln.Neighbourhood || e["refDistrict"] != "urn:ngsi-ld:AdministrativeArea:district:"+ln.District {
			t.Errorf("station %s: links %v, want NIL %s in Municipio %s", st.id, e, ln.Neighbourhood, ln.District)
		}
	}
	var duomo []map[string]any
	apiGet(t, ct, sc.tenant, "/ngsi-ld/v1/entities?type=AdministrativeArea&georel=contains&geometry=Point&coordinates=[9.1919,45.4641]&options=keyValues&attrs=name,adminLevel", &duomo)
	var names []string
	for _, a := range duomo {
		names = append(names, fmt.Sprint(strings.TrimPrefix(a["id"].(string), "urn:ngsi-ld:AdministrativeArea:"), "=", a["name"]))
	}
	if len(names) != 2 || names[0] != "district:1=<nil>" || !strings.HasSuffix(names[1], "=DUOMO") {
		t.Errorf("areas containing the Duomo: %v, want Municipio 1 and NIL DUOMO", names)
	}
}
