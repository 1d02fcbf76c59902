//go:build linux

package main

// TestConformanceMosquitto replays the FIWARE IoT Agents' own MQTT test
// cases (iotagent-ul and iotagent-json mqtt-cases.json, loaded and
// classified by internal/iotacases) end to end: through the real citytwin
// binary, a real Mosquitto and InfluxDB 1.8. Each in-scope case is
// provisioned through the provisioning API with the admin token and the
// case's own bodies and headers, its messages are published with paho at
// QoS 1, and what InfluxDB holds is compared with the NGSI entities the IoT
// Agent sent to Orion (the case's expected requests). ingest/iota's
// conformance test checks the same cases in memory, request by request;
// this one checks what a deployment stores.
//
// All cases share one Mosquitto, one InfluxDB and one citytwin, so each case
// is isolated by rewriting, in its provisioning bodies, headers, topics and
// expectations alike:
//
//   - each Fiware-Service to its own name, "conf_ul_017" (a second service
//     of the same case "conf_ul_005_2"): underscores, since Fiware-Service
//     allows only [A-Za-z0-9_], and lower case, since the tenant is the
//     service in lower case;
//   - each apikey to "ul-017-{apikey}": an apikey names one group in
//     citytwin, and the topics name only the apikey;
//   - each provisioned entity type to "{type}_ul_017" (and an expected
//     entity id "{type}:{device}" with it): the InfluxDB measurement is the
//     entity type, shared by every tenant, and a field keeps the kind
//     (number, text, boolean) it was first stored with — the cases send
//     temperature as 23 in one case and "87" in another, which in one
//     measurement citytwin would reject as type_conflict.
//
// Deviations from the cases, each forced by a citytwin rule:
//
//   - Default key. A topic's apikey must name a service group in citytwin
//     (the apikey is the vendor's fence), while the agents take devices
//     provisioned without apikey under their defaultKey "1234" with no group
//     at all. Where a case publishes under the default key and provisions no
//     group for it, a group for the (rewritten) default key is created first,
//     in the scope of the case's devices, with the agent's default resource
//     (test_config iota.defaultResource: "/iot/d" for UltraLight, "/iot/json"
//     for JSON) as the agent's default configuration would have it. This is
//     the only provisioning that is not the case's own.
//   - Commands. citytwin completes a command result (…/cmdexe) only for a
//     command it sent, and stores nothing for any other. Before a case's
//     device publishes a result, the command is sent through citytwin's own
//     API (POST /iot/devices/{id}/commands): the context broker's command of
//     the case (its /v2/op/update) when it has one, otherwise the command
//     the result names, with no value. The PENDING status update the agent
//     sends is citytwin's registry state, not a stored reading: it is checked
//     with GET /iot/devices/{id}/commands right after the command is sent.
//
// What is compared, per expected entity update: the measurement is the
// entity type, the entity_id tag the entity id, the tenant tag the service
// in lower case; each attribute value is a field (numbers as float64,
// booleans, text; objects and arrays as their JSON text, compared as JSON;
// null and empty text are not stored, as ingest/iota maps them); the point
// time is the TimeInstant when the update has one, else the arrival time
// (checked to lie between the publication and the check). The JSON agent's
// single-measure series (an array of {"timestamp", "value"}) is stored as
// one point per element at its timestamp (iota.Entity.Observations). A
// stored point must carry no field the expected updates lack. Attribute
// types and metadata are not stored in InfluxDB, so only values are
// compared (none of these cases sends a unitCode). Expected requests
// citytwin never makes (context-provider registrations, IoT Manager
// protocols) are not compared (iotacases.Ignored). A case that expects
// nothing passes when citytwin has processed its message (the device's
// status shows it) and stored nothing for its tenant.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/internal/iotacases"
	"github.com/citytwin/citytwin/internal/testenv"
)

// confCaseFiles are the replayed files.
var confCaseFiles = []string{"iotagent-ul/mqtt-cases.json", "iotagent-json/mqtt-cases.json"}

// confWait bounds the wait for every case's points after the last publish.
const confWait = 20 * time.Second

