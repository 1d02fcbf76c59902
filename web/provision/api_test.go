package provision_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota/registry"
	"github.com/citytwin/citytwin/web/provision"
)

const adminToken = "admin-0123456789abcdef0123456789"

type env struct {
	t     *testing.T
	store *registry.Bolt
	mux   *http.ServeMux
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mux := http.NewServeMux()
	api := &provision.API{Store: store, AdminToken: adminToken, Now: func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }}
	api.Register(mux)
	return &env{t: t, store: store, mux: mux}
}

// req is one request: token "" sends no Authorization; service "-" sends no
// Fiware-Service.
type req struct {
	method, url, token, service, path, body string
}

type answer struct {
	code int
	hdr  http.Header
	body []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", a.code, err, a.body)
	}
	return m
}

func (e *env) do(r req) answer {
	e.t.Helper()
	hr := httptest.NewRequest(r.method, r.url, strings.NewReader(r.body))
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.service != "-" {
		hr.Header.Set("Fiware-Service", r.service)
	}
	if r.path != "" {
		hr.Header.Set("Fiware-ServicePath", r.path)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, hr)
	return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// expect checks the status and, when name is set, the error name.
func (e *env) expect(r req, code int, name string) answer {
	e.t.Helper()
	a := e.do(r)
	if a.code != code {
		e.t.Errorf("%s %s: %d %s, want %d", r.method, r.url, a.code, a.body, code)
		return a
	}
	if name != "" {
		if got := a.json(e.t)["name"]; got != name {
			e.t.Errorf("%s %s: error name %v, want %s (%s)", r.method, r.url, got, name, a.body)
		}
	}
	return a
}

// vendorGroup is the group the tests create, with its secrets.
type vendorGroup struct {
	apikey, username, password, token string
}

const noiseGroup = `{"services":[{"resource":"/iot/d","apikey":"%s","entity_type":"NoiseLevelObserved",
	"attributes":[{"object_id":"l","name":"LAeq","type":"Number","metadata":{"unitCode":{"type":"Text","value":"2N"}}}]}]}`

func (e *env) createGroup(service, path, apikey string) vendorGroup {
	e.t.Helper()
	a := e.expect(req{"POST", "/iot/services", adminToken, service, path, strings.ReplaceAll(noiseGroup, "%s", apikey)}, 201, "")
	var out struct {
		Count    int `json:"count"`
		Services []struct {
			APIKey string `json:"apikey"`
			MQTT   struct {
				Username string `json:"username"`
				Password string `json:"password"`
			} `json:"mqtt"`
			Token string `json:"token"`
		} `json:"services"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil || out.Count != 1 || len(out.Services) != 1 {
		e.t.Fatalf("create answer %s: %v", a.body, err)
	}
	s := out.Services[0]
	return vendorGroup{s.APIKey, s.MQTT.Username, s.MQTT.Password, s.Token}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("milan", "/noise", "K1")
	other := e.createGroup("turin", "/", "K2")
	for _, tc := range []struct {
		name string
		r    req
		code int
		err  string
	}{
		{"no token", req{"GET", "/iot/services", "", "milan", "/noise", ""}, 401, "UNAUTHORIZED"},
		{"bad token", req{"GET", "/iot/services", "nope", "milan", "/noise", ""}, 401, "UNAUTHORIZED"},
		{"admin", req{"GET", "/iot/services", adminToken, "milan", "/noise", ""}, 200, ""},
		{"admin, another service", req{"GET", "/iot/services", adminToken, "turin", "/", ""}, 200, ""},
		{"vendor, own service", req{"GET", "/iot/services", g.token, "milan", "/noise", ""}, 200, ""},
		{"vendor, own service, devices", req{"GET", "/iot/devices", g.token, "milan", "/*", ""}, 200, ""},
		{"vendor, another service", req{"GET", "/iot/services", g.token, "turin", "/", ""}, 403, "ACCESS_FORBIDDEN"},
		{"vendor, another service, devices", req{"POST", "/iot/devices", other.token, "milan", "/noise", `{"devices":[{"device_id":"x"}]}`}, 403, "ACCESS_FORBIDDEN"},
		{"vendor creates a group", req{"POST", "/iot/services", g.token, "milan", "/noise", strings.ReplaceAll(noiseGroup, "%s", "K3")}, 403, "ACCESS_FORBIDDEN"},
		{"vendor deletes a group", req{"DELETE", "/iot/services?apikey=K1&resource=/iot/d", g.token, "milan", "/noise", ""}, 403, "ACCESS_FORBIDDEN"},
		{"vendor rotates", req{"POST", "/iot/services/credentials?apikey=K1", g.token, "-", "", ""}, 403, "ACCESS_FORBIDDEN"},
		{"the MQTT password is no token", req{"GET", "/iot/services", g.password, "milan", "/noise", ""}, 401, "UNAUTHORIZED"},
		{"auth before headers", req{"GET", "/iot/services", "", "-", "", ""}, 401, "UNAUTHORIZED"},
		{"missing Fiware-Service", req{"GET", "/iot/services", adminToken, "-", "", ""}, 400, "MISSING_HEADERS"},
		{"vendor, missing Fiware-Service", req{"GET", "/iot/devices", g.token, "-", "", ""}, 400, "MISSING_HEADERS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.r)
			if a.code != tc.code {
				t.Fatalf("%d %s, want %d", a.code, a.body, tc.code)
			}
			if tc.err != "" && a.json(t)["name"] != tc.err {
				t.Errorf("error %s, want name %s", a.body, tc.err)
			}
			if tc.code == 401 && a.hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// A lower-case scheme is a bearer token too.
	hr := httptest.NewRequest("GET", "/iot/services", nil)
	hr.Header.Set("Authorization", "bearer "+adminToken)
	hr.Header.Set("Fiware-Service", "milan")
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, hr)
	if rec.Code != 200 {
		t.Errorf("lower-case bearer: %d", rec.Code)
	}
}

func TestNoAdminToken(t *testing.T) {
	store, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	mux := http.NewServeMux()
	(&provision.API{Store: store}).Register(mux)
	for _, auth := range []string{"Bearer", "Bearer ", "Bearer  "} {
		hr := httptest.NewRequest("GET", "/iot/services", nil)
		hr.Header.Set("Authorization", auth)
		hr.Header.Set("Fiware-Service", "milan")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, hr)
		if rec.Code != 401 {
			t.Errorf("%q with no admin token configured: %d", auth, rec.Code)
		}
	}
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("milan", "/noise", "K1")

	// The secrets are answered once; the store keeps hashes only.
	if g.apikey != "K1" || g.username != "K1" || len(g.password) != 43 || !strings.HasPrefix(g.token, registry.TokenPrefix) {
		t.Fatalf("created group secrets: %+v", g)
	}
	c, ok := e.store.Credentials("K1")
	if !ok || !bytes.Equal(c.TokenHash, registry.HashSecret(g.token)) || !bytes.Equal(c.MQTTPasswordHash, registry.HashSecret(g.password)) {
		t.Fatalf("stored credentials %+v", c)
	}
	if !c.IssuedAt.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("IssuedAt %v", c.IssuedAt)
	}
	if k, ok := e.store.CheckMQTT(g.username, g.password); !ok || k != "K1" {
		t.Error("the answered MQTT credentials don't check")
	}

	e.expect(req{"POST", "/iot/services", adminToken, "milan", "/noise", strings.ReplaceAll(noiseGroup, "%s", "K1")}, 409, "DUPLICATE_GROUP")
	e.expect(req{"POST", "/iot/services", adminToken, "turin", "/", strings.ReplaceAll(noiseGroup, "%s", "K1")}, 409, "APIKEY_CONFLICT")
	a := e.expect(req{"POST", "/iot/services", adminToken, "milan", "/noise", `{"services":[{"resource":"/iot/d","apikey":"ok1"},{"resource":"/iot/d","apikey":"K1"}]}`}, 409, "DUPLICATE_GROUP")
	if msg, _ := a.json(t)["message"].(string); !strings.HasPrefix(msg, "services[1]: ") {
		t.Errorf("duplicate message %q does not name services[1]", msg)
	}
	if _, ok := e.store.GroupByAPIKey("ok1"); ok {
		t.Error("a failed creation left its first group")
	}
	a = e.expect(req{"POST", "/iot/services", adminToken, "milan", "/noise", `{"services":[{"resource":"/iot/d","entity_type":"X","attributes":[{"name":"t"}]}]}`}, 400, "WRONG_SYNTAX")
	if msg := a.json(t)["message"]; msg != "services[0].apikey: required; services[0].attributes[0].type: required" {
		t.Errorf("validation message %q", msg)
	}

	// Created on /iot/groups, answered under "groups".
	a = e.expect(req{"POST", "/iot/groups", adminToken, "milan", "/air", `{"groups":[{"resource":"/iot/json","apikey":"K2","entity_type":"AirQualityObserved"}]}`}, 201, "")
	if gs, _ := a.json(t)["groups"].([]any); len(gs) != 1 {
		t.Errorf("/iot/groups creation answer %s", a.body)
	}

	// Reads.
	for _, tc := range []struct {
		url, path string
		key       string
		want      []string
	}{
		{"/iot/services", "/noise", "services", []string{"K1"}},
		{"/iot/groups", "/noise", "groups", []string{"K1"}},
		{"/iot/services", "/*", "services", []string{"K2", "K1"}},
		{"/iot/services", "", "services", nil}, // no path header: "/"
		{"/iot/services?limit=1&offset=1", "/*", "services", []string{"K1"}},
	} {
		a := e.expect(req{"GET", tc.url, adminToken, "milan", tc.path, ""}, 200, "")
		m := a.json(t)
		list, ok := m[tc.key].([]any)
		if !ok {
			t.Errorf("GET %s (%s): no %q list in %s", tc.url, tc.path, tc.key, a.body)
			continue
		}
		var got []string
		for _, g := range list {
			gm := g.(map[string]any)
			got = append(got, gm["apikey"].(string))
			if _, ok := gm["token"]; ok {
				t.Errorf("GET %s shows a token", tc.url)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("GET %s (%s) = %v, want %v", tc.url, tc.path, got, tc.want)
		}
		if tc.url == "/iot/services" && m["count"] != float64(len(tc.want)) {
			t.Errorf("GET %s (%s) count %v", tc.url, tc.path, m["count"])
		}
	}

	// Updates.
	put := "/iot/services?apikey=K1&resource=/iot/d"
	e.expect(req{"PUT", put, g.token, "milan", "/noise", `{"entity_type":"NoisePollution","unknown_field":1}`}, 204, "")
	got, _ := e.store.GroupByAPIKey("K1")
	if got.EntityType != "NoisePollution" || len(got.Attributes) != 1 || got.Attributes[0].Metadata["unitCode"].Value.Str != "2N" {
		t.Errorf("after PUT: %+v", got)
	}
	e.expect(req{"PUT", "/iot/groups?apikey=K1&resource=/iot/d", adminToken, "milan", "/noise", `{"type":"Legacy"}`}, 204, "")
	if got, _ := e.store.GroupByAPIKey("K1"); got.EntityType != "Legacy" {
		t.Errorf("legacy type not applied: %q", got.EntityType)
	}
	e.expect(req{"PUT", "/iot/services?apikey=K1", adminToken, "milan", "/noise", `{}`}, 400, "MISSING_ATTRIBUTES")
	e.expect(req{"PUT", "/iot/services?apikey=K1&resource=/iot/json", adminToken, "milan", "/noise", `{}`}, 404, "DEVICE_GROUP_NOT_FOUND")
	e.expect(req{"PUT", put, adminToken, "milan", "/", `{}`}, 404, "DEVICE_GROUP_NOT_FOUND")
	e.expect(req{"PUT", put, adminToken, "milan", "/noise", `{"apikey":"K9"}`}, 400, "WRONG_SYNTAX")
	e.expect(req{"PUT", put, adminToken, "milan", "/noise", `[1]`}, 400, "WRONG_SYNTAX")
	a = e.expect(req{"PUT", put, adminToken, "milan", "/noise", `{"attributes":[{"object_id":"t"}]}`}, 400, "WRONG_SYNTAX")
	if msg := a.json(t)["message"]; msg != "attributes[0].type: required" {
		t.Errorf("PUT validation message %q", msg)
	}
	a = e.expect(req{"PUT", put, adminToken, "milan", "/noise", `{"attributes":"x"}`}, 400, "WRONG_SYNTAX")
	if msg, _ := a.json(t)["message"].(string); !strings.HasPrefix(msg, "attributes: must be a JSON array") {
		t.Errorf("PUT type message %q", msg)
	}

	// Rotation.
	a = e.expect(req{"POST", "/iot/services/credentials?apikey=K1", adminToken, "-", "", ""}, 200, "")
	rot := a.json(t)
	newToken, _ := rot["token"].(string)
	if newToken == "" || newToken == g.token || rot["mqtt"].(map[string]any)["password"] == g.password {
		t.Fatalf("rotation answer %s", a.body)
	}
	e.expect(req{"GET", "/iot/services", g.token, "milan", "/noise", ""}, 401, "UNAUTHORIZED")
	e.expect(req{"GET", "/iot/services", newToken, "milan", "/noise", ""}, 200, "")
	if _, ok := e.store.CheckMQTT("K1", g.password); ok {
		t.Error("the old MQTT password still works")
	}
	e.expect(req{"POST", "/iot/groups/credentials?apikey=nope", adminToken, "-", "", ""}, 404, "DEVICE_GROUP_NOT_FOUND")
	e.expect(req{"POST", "/iot/groups/credentials", adminToken, "-", "", ""}, 400, "MISSING_ATTRIBUTES")

	// Deletion.
	e.expect(req{"DELETE", "/iot/services?apikey=K1", adminToken, "milan", "/noise", ""}, 400, "MISSING_ATTRIBUTES")
	e.expect(req{"DELETE", "/iot/services?apikey=K1&resource=/iot/d", adminToken, "milan", "/air", ""}, 404, "DEVICE_GROUP_NOT_FOUND")
	e.expect(req{"DELETE", "/iot/services?apikey=K1&resource=/iot/d", adminToken, "milan", "/noise", ""}, 204, "")
	e.expect(req{"DELETE", "/iot/services?apikey=K1&resource=/iot/d", adminToken, "milan", "/noise", ""}, 404, "DEVICE_GROUP_NOT_FOUND")
	e.expect(req{"GET", "/iot/services", newToken, "milan", "/noise", ""}, 401, "UNAUTHORIZED")
	e.expect(req{"PATCH", "/iot/services", adminToken, "milan", "/noise", ""}, 405, "")
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("milan", "/noise", "K1")
	e.createGroup("turin", "/", "K2")
	dev := `{"devices":[{"device_id":"noise001","entity_name":"urn:ngsi-ld:NoiseLevelObserved:noise001",
		"entity_type":"NoiseLevelObserved","transport":"MQTT",
		"attributes":[{"object_id":"l","name":"LAeq","type":"Number","metadata":{"unitCode":{"type":"Text","value":"2N"}}}],
		"static_attributes":[{"name":"location","type":"geo:json","value":{"type":"Point","coordinates":[9.19,45.46]}}]}]}`
	a := e.expect(req{"POST", "/iot/devices", g.token, "milan", "/noise", dev}, 201, "")
	if strings.TrimSpace(string(a.body)) != "{}" {
		t.Errorf("device creation answer %s", a.body)
	}
	if d, ok := e.store.DeviceByKey("K1", "noise001"); !ok || d.ServicePath != "/noise" {
		t.Fatalf("the device is not reachable by its group's apikey: %+v %v", d, ok)
	}
	e.expect(req{"POST", "/iot/devices", g.token, "milan", "/noise", dev}, 409, "DUPLICATE_DEVICE_ID")
	e.expect(req{"POST", "/iot/devices", g.token, "milan", "/noise", `{"devices":[{"device_id":"x","apikey":"K2"}]}`}, 409, "APIKEY_CONFLICT")
	a = e.expect(req{"POST", "/iot/devices", g.token, "milan", "/noise", `{"devices":[{"entity_type":"X"}]}`}, 400, "WRONG_SYNTAX")
	m := a.json(t)
	if m["message"] != "devices[0].device_id: required" {
		t.Errorf("validation message %q", m["message"])
	}
	if errs, _ := m["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "devices[0].device_id" || errs[0].(map[string]any)["rule"] != "required" {
		t.Errorf("validation errors %v", m["errors"])
	}
	e.expect(req{"POST", "/iot/devices", g.token, "milan", "/noise", `{"devices":[{"device_id":"a"},{"device_id":"b","attributes":"x"}]}`}, 400, "WRONG_SYNTAX")
	for _, id := range []string{"b1", "b2", "b3"} {
		e.expect(req{"POST", "/iot/devices", g.token, "milan", "/noise", `{"devices":[{"device_id":"` + id + `"}]}`}, 201, "")
	}
	e.expect(req{"POST", "/iot/devices", g.token, "milan", "/other", `{"devices":[{"device_id":"c1"}]}`}, 201, "")

	// Lists.
	for _, tc := range []struct {
		url, path string
		count     float64
		want      string
	}{
		{"/iot/devices", "/noise", 4, "b1,b2,b3,noise001"},
		{"/iot/devices?limit=2", "/noise", 4, "b1,b2"},
		{"/iot/devices?limit=2&offset=3", "/noise", 4, "noise001"},
		{"/iot/devices", "/*", 5, "b1,b2,b3,noise001,c1"},
		{"/iot/devices", "", 0, ""},
	} {
		a := e.expect(req{"GET", tc.url, g.token, "milan", tc.path, ""}, 200, "")
		m := a.json(t)
		var ids []string
		for _, d := range m["devices"].([]any) {
			ids = append(ids, d.(map[string]any)["device_id"].(string))
		}
		if m["count"] != tc.count || strings.Join(ids, ",") != tc.want {
			t.Errorf("GET %s (%s) = %v %v, want %v %v", tc.url, tc.path, m["count"], ids, tc.count, tc.want)
		}
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=1001", "offset=-1"} {
		e.expect(req{"GET", "/iot/devices?" + q, g.token, "milan", "/noise", ""}, 400, "WRONG_SYNTAX")
	}

	// One device, with the feedback of its measures.
	a = e.expect(req{"GET", "/iot/devices/noise001", g.token, "milan", "/noise", ""}, 200, "")
	m = a.json(t)
	st := m["status"].(map[string]any)
	if m["device_id"] != "noise001" || m["entity_type"] != "NoiseLevelObserved" || st["lastSeen"] != nil || st["measuresAccepted"] != 0.0 {
		t.Errorf("device before measures: %s", a.body)
	}
	seen := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	e.store.RecordMeasure("K1", "noise001", seen, 1, 0, "")
	e.store.RecordMeasure("K1", "noise001", seen, 0, 1, "LAeq: not a number")
	a = e.expect(req{"GET", "/iot/devices/noise001", adminToken, "milan", "/noise", ""}, 200, "")
	st = a.json(t)["status"].(map[string]any)
	if st["lastSeen"] != "2025-06-01T12:30:00Z" || st["measuresAccepted"] != 1.0 || st["measuresRejected"] != 1.0 || st["lastError"] != "LAeq: not a number" {
		t.Errorf("device status %v", st)
	}
	e.expect(req{"GET", "/iot/devices/noise001", adminToken, "milan", "/", ""}, 404, "DEVICE_NOT_FOUND")
	e.expect(req{"GET", "/iot/devices/nope", adminToken, "milan", "/noise", ""}, 404, "DEVICE_NOT_FOUND")

	// Updates.
	e.expect(req{"PUT", "/iot/devices/noise001", g.token, "milan", "/noise", `{"device_id":"x"}`}, 400, "WRONG_SYNTAX")
	e.expect(req{"PUT", "/iot/devices/noise001", g.token, "milan", "/noise", `{"entity_name":"urn:ngsi-ld:NoiseLevelObserved:n1","attributes":[{"object_id":"m","name":"LAmax","type":"Number"}]}`}, 204, "")
	d, _ := e.store.DeviceByKey("K1", "noise001")
	if d.EntityName != "urn:ngsi-ld:NoiseLevelObserved:n1" || len(d.Attributes) != 1 || d.Attributes[0].Name != "LAmax" || len(d.StaticAttributes) != 1 {
		t.Errorf("after PUT: %+v", d)
	}
	e.expect(req{"PUT", "/iot/devices/noise001", g.token, "milan", "/noise", `{"apikey":"K2"}`}, 409, "APIKEY_CONFLICT")
	e.expect(req{"PUT", "/iot/devices/noise001", g.token, "milan", "/noise", `{"attributes":[{"name":"id","type":"Text"}]}`}, 400, "WRONG_SYNTAX")
	e.expect(req{"PUT", "/iot/devices/nope", g.token, "milan", "/noise", `{}`}, 404, "DEVICE_NOT_FOUND")
	if st, _ := e.store.Status("K1", "noise001"); st.Accepted != 1 {
		t.Error("PUT reset the status")
	}

	// Deletion.
	e.expect(req{"DELETE", "/iot/devices/noise001", g.token, "milan", "/noise", ""}, 204, "")
	e.expect(req{"DELETE", "/iot/devices/noise001", g.token, "milan", "/noise", ""}, 404, "DEVICE_NOT_FOUND")
	e.expect(req{"GET", "/iot/devices/noise001", g.token, "milan", "/noise", ""}, 404, "DEVICE_NOT_FOUND")
}

func TestDeleteGroupWithDevices(t *testing.T) {
	e := newEnv(t)
	e.createGroup("milan", "/", "K1")
	e.createGroup("milan", "/", "K3")
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "/", `{"devices":[{"device_id":"a"},{"device_id":"b","apikey":"K1"},{"device_id":"c","apikey":"K3"}]}`}, 201, "")
	e.expect(req{"DELETE", "/iot/services?apikey=K1&resource=/iot/d&device=true", adminToken, "milan", "/", ""}, 204, "")
	a := e.expect(req{"GET", "/iot/devices", adminToken, "milan", "/", ""}, 200, "")
	if m := a.json(t); m["count"] != 1.0 {
		t.Errorf("after deleting the group with its devices: %s", a.body)
	}
}

func TestBodies(t *testing.T) {
	e := newEnv(t)
	big := `{"devices":[{"device_id":"x","description":"` + strings.Repeat("a", provision.MaxBodyBytes) + `"}]}`
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "/", big}, 413, "PAYLOAD_TOO_LARGE")
	e.expect(req{"POST", "/iot/services", adminToken, "milan", "/", big}, 413, "PAYLOAD_TOO_LARGE")
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "/", `{"devices":[`}, 400, "WRONG_SYNTAX")
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "/", ``}, 400, "WRONG_SYNTAX")
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "/", `{"things":[]}`}, 400, "WRONG_SYNTAX")
	e.expect(req{"POST", "/iot/devices", adminToken, "bad-service!", "/", `{"devices":[{"device_id":"x"}]}`}, 400, "WRONG_SYNTAX")
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "no-slash", `{"devices":[{"device_id":"x"}]}`}, 400, "WRONG_SYNTAX")
	// Unknown fields are ignored, as the IoT Agents do.
	e.expect(req{"POST", "/iot/devices", adminToken, "milan", "/", `{"devices":[{"device_id":"x","vendor_extension":{"a":1}}],"extra":true}`}, 201, "")
}
