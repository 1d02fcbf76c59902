package twinfeed_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/stream/twinfeed"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/web/ngsild"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func demoCity(t testing.TB) *geo.City {
	t.Helper()
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	return city
}

// noise returns an observation of a noise sensor at p, linked as ingest
// links it.
func noise(city *geo.City, id string, p orb.Point, tm time.Time, laeq float64) twin.Observation {
	return twin.Observation{Tenant: twin.DefaultTenant, EntityID: id, EntityType: "NoiseLevelObserved",
		Domain: twin.DomainNoise, Time: tm, Location: p, Links: city.Link(p, nil, 50),
		Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: laeq, Unit: "2N"}}}
}

// sensorItem is the part of a sensor item the tests look at.
type sensorItem struct {
	ID     string  `json:"id"`
	Type   string  `json:"type"`
	Domain string  `json:"domain"`
	Lon    float64 `json:"lon"`
	Lat    float64 `json:"lat"`
	Stale  bool    `json:"stale"`
	Values map[string]struct {
		Value      any       `json:"value"`
		UnitCode   string    `json:"unitCode"`
		ObservedAt time.Time `json:"observedAt"`
	} `json:"values"`
	Links map[string]string `json:"links"`
}

type featureItem struct {
	Kind       string         `json:"kind"`
	ID         string         `json:"id"`
	Indicators map[string]any `json:"indicators"`
}

// split decodes items by layer.
func split(t *testing.T, items []stream.Item) (sensors map[string]sensorItem, features map[string]featureItem, alerts []twin.Alert) {
	t.Helper()
	sensors, features = map[string]sensorItem{}, map[string]featureItem{}
	for _, it := range items {
		var err error
		switch it.Layer {
		case "noise", "air", "traffic", "irrigation", "generic":
			var s sensorItem
			err = json.Unmarshal(it.JSON, &s)
			if s.ID != it.Key {
				t.Fatalf("sensor item key %q, id %q", it.Key, s.ID)
			}
			if _, dup := sensors[s.ID]; dup {
				t.Fatalf("sensor %s twice", s.ID)
			}
			sensors[s.ID] = s
		case twinfeed.LayerAlerts:
			var a twin.Alert
			err = json.Unmarshal(it.JSON, &a)
			alerts = append(alerts, a)
		default:
			var f featureItem
			err = json.Unmarshal(it.JSON, &f)
			if f.Kind != it.Layer || f.ID != it.Key {
				t.Fatalf("feature item %s/%s holds %s/%s", it.Layer, it.Key, f.Kind, f.ID)
			}
			k := f.Kind + "/" + f.ID
			if _, dup := features[k]; dup {
				t.Fatalf("feature %s twice", k)
			}
			features[k] = f
		}
		if err != nil {
			t.Fatalf("item %s: %v", it.JSON, err)
		}
	}
	return sensors, features, alerts
}

func newFeed(t *testing.T, city *geo.City, cfg twinfeed.Config, sc twin.StateConfig, alerts *twin.Alerts) (*twinfeed.Feed, *twin.State, *prometheus.Registry) {
	t.Helper()
	state := twin.NewState(city, sc)
	reg := prometheus.NewRegistry()
	f, err := twinfeed.New(cfg, state, city, alerts, reg)
	if err != nil {
		t.Fatal(err)
	}
	return f, state, reg
}

func centre(city *geo.City) orb.Point { return city.Bound().Center() }