func TestConformanceMosquitto(t *testing.T) {
	var files []iotacases.File
	for _, name := range confCaseFiles {
		files = append(files, iotacases.LoadFile(t, name))
	}
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-conformance", "CITYTWIN_ADMIN_TOKEN="+testAdminToken)

	// Rejection notices, by apikey, for the report of a failing case.
	notices := &confNotices{byKey: map[string][]string{}}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID("conformance-devices").SetAutoReconnect(false))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to Mosquitto: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	if tok := pub.Subscribe("/+/+/errors", 1, notices.handle); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe to the device error topics: %v", tok.Error())
	}
	publish := func(topic, payload string) error {
		tok := pub.Publish(topic, 1, false, payload)
		if !tok.WaitTimeout(5 * time.Second) {
			return fmt.Errorf("publish %s: no PUBACK within 5 s", topic)
		}
		return tok.Error()
	}

	var cases []*confCase
	for fi, f := range files {
		for _, c := range f.Cases {
			cases = append(cases, newConfCase(confCaseFiles[fi], f, c))
		}
	}
	// Provision every in-scope case, then publish every message but the
	// command results, then run the command flows, then check.
	for _, cc := range cases {
		if cc.reason == "" {
			cc.provision(t, ct)
		}
	}
	for _, cc := range cases {
		if cc.reason != "" || cc.failed() {
			continue
		}
		cc.published = time.Now()
		for _, m := range cc.c.MQTT {
			if confIsCmdExe(m.Topic) {
				continue
			}
			if err := publish(cc.topic(m.Topic), m.Payload); err != nil {
				cc.fail("%v", err)
			}
		}
	}
	for _, cc := range cases {
		if cc.reason != "" || cc.failed() {
			continue
		}
		for _, m := range cc.c.MQTT {
			if !confIsCmdExe(m.Topic) {
				continue
			}
			if cc.published.IsZero() {
				cc.published = time.Now()
			}
			if cc.sendCommands(t, ct, m) {
				if err := publish(cc.topic(m.Topic), m.Payload); err != nil {
					cc.fail("%v", err)
				}
			}
		}
	}

	deadline := time.Now().Add(confWait)
	for {
		open := 0
		for _, cc := range cases {
			if cc.reason == "" && !cc.failed() && !cc.done {
				cc.done = cc.check(t, ct, db) == ""
				if !cc.done {
					open++
				}
			}
		}
		if open == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}

	total := iotacases.Tally{}
	for fi, name := range confCaseFiles {
		var tl iotacases.Tally
		for _, cc := range cases {
			if cc.file != name {
				continue
			}
			status, detail := "pass", ""
			switch {
			case cc.reason != "":
				status, detail = "out of scope", cc.reason
				tl.OutOfScope(cc.reason)
			case cc.failed():
				status, detail = "FAIL", strings.Join(cc.errs, "; ")
			default:
				// The final check, also of the cases that passed early: a late
				// point would show here.
				if d := cc.check(t, ct, db); d != "" {
					status, detail = "FAIL", d
				} else {
					detail = cc.summary()
				}
			}
			if status == "FAIL" {
				tl.Fail++
				if n := notices.of(cc.keys); n != "" {
					detail += "\n\trejections: " + n
				}
				t.Errorf("%s (%s > %s), replayed as service %s:\n\t%s", cc.c.ID, cc.c.Describe, cc.c.It,
					strings.Join(cc.serviceNames(), ", "), detail)
			} else if status == "pass" {
				tl.Pass++
			}
			t.Logf("%-24s %-12s %s", cc.c.ID, status, detail)
		}
		t.Logf("%s (%s@%.7s): %s", name, files[fi].SourceRepo, files[fi].Commit, tl.Summary())
		total.Add(tl)
	}
	t.Logf("conformance through Mosquitto: %s", total.Summary())
}

// confCase is one case being replayed.
type confCase struct {
	file   string
	f      iotacases.File
	c      iotacases.Case
	tag    string // "ul-017"
	reason string // out of scope: why

	services map[string]string // Fiware-Service → the case's own
	svcOrder []string
	keys     map[string]string // apikey → the case's own
	types    map[string]string // provisioned entity type → the case's own
	// keyScope is the (service, path) of each rewritten apikey's group.
	keyScope map[string][2]string

	published time.Time // before the first publish
	notes     []string  // deviations applied
	errs      []string  // failures before the check
	done      bool
	points    int // points compared by the last check
}

