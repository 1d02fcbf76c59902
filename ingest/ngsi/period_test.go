package ngsi_test

import (
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/ngsi"
)

// TestObservationPeriod: the period an entity states (a count's interval)
// reaches the observation; malformed or implausible periods give none and
// cost nothing else.
func TestObservationPeriod(t *testing.T) {
	const head = `{"id":"t1","type":"TrafficFlowObserved","intensity":50,`
	for _, tc := range []struct {
		name, body string
		want       time.Duration
	}{
		{"interval keyValues", `"dateObserved":"2026-01-15T09:00:00Z/2026-01-15T09:05:00Z"}`, 5 * time.Minute},
		{"interval normalized", `"dateObserved":{"type":"DateTime","value":"2026-01-15T09:00:00Z/2026-01-15T09:15:00Z"}}`, 15 * time.Minute},
		{"from and to", `"dateObservedFrom":"2026-01-15T09:00:00Z","dateObservedTo":"2026-01-15T09:02:30Z"}`, 150 * time.Second},
		{"NGSI-LD from and to", `"dateObservedFrom":{"type":"Property","value":{"@type":"DateTime","@value":"2026-01-15T09:00:00Z"}},"dateObservedTo":{"type":"Property","value":{"@type":"DateTime","@value":"2026-01-15T10:00:00Z"}}}`, time.Hour},
		{"the interval wins", `"dateObserved":"2026-01-15T09:00:00Z/2026-01-15T09:05:00Z","dateObservedFrom":"2026-01-15T08:00:00Z","dateObservedTo":"2026-01-15T09:05:00Z"}`, 5 * time.Minute},
		{"one instant", `"dateObserved":"2026-01-15T09:05:00Z"}`, 0},
		{"from alone", `"dateObservedFrom":"2026-01-15T09:00:00Z","dateObserved":"2026-01-15T09:05:00Z"}`, 0},
		{"malformed from", `"dateObservedFrom":"yesterday","dateObservedTo":"2026-01-15T09:05:00Z"}`, 0},
		{"reversed", `"dateObservedFrom":"2026-01-15T09:10:00Z","dateObservedTo":"2026-01-15T09:05:00Z"}`, 0},
		{"longer than a day", `"dateObserved":"2026-01-13T09:00:00Z/2026-01-15T09:05:00Z"}`, 0},
	} {
		_, obs, errs := ngsi.Decode([]byte(head+tc.body), ngsi.Input{Tenant: "t", Arrival: time.Now()})
		if len(errs) != 0 || len(obs) != 1 {
			t.Errorf("%s: %v %v", tc.name, obs, errs)
			continue
		}
		if obs[0].Period != tc.want {
			t.Errorf("%s: period %v, want %v", tc.name, obs[0].Period, tc.want)
		}
		if a, ok := obs[0].Attr("intensity"); !ok || a.Num != 50 {
			t.Errorf("%s: intensity %+v", tc.name, a)
		}
	}
}
