package iota_test

import (
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
)

// Groups without their own time in one message must not collide in storage:
// each later update of an entity moves 1 ns after the previous one.
func TestMapKeepsEveryGroup(t *testing.T) {
	arrival := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	dev := &iota.Device{DeviceID: "d1", EntityType: "Thing", Service: "s", ServicePath: "/"}
	topic, err := iota.ParseTopic("/ul/k/d1/attrs")
	if err != nil {
		t.Fatal(err)
	}
	m, err := iota.ParseMeasures(topic, iota.ProtocolUL, []byte("temperature|23|humidity|98#temperature|16|humidity|34#2026-03-01T09:00:00Z|temperature|5"))
	if err != nil {
		t.Fatal(err)
	}
	obs, errs := iota.Map(m, dev, &iota.Group{APIKey: "k", Service: "s", ServicePath: "/"}, arrival)
	if len(errs) != 0 || len(obs) != 3 {
		t.Fatalf("%d observations, errors %v", len(obs), errs)
	}
	want := []time.Time{arrival, arrival.Add(time.Nanosecond), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	for i, o := range obs {
		if !o.Time.Equal(want[i]) {
			t.Errorf("observation %d at %v, want %v", i, o.Time, want[i])
		}
	}
	if a, _ := obs[1].Attr("temperature"); a.Num != 16 {
		t.Errorf("second group temperature %v", a.Num)
	}
}