func newConfCase(file string, f iotacases.File, c iotacases.Case) *confCase {
	tag := strings.Replace(strings.TrimPrefix(c.ID, "iotagent-"), "-mqtt-", "-", 1)
	cc := &confCase{file: file, f: f, c: c, tag: tag, reason: iotacases.OutOfScopeEndToEnd(c),
		services: map[string]string{}, keys: map[string]string{}, types: map[string]string{}, keyScope: map[string][2]string{}}
	return cc
}

func (cc *confCase) fail(format string, args ...any) {
	cc.errs = append(cc.errs, fmt.Sprintf(format, args...))
}

func (cc *confCase) failed() bool { return len(cc.errs) > 0 }

func (cc *confCase) summary() string {
	s := fmt.Sprintf("(%d points)", cc.points)
	if len(cc.notes) > 0 {
		s += " " + strings.Join(cc.notes, "; ")
	}
	return s
}

// service returns the case's own name for a Fiware-Service.
func (cc *confCase) service(s string) string {
	if n, ok := cc.services[s]; ok {
		return n
	}
	n := "conf_" + strings.ReplaceAll(cc.tag, "-", "_")
	if len(cc.services) > 0 {
		n += "_" + strconv.Itoa(len(cc.services)+1)
	}
	cc.services[s] = n
	cc.svcOrder = append(cc.svcOrder, s)
	return n
}

func (cc *confCase) serviceNames() []string {
	var out []string
	for _, s := range cc.svcOrder {
		out = append(out, cc.services[s])
	}
	return out
}

// key returns the case's own apikey for an apikey.
func (cc *confCase) key(k string) string {
	if n, ok := cc.keys[k]; ok {
		return n
	}
	n := cc.tag + "-" + k
	cc.keys[k] = n
	return n
}

// typ returns the case's own entity type for a provisioned type; types
// nobody provisioned (the default "Thing") stay.
func (cc *confCase) typ(t string) string {
	if n, ok := cc.types[t]; ok {
		return n
	}
	return t
}

// topic rewrites the apikey level of a device topic
// ([/][ul/|json/]{apikey}/{device}/…).
func (cc *confCase) topic(topic string) string {
	levels := strings.Split(topic, "/")
	i := 0
	if levels[0] == "" {
		i = 1
	}
	if levels[i] == "ul" || levels[i] == "json" {
		i++
	}
	levels[i] = cc.key(levels[i])
	return strings.Join(levels, "/")
}

// confTopicKeyDevice returns the (original) apikey and device of a topic.
func confTopicKeyDevice(topic string) (string, string) {
	levels := strings.Split(strings.TrimPrefix(topic, "/"), "/")
	if levels[0] == "ul" || levels[0] == "json" {
		levels = levels[1:]
	}
	return levels[0], levels[1]
}

func confIsCmdExe(topic string) bool { return strings.HasSuffix(topic, "/cmdexe") }

// confProvBody is a provisioning body: {"devices"|"services"|"groups": […]}.
type confProvBody map[string][]map[string]any

func confDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// provision applies the case's provisioning requests, rewritten, creating
// the default key's group first when the case needs one.
func (cc *confCase) provision(t *testing.T, ct *citytwinProc) {
	t.Helper()
	var reqs []iotacases.Request
	reqs = append(reqs, cc.c.Prov...)
	for _, r := range cc.c.Other {
		if r.IsProvisioning() {
			reqs = append(reqs, r)
		}
	}
	bodies := make([]confProvBody, len(reqs))
	var devScopes [][2]string
	groupKeys := map[string]bool{}
	for i, r := range reqs {
		if err := confDecode(r.JSON, &bodies[i]); err != nil {
			cc.fail("provisioning body of %s: %v", r.URL, err)
			return
		}
		for kind, list := range bodies[i] {
			for _, el := range list {
				for _, f := range []string{"entity_type", "type"} {
					if s, ok := el[f].(string); ok && s != "" && (f == "entity_type" || kind != "devices") {
						cc.types[s] = s + "_" + strings.ReplaceAll(cc.tag, "-", "_")
					}
				}
				k, _ := el["apikey"].(string)
				switch {
				case kind != "devices":
					groupKeys[k] = true
				case k == "":
					s := [2]string{r.Headers["fiware-service"], r.Headers["fiware-servicepath"]}
					if !slices.Contains(devScopes, s) {
						devScopes = append(devScopes, s)
					}
				}
			}
		}
	}

	dk := cc.f.DefaultKey()
	usesDefault := slices.ContainsFunc(cc.c.MQTT, func(m iotacases.Publish) bool { k, _ := confTopicKeyDevice(m.Topic); return k == dk })
	if usesDefault && !groupKeys[dk] {
		if len(devScopes) != 1 {
			cc.fail("the default key %s is used, but the devices without apikey are in %d scopes", dk, len(devScopes))
			return
		}
		scope := devScopes[0]
		body, _ := json.Marshal(map[string]any{"services": []any{map[string]any{"apikey": cc.key(dk), "resource": cc.f.DefaultResource()}}})
		svc := cc.service(scope[0])
		code, resp := confRequest(t, ct, http.MethodPost, "/iot/services", svc, scope[1], body)
		if code != http.StatusCreated {
			cc.fail("creating the group of the default key: POST /iot/services → %d %s", code, bytes.TrimSpace(resp))
			return
		}
		cc.keyScope[cc.key(dk)] = [2]string{svc, scope[1]}
		cc.notes = append(cc.notes, fmt.Sprintf("group for the default key %s (resource %s) created first", dk, cc.f.DefaultResource()))
	}

	for i, r := range reqs {
		svc, path := cc.service(r.Headers["fiware-service"]), r.Headers["fiware-servicepath"]
		for kind, list := range bodies[i] {
			for _, el := range list {
				if k, ok := el["apikey"].(string); ok && k != "" {
					el["apikey"] = cc.key(k)
					if kind != "devices" {
						cc.keyScope[cc.key(k)] = [2]string{svc, path}
					}
				}
				for _, f := range []string{"entity_type", "type"} {
					if s, ok := el[f].(string); ok && (f == "entity_type" || kind != "devices") {
						el[f] = cc.typ(s)
					}
				}
			}
		}
		body, _ := json.Marshal(bodies[i])
		path0 := r.URLPath()
		code, resp := confRequest(t, ct, r.Method, path0, svc, path, body)
		if code != http.StatusCreated {
			cc.fail("citytwin rejected the case's provisioning request %s %s: %d %s", r.Method, path0, code, bytes.TrimSpace(resp))
		}
	}
}

// confRequest sends a provisioning request with the admin token.
func confRequest(t *testing.T, ct *citytwinProc, method, path, service, servicePath string, body []byte) (int, []byte) {
	t.Helper()
	return provisionRequest(t, ct, method, path, testAdminToken, service, servicePath, string(body))
}

// sendCommands sends, through citytwin's command API, the commands a
// cmdexe message answers, and checks they are PENDING; false when the
// result should not be published.
func (cc *confCase) sendCommands(t *testing.T, ct *citytwinProc, m iotacases.Publish) bool {
	t.Helper()
	k, dev := confTopicKeyDevice(m.Topic)
	scope, ok := cc.keyScope[cc.key(k)]
	if !ok {
		cc.fail("no group for apikey %s of %s", k, m.Topic)
		return false
	}
	var names []string
	if p := strings.TrimSpace(m.Payload); strings.HasPrefix(p, "{") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(p), &obj); err != nil {
			cc.fail("command result %q: %v", p, err)
			return false
		}
		for n := range obj {
			names = append(names, n)
		}
		sort.Strings(names)
	} else {
		_, rest, _ := strings.Cut(p, "@")
		name, _, _ := strings.Cut(rest, "|")
		names = []string{name}
	}
	// An autoprovisioned device exists once its first measure is in.
	devPath := "/iot/devices/" + dev
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, _ := confRequest(t, ct, http.MethodGet, devPath, scope[0], scope[1], nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			cc.fail("device %s not found in %s%s within 10 s: %d", dev, scope[0], scope[1], code)
			return false
		}
	}
	for _, name := range names {
		req := map[string]any{"name": name}
		note := "command " + name + " sent first through POST " + devPath + "/commands (the case sends none; citytwin takes only results of commands it sent)"
		if v, ok := cc.brokerCommand(name); ok {
			req["value"] = v
			note = "the context broker's command " + name + " sent as POST " + devPath + "/commands"
		}
		body, _ := json.Marshal(req)
		if code, resp := confRequest(t, ct, http.MethodPost, devPath+"/commands", scope[0], scope[1], body); code != http.StatusAccepted {
			cc.fail("POST %s/commands %s → %d %s", devPath, body, code, bytes.TrimSpace(resp))
			return false
		}
		code, resp := confRequest(t, ct, http.MethodGet, devPath+"/commands", scope[0], scope[1], nil)
		var out struct {
			Commands []struct{ Name, Status string }
		}
		if code != http.StatusOK || json.Unmarshal(resp, &out) != nil ||
			!slices.ContainsFunc(out.Commands, func(c struct{ Name, Status string }) bool { return c.Name == name && c.Status == "PENDING" }) {
			cc.fail("after sending %s, GET %s/commands → %d %s, want it PENDING", name, devPath, code, bytes.TrimSpace(resp))
			return false
		}
		cc.notes = append(cc.notes, note, name+"_status PENDING checked with GET "+devPath+"/commands")
	}
	return true
}

