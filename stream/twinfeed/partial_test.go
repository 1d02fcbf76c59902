package twinfeed_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/stream/twinfeed"
	"github.com/citytwin/citytwin/twin"
)

// sensorItems returns the sensor items of a Changes call by key.
func sensorItems(items []stream.Item) map[string]stream.Item {
	out := map[string]stream.Item{}
	for _, it := range items {
		switch it.Layer {
		case "noise", "air", "traffic", "irrigation", "generic":
			out[it.Key] = it
		}
	}
	return out
}

func TestPartialSensorItems(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{MinStale: time.Hour}, nil)
	p := centre(city)
	apply := func(obs ...twin.Observation) map[string]stream.Item {
		state.Apply(obs)
		f.Publish(obs)
		return sensorItems(f.Changes(nil, t0.Add(5*time.Second)))
	}
	two := noise(city, "n1", p, t0, 60)
	two.Attrs = append(two.Attrs, twin.Attr{Name: "LAmax", Kind: twin.KindNumber, Num: 70, Unit: "2N"})

	// New to the stream: complete.
	it := apply(two)["n1"]
	if it.Partial || !json.Valid(it.JSON) {
		t.Fatalf("first item partial %v: %s", it.Partial, it.JSON)
	}
	var full sensorItem
	if err := json.Unmarshal(it.JSON, &full); err != nil || full.Type != "NoiseLevelObserved" || len(full.Values) != 2 || full.Lon != p[0] {
		t.Fatalf("first item %s", it.JSON)
	}

	// LAeq only, one second later: id, domain, stale and that value.
	// lastSeen (12:00:01) is the newest observedAt, so it is left out.
	it = apply(noise(city, "n1", p, t0.Add(time.Second), 61))["n1"]
	want := `{"id":"n1","domain":"noise","stale":false,"values":{"LAeq":{"value":61,"unitCode":"2N","observedAt":"2025-06-01T12:00:01Z"}}}`
	if !it.Partial || string(it.JSON) != want {
		t.Fatalf("LAeq update: partial %v\n got %s\nwant %s", it.Partial, it.JSON, want)
	}

	// An observation without attributes at 12:00:02: lastSeen moves past
	// every observedAt, so the item carries it.
	bare := noise(city, "n1", p, t0.Add(2*time.Second), 0)
	bare.Attrs = nil
	it = apply(bare)["n1"]
	want = `{"id":"n1","domain":"noise","stale":false,"lastSeen":"2025-06-01T12:00:02Z"}`
	if !it.Partial || string(it.JSON) != want {
		t.Fatalf("bare observation:\n got %s\nwant %s", it.JSON, want)
	}

	// The same LAeq again (same time and value, older than lastSeen):
	// nothing clients do not hold, so no sensor item.
	if got, ok := apply(noise(city, "n1", p, t0.Add(time.Second), 61))["n1"]; ok {
		t.Fatalf("unchanged sensor sent: %s", got.JSON)
	}

	// Moved: complete again (type, location, links and every value).
	q := orb.Point{p[0] + 0.01, p[1]}
	it = apply(noise(city, "n1", q, t0.Add(3*time.Second), 62))["n1"]
	var moved sensorItem
	if err := json.Unmarshal(it.JSON, &moved); err != nil || it.Partial || moved.Lon != q[0] || len(moved.Values) != 2 || moved.Type == "" {
		t.Fatalf("moved sensor: partial %v %s", it.Partial, it.JSON)
	}
}

func TestFullDeltasConfig(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1, FullDeltas: true}, twin.StateConfig{}, nil)
	p := centre(city)
	for i := range 2 {
		obs := []twin.Observation{noise(city, "n1", p, t0.Add(time.Duration(i)*time.Second), 60)}
		state.Apply(obs)
		f.Publish(obs)
		it := sensorItems(f.Changes(nil, t0))["n1"]
		var s sensorItem
		if err := json.Unmarshal(it.JSON, &s); err != nil || it.Partial || s.Type == "" || s.Lon != p[0] || len(s.Links) == 0 {
			t.Fatalf("change %d with FullDeltas: partial %v %s", i, it.Partial, it.JSON)
		}
	}
}

