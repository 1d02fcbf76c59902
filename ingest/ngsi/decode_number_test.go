package ngsi_test

import (
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/ngsi"
)

// Exponent forms are read exactly (fastjson's own Float64 gives
// 1.1000000000000002e11 for 1.1e11).
func TestExponentNumbers(t *testing.T) {
	_, obs, errs := ngsi.Decode([]byte(`{"id":"x","type":"Thing","a":1.1e11,"b":2.5E-3,"c":0.1,"location":{"type":"Point","coordinates":[9.19e0,4.5464e1]}}`),
		ngsi.Input{Tenant: "t", Arrival: time.Now()})
	if len(errs) != 0 || len(obs) != 1 {
		t.Fatalf("%v %v", obs, errs)
	}
	want := map[string]float64{"a": 1.1e11, "b": 2.5e-3, "c": 0.1}
	for _, a := range obs[0].Attrs {
		if w, ok := want[a.Name]; ok && a.Num != w {
			t.Errorf("%s = %v, want %v", a.Name, a.Num, w)
		}
	}
	if p := obs[0].Location.Bound().Min; p[0] != 9.19 || p[1] != 45.464 {
		t.Errorf("location %v", p)
	}
}