// brokerCommand returns the value of the context broker's command name in
// the case's /v2/op/update requests.
func (cc *confCase) brokerCommand(name string) (json.RawMessage, bool) {
	for _, r := range cc.c.Other {
		if r.URLPath() != "/v2/op/update" {
			continue
		}
		var doc struct {
			Entities []map[string]json.RawMessage `json:"entities"`
		}
		if json.Unmarshal(r.JSON, &doc) != nil {
			continue
		}
		for _, e := range doc.Entities {
			var attr struct {
				Type  string          `json:"type"`
				Value json.RawMessage `json:"value"`
			}
			if raw, ok := e[name]; ok && json.Unmarshal(raw, &attr) == nil && attr.Type == "command" {
				return attr.Value, true
			}
		}
	}
	return nil, false
}

// confPoint is a point the case should have stored.
type confPoint struct {
	measurement, entityID, tenant string
	at                            time.Time // zero: the arrival time
	fields                        map[string]any
	label                         string
}

// confJSON is an object or array value, stored as its JSON text.
type confJSON struct{ v any }

// wants derives the points the case's expected requests stand for.
func (cc *confCase) wants() ([]confPoint, error) {
	var out []confPoint
	for i, r := range cc.c.Expected {
		if iotacases.Ignored(r) != "" {
			continue
		}
		label := fmt.Sprintf("expected request %d (%s %s)", i+1, r.Method, r.Path)
		var ents []map[string]json.RawMessage
		switch {
		case r.Method == http.MethodPost && r.Path == "/v2/entities?options=upsert":
			var e map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &e); err != nil {
				return nil, fmt.Errorf("%s: %v", label, err)
			}
			ents = append(ents, e)
		case r.Method == http.MethodPost && r.Path == "/v2/op/update":
			var doc struct {
				Entities []map[string]json.RawMessage `json:"entities"`
			}
			if err := json.Unmarshal(r.Body, &doc); err != nil {
				return nil, fmt.Errorf("%s: %v", label, err)
			}
			ents = doc.Entities
		default:
			return nil, fmt.Errorf("%s: no stored form to compare", label)
		}
		for j, e := range ents {
			l := label
			if len(ents) > 1 {
				l += fmt.Sprintf(" entity %d of %d", j+1, len(ents))
			}
			pts, err := cc.entityPoints(r.Headers["fiware-service"], e, l)
			if err != nil {
				return nil, err
			}
			out = append(out, pts...)
		}
	}
	return out, nil
}

