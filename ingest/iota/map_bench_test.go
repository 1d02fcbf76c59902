package iota_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
)

// BenchmarkDecodeUL is the ingest path of one UltraLight message of a
// provisioned device with a static location: topic, parse, map, validate.
func BenchmarkDecodeUL(b *testing.B) {
	var devs []iota.Device
	body := `{"devices":[{"device_id":"n1","entity_name":"urn:ngsi-ld:NoiseLevelObserved:n1","entity_type":"NoiseLevelObserved",
		"attributes":[{"object_id":"l","name":"LAeq","type":"Number","metadata":{"unitCode":{"type":"Text","value":"2N"}}},{"object_id":"x","name":"LAmax","type":"Number"}],
		"static_attributes":[{"name":"location","type":"geo:json","value":{"type":"Point","coordinates":[9.19,45.46]}}]}]}`
	devs, err := iota.DecodeDevices([]byte(body), "acme", "/")
	if err != nil {
		b.Fatal(err)
	}
	grp := iota.Group{APIKey: "k", Service: "acme", ServicePath: "/", Resource: "/iot/d"}
	payload := []byte("l|61.5|x|70.2")
	arrival := time.Now()
	_ = json.Marshal
	b.ReportAllocs()
	for b.Loop() {
		t, err := iota.ParseTopic("/ul/k/n1/attrs")
		if err != nil {
			b.Fatal(err)
		}
		m, err := iota.ParseMeasures(t, iota.ProtocolUL, payload)
		if err != nil {
			b.Fatal(err)
		}
		obs, errs := iota.Map(m, &devs[0], &grp, arrival)
		if len(obs) != 1 || len(errs) != 0 {
			b.Fatal(obs, errs)
		}
	}
}