func TestChangesCoalesceAndTouchFeatures(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	p := centre(city)
	for i := range 10 {
		obs := []twin.Observation{noise(city, "n1", p, t0.Add(time.Duration(i)*time.Second), 50+float64(i))}
		state.Apply(obs)
		f.Publish(obs)
	}
	items := f.Changes(nil, t0.Add(10*time.Second))
	sensors, features, _ := split(t, items)
	if len(sensors) != 1 {
		t.Fatalf("%d sensor items, want 1", len(sensors))
	}
	s := sensors["n1"]
	if v := s.Values["LAeq"]; v.Value != 59.0 || v.UnitCode != "2N" || !v.ObservedAt.Equal(t0.Add(9*time.Second)) {
		t.Fatalf("LAeq %+v, want the last value 59 at +9s", v)
	}
	if s.Type != "NoiseLevelObserved" || s.Domain != "noise" || s.Lon != p[0] || s.Stale {
		t.Fatalf("sensor item %+v", s)
	}
	links := city.Link(p, nil, 50)
	want := map[string]string{"district": links.District, "neighbourhood": links.Neighbourhood}
	if links.Road != "" {
		want["road"] = links.Road
	}
	for k, v := range want {
		if s.Links[k] != v {
			t.Fatalf("links %v, want %v", s.Links, want)
		}
		f, ok := features[k+"/"+v]
		if !ok {
			t.Fatalf("feature %s/%s not recomputed (features %v)", k, v, features)
		}
		if f.Indicators["LAeq"] != 59.0 || f.Indicators["sensorCount"] != 1.0 {
			t.Fatalf("%s indicators %v", k, f.Indicators)
		}
	}
	if len(features) != len(want) {
		t.Fatalf("features %v, want only the linked ones %v", features, want)
	}
	// Items carry their bounds: the sensor's point, the feature's box.
	for _, it := range items {
		if !it.Located {
			t.Fatalf("item %s/%s without bound", it.Layer, it.Key)
		}
	}
	if items := f.Changes(nil, t0.Add(11*time.Second)); len(items) != 0 {
		t.Fatalf("%d items without changes", len(items))
	}
}

func TestCoalescedMetricAndResync(t *testing.T) {
	city := demoCity(t)
	f, state, reg := newFeed(t, city, twinfeed.Config{MaxPending: 2, StaleSweep: -1}, twin.StateConfig{}, nil)
	p := centre(city)
	obs := []twin.Observation{noise(city, "a", p, t0, 50), noise(city, "a", p, t0.Add(time.Second), 51), noise(city, "b", p, t0, 50)}
	state.Apply(obs)
	f.Publish(obs)
	sensors, _, _ := split(t, f.Changes(nil, t0))
	if len(sensors) != 2 {
		t.Fatalf("%d sensors", len(sensors))
	}
	if got := counter(t, reg, "citytwin_stream_updates_coalesced_total"); got != 1 {
		t.Fatalf("coalesced %v, want 1", got)
	}
	// A third distinct sensor overflows MaxPending: the next flush resends
	// everything, the new sensor included.
	obs = []twin.Observation{noise(city, "a", p, t0.Add(2*time.Second), 52), noise(city, "b", p, t0.Add(2*time.Second), 52), noise(city, "c", p, t0, 50)}
	state.Apply(obs)
	f.Publish(obs)
	sensors, features, _ := split(t, f.Changes(nil, t0.Add(3*time.Second)))
	if len(sensors) != 3 || len(features) < len(city.Features(geo.KindDistrict)) {
		t.Fatalf("resync: %d sensors %d features", len(sensors), len(features))
	}
	if got := counter(t, reg, "citytwin_stream_resyncs_total"); got != 1 {
		t.Fatalf("resyncs %v", got)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestMovedSensorRecomputesOldFeatures(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	hoods := city.Features(geo.KindNeighbourhood)
	var a, b orb.Point
	var ha, hb string
	for _, h := range hoods {
		c := h.Geometry.Bound().Center()
		if in := city.Containing(geo.KindNeighbourhood, c); in == nil || in.ID != h.ID {
			continue
		}
		if ha == "" {
			a, ha = c, h.ID
		} else if h.ID != ha {
			b, hb = c, h.ID
			break
		}
	}
	if hb == "" {
		t.Fatal("no two neighbourhoods containing their centres")
	}
	obs := []twin.Observation{noise(city, "n", a, t0, 60)}
	state.Apply(obs)
	f.Publish(obs)
	f.Changes(nil, t0)
	obs = []twin.Observation{noise(city, "n", b, t0.Add(time.Second), 60)}
	state.Apply(obs)
	f.Publish(obs)
	_, features, _ := split(t, f.Changes(nil, t0.Add(time.Second)))
	old, nw := features["neighbourhood/"+ha], features["neighbourhood/"+hb]
	if old.Indicators["sensorCount"] != 0.0 || nw.Indicators["sensorCount"] != 1.0 {
		t.Fatalf("after the move: old %v new %v", old.Indicators, nw.Indicators)
	}
}

func TestStaleSweep(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: 10 * time.Second}, twin.StateConfig{MinStale: time.Minute}, nil)
	p := centre(city)
	obs := []twin.Observation{noise(city, "n", p, t0, 60)}
	state.Apply(obs)
	f.Publish(obs)
	if s, _, _ := split(t, f.Changes(nil, t0.Add(time.Second))); s["n"].Stale {
		t.Fatal("stale at once")
	}
	// Silent for two minutes: the sweep reports it stale, with its features.
	sensors, features, _ := split(t, f.Changes(nil, t0.Add(2*time.Minute)))
	if !sensors["n"].Stale || len(features) == 0 {
		t.Fatalf("sweep: sensors %v features %d", sensors, len(features))
	}
	for k, ft := range features {
		if ft.Indicators["staleSensorCount"] != 1.0 || ft.Indicators["sensorCount"] != 0.0 {
			t.Fatalf("%s indicators %v", k, ft.Indicators)
		}
	}
	// Nothing changed since: the next sweeps send nothing.
	if items := f.Changes(nil, t0.Add(3*time.Minute)); len(items) != 0 {
		t.Fatalf("%d items from a sweep without changes", len(items))
	}
}