// entityPoints maps one expected NGSI-v2 entity to points; a
// commandStatus-only PENDING update maps to none (the registry holds it).
func (cc *confCase) entityPoints(service string, e map[string]json.RawMessage, label string) ([]confPoint, error) {
	var id, typ string
	_ = json.Unmarshal(e["id"], &id)
	_ = json.Unmarshal(e["type"], &typ)
	if nt := cc.typ(typ); nt != typ {
		if rest, ok := strings.CutPrefix(id, typ+":"); ok {
			id = nt + ":" + rest
		}
		typ = nt
	}
	p := confPoint{measurement: typ, entityID: id, tenant: strings.ToLower(cc.service(service)), fields: map[string]any{}, label: label}
	var series []confSeriesPoint
	seriesName := ""
	pending := 0
	names := 0
	for name, raw := range e {
		if name == "id" || name == "type" {
			continue
		}
		names++
		var attr struct {
			Type     string                     `json:"type"`
			Value    json.RawMessage            `json:"value"`
			Metadata map[string]json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &attr); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", label, name, err)
		}
		if name == "TimeInstant" {
			var s string
			_ = json.Unmarshal(attr.Value, &s)
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("%s: TimeInstant %q: %v", label, s, err)
			}
			p.at = at
			continue
		}
		if _, ok := attr.Metadata["unitCode"]; ok {
			return nil, fmt.Errorf("%s: %s has a unitCode, which InfluxDB does not hold: compare it elsewhere", label, name)
		}
		if name == "location" || attr.Type == "Relationship" || strings.HasPrefix(attr.Type, "geo:") {
			return nil, fmt.Errorf("%s: %s (%s): locations and relationships are not compared here", label, name, attr.Type)
		}
		if attr.Type == "commandStatus" && string(attr.Value) == `"PENDING"` {
			pending++
			continue
		}
		if pts, ok := confSeriesOf(attr.Value); ok && seriesName == "" {
			seriesName, series = name, pts
			continue
		}
		if v, stored := confStoredValue(attr.Value); stored {
			p.fields[name] = v
		}
	}
	if pending > 0 && pending == names {
		return nil, nil
	}
	if seriesName == "" {
		return []confPoint{p}, nil
	}
	out := make([]confPoint, 0, len(series))
	for i, s := range series {
		q := p
		q.fields = make(map[string]any, len(p.fields)+1)
		for k, v := range p.fields {
			q.fields[k] = v
		}
		if s.v != nil {
			q.fields[seriesName] = s.v
		}
		q.at = s.at
		q.label = fmt.Sprintf("%s %s[%d]", label, seriesName, i)
		out = append(out, q)
	}
	return out, nil
}

type confSeriesPoint struct {
	at time.Time
	v  any
}

// confSeriesOf reads the JSON agent's single-measure series,
// [{"timestamp": "…", "value": …}, …].
func confSeriesOf(raw json.RawMessage) ([]confSeriesPoint, bool) {
	var els []map[string]json.RawMessage
	if json.Unmarshal(raw, &els) != nil || len(els) == 0 {
		return nil, false
	}
	out := make([]confSeriesPoint, len(els))
	for i, el := range els {
		var ts string
		if len(el) != 2 || el["value"] == nil || json.Unmarshal(el["timestamp"], &ts) != nil {
			return nil, false
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, false
		}
		out[i].at = at
		out[i].v, _ = confStoredValue(el["value"])
	}
	return out, true
}

// confStoredValue returns the field value an attribute value is stored as, and
// false when it is not stored (null, empty text).
func confStoredValue(raw json.RawMessage) (any, bool) {
	var v any
	if err := confDecode(raw, &v); err != nil {
		return nil, false
	}
	switch x := v.(type) {
	case nil:
		return nil, false
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		return f, err == nil
	case bool:
		return x, true
	case string:
		return x, x != ""
	}
	var y any
	_ = json.Unmarshal(raw, &y)
	return confJSON{y}, true
}

// check compares what InfluxDB holds with the case's expectations; "" when
// they agree.
func (cc *confCase) check(t *testing.T, ct *citytwinProc, db *testenv.InfluxDB) string {
	t.Helper()
	wants, err := cc.wants()
	if err != nil {
		return err.Error()
	}
	if len(wants) == 0 {
		return cc.checkNothing(t, ct, db)
	}
	type series struct{ measurement, entityID, tenant string }
	bySeries := map[series][]confPoint{}
	var order []series
	for _, w := range wants {
		s := series{w.measurement, w.entityID, w.tenant}
		if _, ok := bySeries[s]; !ok {
			order = append(order, s)
		}
		bySeries[s] = append(bySeries[s], w)
	}
	var diffs []string
	cc.points = 0
	for _, s := range order {
		rows := db.Select(t, fmt.Sprintf(`SELECT * FROM %s WHERE "entity_id" = %s AND "tenant" = %s`,
			confIdent(s.measurement), confString(s.entityID), confString(s.tenant)))
		cc.points += len(rows)
		if len(rows) == 0 {
			diffs = append(diffs, fmt.Sprintf("nothing stored in measurement %s for entity_id %q, tenant %s%s",
				s.measurement, s.entityID, s.tenant, confTenantContents(t, db, s.tenant)))
			continue
		}
		diffs = append(diffs, cc.matchRows(bySeries[s], rows)...)
	}
	return strings.Join(diffs, "\n\t")
}

