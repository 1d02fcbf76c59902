//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/sim"
)

// TestSimulateIoTAgent runs `citytwin simulate -sim-protocol mixed` against
// a running citytwin (embedded broker, real InfluxDB): the simulator
// provisions its vendors' groups and devices through the API, publishes
// NGSI, UltraLight and JSON readings with each group's credentials, and
// all three land in InfluxDB and in the twin's indicators; an operator
// opens an irrigation controller's valve over HTTP and the controller
// answers. A rerun finds its groups and devices there, rotates the
// credentials and publishes again.
func TestSimulateIoTAgent(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, nil, db, "citytwin-simulate", "CITYTWIN_ADMIN_TOKEN="+testAdminToken)
	const tenant = "simt"
	args := []string{"-sim-mqtt-url", ct.MQTTURL, "-sim-protocol", "mixed", "-sim-tenant", tenant, "-sim-sensors", "90",
		"-sim-seed", "5", "-sim-rate", "150", "-sim-provision-url", "http://" + ct.HTTPAddr, "-admin-token", testAdminToken}
	// The same fleet, to know its devices (types and protocols do not
	// depend on the city the simulator places them on).
	fleet := sim.NewFleet(sim.FleetConfig{Count: 90, Seed: 5, Tenant: tenant, Protocols: sim.Protocols})

	type result struct {
		out, log string
		err      error
	}
	simulate := func(ctx context.Context, extra ...string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			var out, log bytes.Buffer
			err := runSimulate(ctx, append(append([]string{}, args...), extra...), &out, &log)
			ch <- result{out.String(), log.String(), err}
		}()
		return ch
	}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	first := simulate(ctx, "-sim-duration", "60s")

	// Every type in every protocol reaches InfluxDB under its NGSI id.
	fields := map[string]string{}
	for _, mf := range measurementField {
		fields[mf[0]] = mf[1]
	}
	pending := map[string]sim.Sensor{}
	for _, s := range fleet.Sensors() {
		pending[s.Type+" "+string(s.Protocol)] = s
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(pending) > 0 {
		for k, s := range pending {
			q := fmt.Sprintf(`SELECT count(%q) FROM %q WHERE tenant = '%s' AND entity_id = '%s'`, fields[s.Type], s.Type, tenant, s.ID)
			if db.Count(t, q) > 0 {
				delete(pending, k)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing stored for %v", pending)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// An UltraLight noise sensor is in the twin, and in its neighbourhood's
	// indicators.
	var ulNoise, ctl sim.Sensor
	for _, s := range fleet.Sensors() {
		if s.Type == sim.TypeNoise && s.Protocol == sim.ProtocolUL && ulNoise.ID == "" {
			ulNoise = s
		}
		if s.Controller && ctl.ID == "" {
			ctl = s
		}
	}
	if ctl.ID == "" {
		t.Fatal("no irrigation controller in the fleet")
	}
	entity := func(id string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ct.HTTPAddr+"/ngsi-ld/v1/entities/"+url.PathEscape(id)+"?options=keyValues", nil)
		req.Header.Set("NGSILD-Tenant", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e map[string]any
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || json.Unmarshal(b, &e) != nil {
			t.Fatalf("GET entity %s: %d %s", id, resp.StatusCode, b)
		}
		return e
	}
	e := entity(ulNoise.ID)
	nb, _ := e["refNeighbourhood"].(string)
	if _, ok := e["LAeq"].(float64); !ok || e["sonometerClass"] != "1" || nb == "" {
		t.Fatalf("UltraLight noise sensor in the twin: %v", e)
	}
	if ind := entity(nb); ind["LAeq"] == nil || ind["sensorCount"] == nil {
		t.Errorf("its neighbourhood's indicators: %v", ind)
	}

	// The operator opens a valve; the controller answers.
	iot := func(method, path, body string) (int, []byte) {
		return provisionRequest(t, ct, method, path, testAdminToken, tenant, "/"+ctl.Vendor, body)
	}
	if code, body := iot(http.MethodPost, "/iot/devices/"+ctl.LocalID+"/commands", `{"name":"open_valve","value":"30"}`); code != http.StatusAccepted {
		t.Fatalf("open_valve: %d %s", code, body)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		_, body := iot(http.MethodGet, "/iot/devices/"+ctl.LocalID+"/commands", "")
		var cs struct {
			Commands []struct{ Status, Info string }
		}
		_ = json.Unmarshal(body, &cs)
		if len(cs.Commands) == 1 && cs.Commands[0].Status == "OK" {
			if cs.Commands[0].Info != "opened for 30 min" {
				t.Errorf("command info %q", cs.Commands[0].Info)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("command not completed: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		e := entity(ctl.ID)
		if e["valveOpen"] == true && e["open_valve_status"] == "OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller's entity does not show its open valve: %v", e)
		}
		time.Sleep(300 * time.Millisecond)
	}
	stop()
	r := <-first
	if r.err != nil {
		t.Fatalf("simulate: %v\n%s", r.err, r.log)
	}
	devices := 0
	for _, s := range fleet.Sensors() {
		if s.Protocol != sim.ProtocolNGSI {
			devices++
		}
	}
	published := regexp.MustCompile(`published (\d+) messages \((\d+) failed\)`)
	groups := len(fleet.Vendors(nil))
	if !strings.Contains(r.out, fmt.Sprintf("provisioned %d IoT Agent devices in %d service groups", devices, groups)) ||
		!strings.Contains(r.out, "1 commands answered") || !strings.Contains(r.out, "open_valve") {
		t.Errorf("simulate printed:\n%s", r.out)
	}
	if m := published.FindStringSubmatch(r.out); m == nil || m[2] != "0" {
		t.Errorf("simulate printed:\n%s", r.out)
	}
	if strings.Contains(r.out+r.log, testAdminToken) {
		t.Error("simulate printed the admin token")
	}

	// A rerun: the groups exist, so their credentials are rotated; the
	// devices exist, so they are updated; publishing works with the new
	// credentials.
	r = <-simulate(t.Context(), "-sim-duration", "2s")
	if r.err != nil {
		t.Fatalf("rerun: %v\n%s", r.err, r.log)
	}
	m := published.FindStringSubmatch(r.out)
	if n, _ := strconv.Atoi(m[1]); m == nil || m[2] != "0" || n < 100 ||
		strings.Count(r.log, "credentials_rotated=true") != groups || !strings.Contains(r.log, "devices_updated=") {
		t.Errorf("rerun printed:\n%s\n%s", r.out, r.log)
	}

	// Without the admin token, simulate says where to find it.
	err := runSimulate(t.Context(), []string{"-sim-protocol", "ul", "-sim-provision-url", "http://" + ct.HTTPAddr}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DATA_DIR/admin-token") {
		t.Errorf("no admin token: %v", err)
	}
	err = runSimulate(t.Context(), []string{"-sim-protocol", "ul,coap"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "coap") {
		t.Errorf("unknown protocol: %v", err)
	}
}