func TestAlertItems(t *testing.T) {
	city := demoCity(t)
	alerts := twin.NewAlerts(twin.AlertConfig{})
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, alerts)
	p := centre(city)
	obs := []twin.Observation{noise(city, "n", p, t0, 90)}
	state.Apply(obs)
	f.Publish(obs)
	changed := alerts.Apply(obs)
	if len(changed) != 1 {
		t.Fatalf("%d alerts opened", len(changed))
	}
	f.PublishAlerts(changed)
	items := f.Changes(nil, t0)
	_, _, got := split(t, items)
	if len(got) != 1 || got[0].ID != changed[0].ID || !got[0].Open || got[0].Tenant != twin.DefaultTenant {
		t.Fatalf("alert items %+v", got)
	}
	for _, it := range items {
		if it.Layer == twinfeed.LayerAlerts && (!it.Located || it.Tenant != twin.DefaultTenant || it.Key != changed[0].ID) {
			t.Fatalf("alert item %+v", it)
		}
	}
	// The snapshot has the open alert for its tenant only.
	var snap []stream.Item
	f.Snapshot(stream.Query{Tenant: twin.DefaultTenant, Layers: []string{"alerts"}, Now: t0}, func(it stream.Item) { snap = append(snap, it) })
	if _, _, a := split(t, snap); len(a) != 1 || a[0].ID != changed[0].ID {
		t.Fatalf("alert snapshot %+v", a)
	}
	snap = nil
	f.Snapshot(stream.Query{Tenant: "other", Layers: []string{"alerts", "noise"}, Now: t0}, func(it stream.Item) { snap = append(snap, it) })
	if len(snap) != 0 {
		t.Fatalf("another tenant's snapshot has %d items", len(snap))
	}
}