// matchRows pairs expected points with stored rows of one series.
func (cc *confCase) matchRows(wants []confPoint, rows []testenv.Row) []string {
	var diffs []string
	claimed := make([]bool, len(rows))
	allowed := make([]map[string]bool, len(rows))
	arrivalClaims := make([]int, len(rows))
	claim := func(i int, w confPoint) {
		claimed[i] = true
		if w.at.IsZero() {
			arrivalClaims[i]++
		}
		if allowed[i] == nil {
			allowed[i] = map[string]bool{}
		}
		for k := range w.fields {
			allowed[i][k] = true
		}
	}
	timed := map[time.Time]bool{}
	for _, w := range wants {
		if !w.at.IsZero() {
			timed[w.at] = true
		}
	}
	type mismatch struct {
		w    confPoint
		row  int
		diff string
	}
	var mismatches []mismatch
	lo, hi := cc.published.Add(-time.Second), time.Now().Add(time.Second)
	for _, w := range wants {
		best, bestDiff := -1, ""
		for i, r := range rows {
			if !w.at.IsZero() && !r.Time.Equal(w.at) {
				continue
			}
			if w.at.IsZero() && (timed[r.Time] || r.Time.Before(lo) || r.Time.After(hi)) {
				continue
			}
			d := confFieldDiff(w.fields, r.Fields)
			if d == "" {
				best, bestDiff = i, ""
				break
			}
			if best < 0 {
				best, bestDiff = i, d
			}
		}
		switch {
		case best < 0 && w.at.IsZero():
			diffs = append(diffs, fmt.Sprintf("%s: no point at the arrival time (between %s and %s) %s", w.label,
				lo.UTC().Format(time.RFC3339Nano), hi.UTC().Format(time.RFC3339Nano), confFormatFields(w.fields)))
		case best < 0:
			diffs = append(diffs, fmt.Sprintf("%s: no point at %s %s", w.label, w.at.UTC().Format(time.RFC3339Nano), confFormatFields(w.fields)))
		case bestDiff != "":
			mismatches = append(mismatches, mismatch{w, best, bestDiff})
			claim(best, w)
		default:
			claim(best, w)
		}
	}
	for _, m := range mismatches {
		hint := ""
		if m.w.at.IsZero() && arrivalClaims[m.row] > 1 {
			hint = " (updates without TimeInstant take the message's arrival time: same series and timestamp, " +
				"so InfluxDB keeps one point, in which a later update's values replaced these)"
		}
		diffs = append(diffs, fmt.Sprintf("%s: point at %s: %s%s", m.w.label, rows[m.row].Time.UTC().Format(time.RFC3339Nano), m.diff, hint))
	}
	for i, r := range rows {
		if !claimed[i] {
			diffs = append(diffs, fmt.Sprintf("unexpected point at %s %s", r.Time.UTC().Format(time.RFC3339Nano), confFormatFields(r.Fields)))
			continue
		}
		var extra []string
		for k, v := range r.Fields {
			if !allowed[i][k] {
				extra = append(extra, fmt.Sprintf("%s=%#v", k, v))
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			diffs = append(diffs, fmt.Sprintf("point at %s has fields no expected update has: %s", r.Time.UTC().Format(time.RFC3339Nano), strings.Join(extra, ", ")))
		}
	}
	return diffs
}

// confFieldDiff compares expected fields with stored ones; "" when every
// expected field is stored with its value.
func confFieldDiff(want, got map[string]any) string {
	var out []string
	for _, k := range confSortedKeys(want) {
		w := want[k]
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: want %s, not stored", k, confFormatValue(w)))
		case !confValueEqual(w, g):
			out = append(out, fmt.Sprintf("%s: want %s, stored %s", k, confFormatValue(w), confFormatValue(g)))
		}
	}
	return strings.Join(out, ", ")
}

