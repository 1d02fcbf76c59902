package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/planner"
)

// TestScenariosEndToEnd: readings published over MQTT become hourly
// rollups in InfluxDB within a rollup interval; a traffic scenario run
// through the API on them gives CNOSSOS's −1.55 dB on the chosen road;
// scenarios are saved, listed, compared, exported and deleted; a bad
// scenario is refused naming its field; `citytwin scenario run` gives the
// same result from a YAML file, without the server; analytics answer per
// neighbourhood.
func TestScenariosEndToEnd(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-planner", "CITYTWIN_ROLLUP_INTERVAL=500ms", "CITYTWIN_NOISE_FLOW_REFRESH=1s")
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	// A road with a neighbourhood around its midpoint; sensors 12 m off it.
	var road *geo.Feature
	var nbh *geo.Feature
	for _, r := range city.Features(geo.KindRoad) {
		if r.RoadClass == "primary" || r.RoadClass == "secondary" {
			if n := city.Containing(geo.KindNeighbourhood, r.Geometry.Bound().Center()); n != nil {
				road, nbh = r, n
				break
			}
		}
	}
	if road == nil {
		t.Fatal("fixture: no primary or secondary road in a neighbourhood")
	}
	mid := road.Geometry.Bound().Center()
	near := orb.Point{mid[0], mid[1] + 12.0/111320}
	publish := mqttPublisher(t, mq.URL, "pub-planner")
	now := time.Now().UTC()
	for i := range 5 {
		at := now.Add(time.Duration(-4+i) * time.Second).Format(time.RFC3339Nano)
		loc := fmt.Sprintf(`{"type":"Point","coordinates":[%f,%f]}`, near[0], near[1])
		publish("ngsi/plan/noise/n1", fmt.Sprintf(`{"id":"n1","type":"NoiseLevelObserved","dateObserved":%q,"LAeq":%d,"location":%s}`, at, 60+i, loc))
		publish("ngsi/plan/air/a1", fmt.Sprintf(`{"id":"a1","type":"AirQualityObserved","dateObserved":%q,"no2":40,"location":%s}`, at, loc))
		publish("ngsi/plan/traffic/t1", fmt.Sprintf(`{"id":"t1","type":"TrafficFlowObserved","dateObserved":%q,"intensity":100,"averageVehicleSpeed":40,"refRoadSegment":%q,"location":%s}`, at, road.ID, loc))
	}

	base := "http://" + ct.HTTPAddr
	hour := now.Truncate(time.Hour)
	specJSON := func(name string, pct float64) string {
		return fmt.Sprintf(`{"name":%q,"author":"test","tenant":"plan","baseline":{"start":%q,"end":%q},"area":{"roads":[%q]},"traffic":{"flowChangePct":%g},"air":{"backgroundShare":0.5}}`,
			name, hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339), road.ID, pct)
	}
	post := func(path, body string) (int, []byte) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// The rollups appear within a few intervals.
	var res planner.Result
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := post("/api/v1/scenarios/run", specJSON("cut 30", -30))
		if code != http.StatusOK {
			t.Fatalf("run: %d %s", code, body)
		}
		res = planner.Result{}
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Traffic.Sensors) == 2 && len(res.Traffic.Roads) == 1 && res.Traffic.Roads[0].MeasuredFlow {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollups of the published readings not seen within 30 s: %s", body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The noise model is rebuilt with the measured flow: t1's 500 veh/h in
	// its one hour, 12,000 veh/day on its road.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(ct.LogTail(400), `msg="noise model rebuilt with measured flows" roads=1 sensors=1 sensorHours=1`); {
		if time.Now().After(deadline) {
			t.Fatalf("the noise model was not rebuilt with t1's measured flow within 10 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	rr := res.Traffic.Roads[0]
	if rr.DeltaDB == nil || math.Abs(*rr.DeltaDB-10*math.Log10(0.7)) > 0.005 || rr.FlowBefore != 500 || rr.FlowAfter != 350 {
		t.Errorf("road %+v: want ΔL −1.55 dB and 500 → 350 veh/h (5 readings of 100 in the hour)", rr)
	}
	for _, s := range res.Traffic.Sensors {
		switch s.Kind {
		case "noise":
			// 12 m from the road, other roads further: most of its energy
			// comes from the road, so its shift lies between 0 and −1.55.
			if s.DeltaDB >= 0 || s.DeltaDB < -1.55 || s.ChangedShare < 0.5 {
				t.Errorf("noise sensor %+v: want a shift in (−1.55, 0) dominated by the road", s)
			}
		case "air":
			if s.NO2.MeanBefore == nil || *s.NO2.MeanBefore != 40 || *s.NO2.MeanAfter >= 40 || *s.NO2.MeanAfter < 34 {
				t.Errorf("air sensor %+v: want 40 → between 34 and 40 µg/m³", s.NO2)
			}
		}
	}

	// Save two, list, compare, export, re-run, delete.
	code, body := post("/api/v1/scenarios", specJSON("cut 30", -30))
	if code != http.StatusCreated {
		t.Fatalf("save: %d %s", code, body)
	}
	var a planner.Saved
	_ = json.Unmarshal(body, &a)
	code, body = post("/api/v1/scenarios", specJSON("cut 50", -50))
	var b planner.Saved
	_ = json.Unmarshal(body, &b)
	if code != http.StatusCreated || a.ID == "" || b.ID == "" {
		t.Fatalf("save: %d %s", code, body)
	}
	_, body = get("/api/v1/scenarios?tenant=plan")
	var list []planner.Summary
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 2 || list[0].ID != b.ID {
		t.Fatalf("list %s, want b then a", body)
	}
	_, body = get("/api/v1/scenarios/compare?a=" + a.ID + "&b=" + b.ID)
	var cmp planner.Comparison
	if err := json.Unmarshal(body, &cmp); err != nil || len(cmp.Roads) != 1 || cmp.Roads[0].A == nil || cmp.Roads[0].B == nil ||
		math.Abs(*cmp.Roads[0].B-10*math.Log10(0.5)) > 0.005 {
		t.Fatalf("compare %s: want the road at −1.55 and −3.01 dB", body)
	}
	resp, err := http.Get(base + "/api/v1/scenarios/" + a.ID + "/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	csvBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(string(csvBody), road.ID+",") || !strings.HasPrefix(string(csvBody), "section,kind,id") {
		t.Errorf("CSV export %v:\n%s", resp.Header, csvBody)
	}
	code, body = get("/api/v1/scenarios/" + a.ID + "/export?format=geojson")
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"FeatureCollection"`)) || !bytes.Contains(body, []byte(road.ID)) {
		t.Errorf("GeoJSON export %d %s", code, body)
	}
	code, body = post("/api/v1/scenarios/"+a.ID+"/run", "")
	var rerun planner.Saved
	if _ = json.Unmarshal(body, &rerun); code != http.StatusOK || rerun.Runs != 2 {
		t.Errorf("re-run %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/v1/scenarios/"+a.ID, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %v %v", err, resp.Status)
	}
	if code, _ := get("/api/v1/scenarios/" + a.ID); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}

	// A bad scenario names its field and rule.
	code, body = post("/api/v1/scenarios/run", strings.Replace(specJSON("bad", -30), `"flowChangePct":-30`, `"flowChangePct":-150`, 1))
	var prob struct{ Field, Rule string }
	if _ = json.Unmarshal(body, &prob); code != http.StatusBadRequest || prob.Field != "traffic.flowChangePct" || !strings.Contains(prob.Rule, "-100..300") {
		t.Errorf("bad scenario: %d %s", code, body)
	}

	// Analytics per neighbourhood.
	code, body = get(fmt.Sprintf("/api/v1/analytics/noise?tenant=plan&groupBy=neighbourhood&start=%s&end=%s",
		hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339)))
	var an planner.Analysis
	if _ = json.Unmarshal(body, &an); code != http.StatusOK || len(an.Rows) != 1 || an.Rows[0].ID != nbh.ID || an.Rows[0].Hours != 1 {
		t.Errorf("noise analytics %d %s, want neighbourhood %s with one hour", code, body, nbh.ID)
	}

	// The CLI, from a YAML file, on the same InfluxDB, without the server.
	dir := t.TempDir()
	yaml := fmt.Sprintf("name: cli cut\ntenant: plan\nbaseline:\n  start: %s\n  end: %s\narea:\n  roads: [%s]\ntraffic:\n  flowChangePct: -30\n",
		hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339), road.ID)
	file := filepath.Join(dir, "cut.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	cmd := exec.Command(citytwinBinary(t), "scenario", "run", "-scenario-format", "csv", "-scenario-out", out, file)
	cmd.Env = append(os.Environ(), "CITYTWIN_INFLUX_URL="+db.URL, "CITYTWIN_INFLUX_TOKEN="+db.Token, "CITYTWIN_INFLUX_ORG="+db.Org, "CITYTWIN_INFLUX_BUCKET="+db.Bucket)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("citytwin scenario run: %v\n%s", err, msg)
	}
	got, _ := os.ReadFile(out)
	if !strings.Contains(string(got), "traffic,road,"+road.ID+",") || !strings.Contains(string(got), "emission_delta_dB,,,,-1.55") {
		t.Errorf("CLI CSV:\n%s", got)
	}
}
