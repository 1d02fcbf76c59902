package iotacases

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/internal/testenv"
)

// Dir returns the folder of the extracted cases: shared/data/iotagent beside
// the repository.
func Dir(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "..", "shared", "data", "iotagent")
}

// Load reads the JSON file name (relative to Dir) into v. When the data is
// absent the test is skipped with a message saying where it was looked for.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	dir := Dir(t)
	b, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		t.Skipf("IoT Agent test data not found at %s (shared/data beside the repository): %v", dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// LoadFile reads a cases file such as "iotagent-ul/mqtt-cases.json".
func LoadFile(t testing.TB, name string) File {
	t.Helper()
	var f File
	Load(t, name, &f)
	return f
}

// File is one cases file: the agent's test configuration and its cases.
type File struct {
	SourceRepo string         `json:"source_repo"`
	Commit     string         `json:"commit"`
	TestConfig map[string]any `json:"test_config"`
	Cases      []Case         `json:"cases"`
}

// DefaultKey is the agent's defaultKey: the apikey of devices provisioned
// without one ("1234" in both agents' tests).
func (f File) DefaultKey() string {
	if k, ok := f.TestConfig["defaultKey"].(string); ok {
		return k
	}
	return "1234"
}

// DefaultResource is the agent's iota.defaultResource: "/iot/d" for
// iotagent-ul, "/iot/json" for iotagent-json.
func (f File) DefaultResource() string {
	if r, ok := f.TestConfig["iota.defaultResource"].(string); ok {
		return r
	}
	return "/iot/d"
}

// Case is one test case of an agent: the provisioning it makes, the device
// messages it sends (over MQTT, or over HTTP for the HTTP cases), other
// requests made to the agent (provisioning in the test body, commands from
// the context broker, notifications), and the requests the agent was
// expected to send to the context broker.
type Case struct {
	ID       string    `json:"id"`
	Describe string    `json:"describe"`
	It       string    `json:"it"`
	Prov     []Request `json:"provisioning_requests"`
	MQTT     []Publish `json:"mqtt_publishes"`
	South    []Request `json:"southbound_http_requests"`
	Other    []Request `json:"other_http_requests"`
	Expected []Request `json:"expected_context_broker_requests"`
}

// Publish is one MQTT message a case publishes.
type Publish struct {
	Topic   string `json:"topic"`
	Payload string `json:"payload"`
}

// Request is an HTTP request: made to the agent (URL, JSON) or expected from
// it (Path, Body).
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	QS      map[string]string `json:"qs"`
	JSON    json.RawMessage   `json:"json"`
	Body    json.RawMessage   `json:"body"`
}

// URLPath returns the path of the request's URL ("/iot/devices").
func (r Request) URLPath() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return ""
	}
	return u.Path
}

// IsProvisioning tells a request to the agent's provisioning API (/iot/…).
func (r Request) IsProvisioning() bool {
	return strings.HasPrefix(r.URLPath(), "/iot/")
}

// Ignored names an expected request citytwin never makes, and why; "" when
// the request is compared.
func Ignored(r Request) string {
	switch {
	case r.Path == "/v2/registrations":
		return "context-provider registration for commands (citytwin takes commands on its own API)"
	case strings.HasSuffix(r.Path, "/protocols"):
		return "IoT Manager protocol registration"
	}
	return ""
}

// OutOfScope gives the reason a case tests something the IoT Agent codec of
// citytwin (ingest/iota) does not implement, or "".
func OutOfScope(c Case) string {
	for _, r := range append(slices.Clone(c.Prov), c.Other...) {
		var doc map[string][]map[string]any
		_ = json.Unmarshal(r.JSON, &doc)
		for _, list := range doc {
			for _, d := range list {
				if pt, _ := d["payloadType"].(string); pt == "ngsiv2" || pt == "ngsild" {
					return "NGSI payloads as measures (payloadType " + pt + "): citytwin ingests NGSI natively (ingest/ngsi)"
				}
				if ex, _ := d["explicitAttrs"].(string); strings.Contains(ex, "oldCtxt") {
					return "explicitAttrs over oldCtxt, the previous measure's context the agent keeps"
				}
			}
		}
	}
	for _, s := range c.South {
		if _, ok := s.QS["t"]; ok {
			return "HTTP transport: the t query parameter"
		}
		ct := strings.ToLower(s.Headers["content-type"])
		if ct == "text/plain" && strings.Contains(s.URL, "/iot/json/attrs/") || ct == "application/octet-stream" || ct == "application/soap+xml" {
			return "HTTP transport: " + ct + " single-measure bodies"
		}
	}
	if c.ID == "iotagent-json-mqtt-036" {
		return "expects the device's command result, which the case never publishes (its nock scope is the next case's)"
	}
	return ""
}

// OutOfScopeEndToEnd gives the reason a case tests something the citytwin
// service does not do, or "": OutOfScope's reasons, and configuration
// requests, which the codec parses but citytwin does not serve (the device
// is answered on its error topic), so that they store nothing and send no
// query or subscription to compare.
func OutOfScopeEndToEnd(c Case) string {
	if r := OutOfScope(c); r != "" {
		return r
	}
	for _, m := range c.MQTT {
		if strings.HasSuffix(m.Topic, "/configuration/commands") {
			return "configuration requests (…/configuration/commands): citytwin does not serve them; devices get commands on …/cmd"
		}
	}
	return ""
}

// Tally counts the outcomes of a file's cases.
type Tally struct {
	Pass, Fail int
	out        map[string]int
}

// OutOfScope counts a case out of scope for reason.
func (t *Tally) OutOfScope(reason string) {
	if t.out == nil {
		t.out = map[string]int{}
	}
	t.out[reason]++
}

// Summary is "N pass, M out of scope (k× reason; …), K fail".
func (t *Tally) Summary() string {
	n := 0
	var reasons []string
	for r, k := range t.out {
		n += k
		reasons = append(reasons, fmt.Sprintf("%d× %s", k, r))
	}
	sort.Strings(reasons)
	return fmt.Sprintf("%d pass, %d out of scope (%s), %d fail", t.Pass, n, strings.Join(reasons, "; "), t.Fail)
}

// Add adds the counts of u to t.
func (t *Tally) Add(u Tally) {
	t.Pass += u.Pass
	t.Fail += u.Fail
	for r, k := range u.out {
		if t.out == nil {
			t.out = map[string]int{}
		}
		t.out[r] += k
	}
}