// TestSnapshotMakesNextItemsComplete: the two Changes calls after a
// snapshot started send complete sensor items, the third partial ones.
func TestSnapshotMakesNextItemsComplete(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	p := centre(city)
	step := 0
	change := func() stream.Item {
		step++
		obs := []twin.Observation{noise(city, "n1", p, t0.Add(time.Duration(step)*time.Second), 60+float64(step))}
		state.Apply(obs)
		f.Publish(obs)
		return sensorItems(f.Changes(nil, t0))["n1"]
	}
	change()
	if it := change(); !it.Partial {
		t.Fatal("second item complete without a snapshot")
	}
	f.Snapshot(stream.Query{Tenant: twin.DefaultTenant, Layers: []string{"noise"}, Now: t0}, func(stream.Item) {})
	for i, want := range []bool{false, false, true} {
		if it := change(); it.Partial != want {
			t.Fatalf("Changes call %d after the snapshot: partial %v, want %v", i+1, it.Partial, want)
		}
	}
}

// TestMergedItemsEqualSnapshot applies random observations (values,
// same-time replacements, bare observations, moves between points and
// lines) to a few sensors, merges every Changes call's items as a client
// does (stream/doc.go) and checks that what the client holds equals a
// fresh snapshot, sensor by sensor.
func TestMergedItemsEqualSnapshot(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: time.Second}, twin.StateConfig{MinStale: 3 * time.Second}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	c := centre(city)
	held := map[string]map[string]any{}
	now := t0
	for round := range 300 {
		now = now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
		var obs []twin.Observation
		for range rng.IntN(4) {
			id := fmt.Sprint("s", rng.IntN(5))
			o := noise(city, id, c, now.Add(-time.Duration(rng.IntN(3))*time.Second), float64(rng.IntN(4)))
			switch rng.IntN(6) {
			case 0:
				o.Location = orb.Point{c[0] + float64(rng.IntN(2))/100, c[1]}
			case 1:
				o.Location = orb.LineString{c, {c[0] + float64(rng.IntN(2)+1)/100, c[1]}}
			case 2:
				o.Attrs = nil
			case 3:
				o.Attrs = append(o.Attrs, twin.Attr{Name: "LAmax", Kind: twin.KindNumber, Num: float64(rng.IntN(3))})
			}
			o.Links = city.Link(o.Location, nil, 50)
			obs = append(obs, o)
		}
		state.Apply(obs)
		f.Publish(obs)
		if rng.IntN(10) == 0 {
			f.Snapshot(stream.Query{Tenant: twin.DefaultTenant, Layers: []string{"noise"}, Now: now}, func(stream.Item) {})
		}
		for _, it := range sensorItems(f.Changes(nil, now)) {
			var patch map[string]any
			if err := json.Unmarshal(it.JSON, &patch); err != nil {
				t.Fatalf("round %d: %s: %v", round, it.JSON, err)
			}
			held[it.Key] = clientMerge(held[it.Key], patch)
		}
	}
	var snap []stream.Item
	f.Snapshot(stream.Query{Tenant: twin.DefaultTenant, Layers: []string{"noise"}, Now: now}, func(it stream.Item) { snap = append(snap, it) })
	if len(snap) != len(held) {
		t.Fatalf("snapshot has %d sensors, the client %d", len(snap), len(held))
	}
	for _, it := range snap {
		var want map[string]any
		if err := json.Unmarshal(it.JSON, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(held[it.Key], want) {
			t.Errorf("sensor %s:\nclient   %v\nsnapshot %v", it.Key, held[it.Key], want)
		}
	}
}

// clientMerge merges a sensor item into the held one as the protocol says:
// members replace, values merge per attribute, lon/lat and geometry
// exclude each other, lastSeen is the item's or the newest observedAt.
func clientMerge(held, item map[string]any) map[string]any {
	out := map[string]any{}
	maps.Copy(out, held)
	newest, _ := out["lastSeen"].(string)
	for k, v := range item {
		switch k {
		case "values":
			vals := map[string]any{}
			if old, ok := out["values"].(map[string]any); ok {
				maps.Copy(vals, old)
			}
			for a, x := range v.(map[string]any) {
				vals[a] = x
				if at := x.(map[string]any)["observedAt"].(string); later(at, newest) {
					newest = at
				}
			}
			out[k] = vals
		case "lon", "lat":
			delete(out, "geometry")
			out[k] = v
		case "geometry":
			delete(out, "lon")
			delete(out, "lat")
			out[k] = v
		default:
			out[k] = v
		}
	}
	if _, ok := item["lastSeen"]; !ok {
		out["lastSeen"] = newest
	}
	return out
}

func later(a, b string) bool {
	ta, _ := time.Parse(time.RFC3339Nano, a)
	tb, _ := time.Parse(time.RFC3339Nano, b)
	return b == "" || ta.After(tb)
}