func confValueEqual(want, got any) bool {
	if j, ok := want.(confJSON); ok {
		s, ok := got.(string)
		if !ok {
			return false
		}
		var v any
		return json.Unmarshal([]byte(s), &v) == nil && reflect.DeepEqual(v, j.v)
	}
	return want == got
}

func confFormatValue(v any) string {
	switch x := v.(type) {
	case confJSON:
		b, _ := json.Marshal(x.v)
		return "JSON " + string(b)
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

func confFormatFields(f map[string]any) string {
	var out []string
	for _, k := range confSortedKeys(f) {
		out = append(out, k+"="+confFormatValue(f[k]))
	}
	return "{" + strings.Join(out, ", ") + "}"
}

func confSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkNothing checks a case that expects no update: citytwin processed its
// messages (the devices' status shows them) and stored nothing for its
// tenants.
func (cc *confCase) checkNothing(t *testing.T, ct *citytwinProc, db *testenv.InfluxDB) string {
	t.Helper()
	for _, m := range cc.c.MQTT {
		k, dev := confTopicKeyDevice(m.Topic)
		scope, ok := cc.keyScope[cc.key(k)]
		if !ok {
			return "no group for apikey " + k
		}
		code, body := confRequest(t, ct, http.MethodGet, "/iot/devices/"+dev, scope[0], scope[1], nil)
		var d struct {
			Status struct {
				LastSeen         *time.Time
				MeasuresAccepted int
				MeasuresRejected int
				LastError        string
			}
		}
		if code != http.StatusOK || json.Unmarshal(body, &d) != nil {
			return fmt.Sprintf("GET /iot/devices/%s: %d %s", dev, code, bytes.TrimSpace(body))
		}
		if d.Status.LastSeen == nil {
			return fmt.Sprintf("device %s: the message on %s was not processed yet (no lastSeen)", dev, cc.topic(m.Topic))
		}
		if d.Status.MeasuresAccepted != 0 {
			return fmt.Sprintf("device %s: %d measures accepted, want none", dev, d.Status.MeasuresAccepted)
		}
		if note := fmt.Sprintf("nothing stored; device status: %d rejected (%s)", d.Status.MeasuresRejected, d.Status.LastError); !slices.Contains(cc.notes, note) {
			cc.notes = append(cc.notes, note)
		}
	}
	for _, s := range cc.serviceNames() {
		tenant := strings.ToLower(s)
		if rows := db.Select(t, `SELECT * FROM /.*/ WHERE "tenant" = `+confString(tenant)); len(rows) > 0 {
			return fmt.Sprintf("the case expects no update, but tenant %s holds %d points, e.g. %s at %s %s", tenant, len(rows),
				rows[0].Measurement, rows[0].Time.UTC().Format(time.RFC3339Nano), confFormatFields(rows[0].Fields))
		}
	}
	return ""
}

// confTenantContents describes what a tenant holds, for a failure message.
func confTenantContents(t *testing.T, db *testenv.InfluxDB, tenant string) string {
	t.Helper()
	rows := db.Select(t, `SELECT * FROM /.*/ WHERE "tenant" = `+confString(tenant))
	if len(rows) == 0 {
		return " (the tenant holds no point at all)"
	}
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s entity_id=%q at %s %s", r.Measurement, r.Tags["entity_id"], r.Time.UTC().Format(time.RFC3339Nano), confFormatFields(r.Fields)))
	}
	return " (the tenant holds: " + strings.Join(out, "; ") + ")"
}

// confIdent quotes an InfluxQL identifier.
func confIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// confString quotes an InfluxQL string literal.
func confString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// confNotices collects the rejection notices citytwin publishes on the
// devices' error topics, by apikey. The paho handler fills it.
type confNotices struct {
	mu    sync.Mutex
	byKey map[string][]string
}

func (n *confNotices) handle(_ paho.Client, m paho.Message) {
	k, _ := confTopicKeyDevice(m.Topic())
	n.mu.Lock()
	n.byKey[k] = append(n.byKey[k], string(m.Payload()))
	n.mu.Unlock()
}

// of returns the notices of a case's (rewritten) apikeys.
func (n *confNotices) of(keys map[string]string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, k := range keys {
		out = append(out, n.byKey[k]...)
	}
	return strings.Join(out, "; ")
}