func TestSnapshotBBox(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	b := city.Bound()
	west := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*0.25, b.Center()[1]}
	east := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*0.75, b.Center()[1]}
	state.Apply([]twin.Observation{noise(city, "w", west, t0, 60), noise(city, "e", east, t0, 60)})
	box := stream.Bound{b.Min[0], b.Min[1], b.Center()[0], b.Max[1]}
	var items []stream.Item
	f.Snapshot(stream.Query{Tenant: twin.DefaultTenant, Layers: []string{"noise", "district"}, BBox: &box, Now: t0},
		func(it stream.Item) { items = append(items, it) })
	sensors, features, _ := split(t, items)
	if _, ok := sensors["w"]; !ok || len(sensors) != 1 {
		t.Fatalf("bbox snapshot sensors %v, want w only", sensors)
	}
	for _, it := range items {
		if !it.Located || !it.Bound.Meets(box) {
			t.Fatalf("item %s/%s outside the bbox", it.Layer, it.Key)
		}
	}
	if len(features) == 0 || len(features) == len(city.Features(geo.KindDistrict)) {
		t.Fatalf("%d of %d districts in the west half", len(features), len(city.Features(geo.KindDistrict)))
	}
	// Without a bbox every district comes, with or without sensors.
	items = nil
	f.Snapshot(stream.Query{Tenant: twin.DefaultTenant, Layers: []string{"district"}, Now: t0},
		func(it stream.Item) { items = append(items, it) })
	if len(items) != len(city.Features(geo.KindDistrict)) {
		t.Fatalf("%d district items, want %d", len(items), len(city.Features(geo.KindDistrict)))
	}
}

// TestIndicatorNamesMatchNGSILD checks the promise of the protocol: a
// feature item's indicators are its NGSI-LD entity's attributes.
func TestIndicatorNamesMatchNGSILD(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	now := time.Now().UTC().Truncate(time.Second)
	p := centre(city)
	links := city.Link(p, nil, 50)
	obs := []twin.Observation{
		noise(city, "n", p, now, 61),
		{Tenant: twin.DefaultTenant, EntityID: "a", EntityType: "AirQualityObserved", Domain: twin.DomainAir, Time: now,
			Location: p, Links: links, Attrs: []twin.Attr{{Name: "pm10", Kind: twin.KindNumber, Num: 30}, {Name: "no2", Kind: twin.KindNumber, Num: 80}}},
		{Tenant: twin.DefaultTenant, EntityID: "s", EntityType: "GreenspaceRecord", Domain: twin.DomainIrrigation, Time: now,
			Location: p, Links: links, Attrs: []twin.Attr{{Name: "soilMoistureVwc", Kind: twin.KindNumber, Num: 0.15}}},
		{Tenant: twin.DefaultTenant, EntityID: "t", EntityType: "TrafficFlowObserved", Domain: twin.DomainTraffic, Time: now,
			Location: p, Links: links, Attrs: []twin.Attr{{Name: "intensity", Kind: twin.KindNumber, Num: 120},
				{Name: "averageVehicleSpeed", Kind: twin.KindNumber, Num: 30}, {Name: "occupancy", Kind: twin.KindNumber, Num: 0.4}}},
	}
	// An earlier count gives the traffic sensor's flow its period.
	earlier := obs[3]
	earlier.Time = now.Add(-5 * time.Minute)
	state.Apply([]twin.Observation{earlier})
	state.Apply(obs)
	f.Publish(obs)
	_, features, _ := split(t, f.Changes(nil, now))
	ft, ok := features["neighbourhood/"+links.Neighbourhood]
	if !ok {
		t.Fatal("neighbourhood not in the changes")
	}

	mux := http.NewServeMux()
	(&ngsild.Handler{State: state, City: city, Now: func() time.Time { return now }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	id := ngsild.FeatureID(geo.KindNeighbourhood, links.Neighbourhood)
	resp, err := http.Get(srv.URL + "/ngsi-ld/v1/entities/" + url.PathEscape(id) + "?options=keyValues")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var entity map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&entity); err != nil || resp.StatusCode != 200 {
		t.Fatalf("NGSI-LD entity: HTTP %d %v", resp.StatusCode, err)
	}
	static := map[string]bool{"id": true, "type": true, "@context": true, "location": true, "name": true,
		"adminLevel": true, "refDistrict": true}
	for k, v := range entity {
		if static[k] {
			continue
		}
		if got, ok := ft.Indicators[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("NGSI-LD %s = %v, stream has %v (present %v)", k, v, got, ok)
		}
	}
	for k := range ft.Indicators {
		if _, ok := entity[k]; !ok {
			t.Errorf("stream indicator %s is not an NGSI-LD attribute", k)
		}
	}
	if len(ft.Indicators) < 12 {
		t.Fatalf("only %d indicators: %v", len(ft.Indicators), ft.Indicators)
	}
}

func TestPublishIgnoresNothingAndNeverTouchesState(t *testing.T) {
	// Publish before Apply (or for a sensor the state dropped) is harmless:
	// Changes skips sensors the state does not know.
	city := demoCity(t)
	f, _, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	f.Publish([]twin.Observation{noise(city, "ghost", centre(city), t0, 60)})
	if items := f.Changes(nil, t0); len(items) != 0 {
		t.Fatalf("%d items for an unknown sensor", len(items))
	}
}

// TestDiscardForgetsWhatWasSent: after a discard (no client connected) the
// next item of a sensor is complete, since a new client holds only its
// snapshot.
func TestDiscardForgetsWhatWasSent(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1}, twin.StateConfig{}, nil)
	p := centre(city)
	apply := func(i int, v float64) {
		obs := []twin.Observation{noise(city, "n1", p, t0.Add(time.Duration(i)*time.Second), v)}
		state.Apply(obs)
		f.Publish(obs)
	}
	apply(0, 50)
	f.Changes(nil, t0.Add(time.Second))
	apply(1, 51)
	if s, _, _ := split(t, f.Changes(nil, t0.Add(2*time.Second))); s["n1"].Type != "" {
		t.Fatalf("second item %+v: want a partial item (no type)", s["n1"])
	}
	apply(2, 52)
	f.Discard(t0.Add(3 * time.Second))
	if items := f.Changes(nil, t0.Add(4*time.Second)); len(items) != 0 {
		t.Fatalf("%d items after a discard without changes, want none", len(items))
	}
	apply(3, 53)
	s, _, _ := split(t, f.Changes(nil, t0.Add(5*time.Second)))
	if s["n1"].Type != "NoiseLevelObserved" || s["n1"].Values["LAeq"].Value != 53.0 {
		t.Fatalf("item after a discard %+v: want a complete item with 53", s["n1"])
	}
}

