package provision_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fixtureDir holds the provisioning requests of the IoT Agents' own unit
// tests and manuals (shared/ beside the repository).
var fixtureDir = filepath.Join("..", "..", "..", "shared", "data", "iotagent")

type fixtureRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	JSON    json.RawMessage   `json:"json"`
	Body    json.RawMessage   `json:"body"`
}

func (f fixtureRequest) req(t *testing.T) req {
	t.Helper()
	u, err := url.Parse(f.URL)
	if err != nil {
		t.Fatalf("fixture URL %q: %v", f.URL, err)
	}
	r := req{method: f.Method, url: u.RequestURI(), token: adminToken, service: "-"}
	for k, v := range f.Headers {
		switch strings.ToLower(k) {
		case "fiware-service":
			r.service = v
		case "fiware-servicepath":
			r.path = v
		}
	}
	r.body = string(f.JSON)
	if len(f.Body) > 0 {
		r.body = string(f.Body)
	}
	return r
}

func readFixture(t *testing.T, name string, v any) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if os.IsNotExist(err) {
		t.Logf("%s absent: skipped", name)
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return true
}

// refusedByDesign tells the provisionings that iota.DecodeDevices refuses on
// purpose: NGSI payloads (payloadType ngsiv2, ngsild) go to citytwin's NGSI
// topics, not through the IoT Agent mapping.
func refusedByDesign(body string) bool { return ngsiPayload.MatchString(body) }

var ngsiPayload = regexp.MustCompile(`"payloadType"\s*:\s*"ngsi(v2|ld)"`)

// TestIoTAgentFixtures replays every provisioning request of the IoT
// Agents' unit tests, each case on a fresh registry as the agents' tests
// do, and expects each to be accepted, but those refusedByDesign, which
// must be answered 400 naming payloadType.
func TestIoTAgentFixtures(t *testing.T) {
	files := []string{"iotagent-ul/mqtt-cases.json", "iotagent-ul/http-cases.json", "iotagent-json/mqtt-cases.json", "iotagent-json/http-cases.json"}
	replayed, refused := 0, 0
	for _, name := range files {
		var doc struct {
			Cases []struct {
				ID                   string           `json:"id"`
				ProvisioningRequests []fixtureRequest `json:"provisioning_requests"`
			} `json:"cases"`
		}
		if !readFixture(t, name, &doc) {
			continue
		}
		for _, c := range doc.Cases {
			if len(c.ProvisioningRequests) == 0 {
				continue
			}
			t.Run(c.ID, func(t *testing.T) {
				e := newEnv(t)
				for _, f := range c.ProvisioningRequests {
					r := f.req(t)
					replayed++
					if !refusedByDesign(r.body) {
						e.expect(r, 201, "")
						continue
					}
					refused++
					a := e.expect(r, 400, "WRONG_SYNTAX")
					if msg, _ := a.json(t)["message"].(string); !strings.Contains(msg, ".payloadType: ") {
						t.Errorf("refusal %q does not name payloadType", msg)
					}
				}
			})
		}
	}
	var docs struct {
		Examples []fixtureRequest `json:"provisioning_examples"`
	}
	if readFixture(t, "docs-examples.json", &docs) {
		e := newEnv(t)
		for _, f := range docs.Examples {
			if f.Method == "" {
				continue // a fragment, not a request
			}
			e.expect(f.req(t), 201, "")
			replayed++
		}
	}
	t.Logf("%d provisioning requests replayed, %d refused by design", replayed, refused)
}