func TestFeatureInterval(t *testing.T) {
	city := demoCity(t)
	f, state, _ := newFeed(t, city, twinfeed.Config{StaleSweep: -1, FeatureInterval: time.Second}, twin.StateConfig{}, nil)
	p := centre(city)
	district := "district/" + city.Link(p, nil, 50).District
	publish := func(at time.Duration, laeq float64) {
		obs := []twin.Observation{noise(city, "n1", p, t0.Add(at), laeq)}
		state.Apply(obs)
		f.Publish(obs)
	}
	step := func(at time.Duration) (map[string]sensorItem, map[string]featureItem) {
		s, feats, _ := split(t, f.Changes(nil, t0.Add(at)))
		return s, feats
	}

	// The first change goes out with its features at once.
	publish(0, 50)
	if s, feats := step(100 * time.Millisecond); len(s) != 1 || feats[district].Indicators["LAeq"] != 50.0 {
		t.Fatalf("first flush: sensors %v, %s %v", s, district, feats[district])
	}
	// Within the interval: the sensor, not its features.
	publish(200*time.Millisecond, 60)
	if s, feats := step(300 * time.Millisecond); s["n1"].Values["LAeq"].Value != 60.0 || len(feats) != 0 {
		t.Fatalf("within the interval: sensors %v, features %v, want the sensor only", s, feats)
	}
	publish(400*time.Millisecond, 70)
	step(500 * time.Millisecond)
	if s, feats := step(900 * time.Millisecond); len(s)+len(feats) != 0 {
		t.Fatalf("nothing new within the interval: sensors %v, features %v", s, feats)
	}
	// Once it has passed, the touched features with what they are now.
	if _, feats := step(1100 * time.Millisecond); feats[district].Indicators["LAeq"] != 70.0 {
		t.Fatalf("after the interval: %s %v, want LAeq 70", district, feats[district])
	}
	if s, feats := step(2200 * time.Millisecond); len(s)+len(feats) != 0 {
		t.Fatalf("features sent twice: sensors %v, features %v", s, feats)
	}
}
