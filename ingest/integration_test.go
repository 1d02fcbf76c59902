package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/sim"
)

// stack is a real Mosquitto and InfluxDB with a running pipeline.
type stack struct {
	mq     *testenv.Mosquitto
	db     *testenv.InfluxDB
	pipe   *ingest.Pipeline
	sub    *ingest.Subscriber
	cancel func()
}

func startStack(t *testing.T, opts ...func(*ingest.Config)) *stack {
	t.Helper()
	s := &stack{mq: testenv.StartMosquitto(t), db: testenv.StartInfluxDB(t)}
	influx, err := ingest.NewInflux(ingest.InfluxConfig{URL: s.db.URL, Token: s.db.Token, Bucket: s.db.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(influx.Close)
	if err := influx.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	var pipe *ingest.Pipeline
	sub, err := ingest.NewSubscriber(ingest.SubscriberConfig{URL: s.mq.URL, ClientID: "citytwin-test"},
		func(m ingest.Message) { pipe.Handle(m) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{SpoolDir: t.TempDir()}
	for _, o := range opts {
		o(&cfg)
	}
	pipe, err = ingest.New(cfg, ingest.NGSIDecoder{}, influx, sub, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.pipe, s.sub = pipe, sub
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = pipe.Run(context.Background()) })
	wg.Go(func() { _ = sub.Run(ctx) })
	sub.Connect()
	waitFor(t, "subscription", sub.Connected)
	var once sync.Once
	s.cancel = func() {
		once.Do(func() {
			pipe.Stop()
			cancel()
			wg.Wait()
			sub.Close()
		})
	}
	t.Cleanup(s.cancel)
	return s
}

func client(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, topic string, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// TestEveryShapeLands publishes every simulated sensor in every payload shape
// and checks measurement, tags, fields and time of each stored point.
func TestEveryShapeLands(t *testing.T) {
	s := startStack(t)
	fleet := sim.NewFleet(sim.FleetConfig{Count: 40, Tenant: "milano", Seed: 7})
	pub := client(t, s.mq.URL, "pub-shapes")
	rejections := subscribe(t, s.mq.URL, "citytwin/errors/#")
	t.Cleanup(func() {
		for _, e := range rejections.all() {
			t.Errorf("rejected: %s", e)
		}
	})
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	type want struct {
		typ    string
		at     time.Time
		values map[string]any
	}
	wants := map[string]want{} // by entity id + time
	n := 0
	for i, sensor := range fleet.Sensors() {
		for j, shape := range sim.Shapes {
			at := base.Add(time.Duration(i*len(sim.Shapes)+j) * time.Second)
			topic, payload := fleet.ReadingAs(i, at, shape)
			publish(t, pub, topic, payload)
			wants[sensor.ID+"@"+at.Format(time.RFC3339)] = want{sensor.Type, at, fleet.Values(i, at)}
			n++
		}
	}
	waitStored(t, s.db, "tenant = 'milano'", n)
	for _, typ := range []string{"NoiseLevelObserved", "AirQualityObserved", "TrafficFlowObserved", "GreenspaceRecord", "WeatherObserved"} {
		rows := s.db.Select(t, fmt.Sprintf(`SELECT * FROM %q WHERE tenant = 'milano'`, typ))
		if len(rows) == 0 {
			t.Errorf("no %s stored", typ)
		}
		for _, r := range rows {
			key := r.Tags["entity_id"] + "@" + r.Time.UTC().Format(time.RFC3339)
			w, ok := wants[key]
			if !ok {
				t.Errorf("unexpected point %s %v", key, r.Fields)
				continue
			}
			if r.Measurement != w.typ || r.Tags["tenant"] != "milano" || r.Tags["domain"] == "" {
				t.Errorf("%s: measurement %s tags %v", key, r.Measurement, r.Tags)
			}
			for name, v := range w.values {
				got, present := r.Fields[name]
				if !present {
					t.Errorf("%s: field %s missing (fields %v)", key, name, r.Fields)
					continue
				}
				if f, isNum := v.(float64); isNum {
					if g, _ := got.(float64); math.Abs(g-f) > 1e-9 {
						t.Errorf("%s: %s = %v, want %v", key, name, got, v)
					}
				} else if got != v {
					t.Errorf("%s: %s = %v, want %v", key, name, got, v)
				}
			}
		}
	}
}

// TestSmartDataModelsExamplesLand publishes every Smart Data Models example
// (third-party data read from ../shared/data, never copied here).
func TestSmartDataModelsExamplesLand(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), "..", "shared", "data", "smart-data-models")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Smart Data Models examples not present at %s: %v", dir, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "example*.json*"))
	s := startStack(t)
	pub := client(t, s.mq.URL, "pub-sdm")
	errs := subscribe(t, s.mq.URL, "citytwin/errors/#")
	published := 0
	for _, f := range files {
		if strings.Contains(f, "geojsonfeature") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		publish(t, pub, "ngsi/sdm/"+filepath.Base(filepath.Dir(f)), b)
		published++
	}
	types := map[string]bool{}
	for _, f := range files {
		if !strings.Contains(f, "geojsonfeature") {
			types[filepath.Base(filepath.Dir(f))] = true
		}
	}
	delete(types, "_shared")
	// Every example carries at least one storable value, so each type lands;
	// none is rejected.
	deadline := time.Now().Add(20 * time.Second)
	for typ := range types {
		for len(s.db.Select(t, fmt.Sprintf(`SELECT * FROM %q WHERE tenant = 'sdm'`, typ))) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Some examples carry no measured value at all (only geometry, dates and
	// relationships, e.g. FlowerBed, one GreenspaceRecord): they are answered
	// with no_values. Some examples disagree with each other on an attribute's
	// kind (leafWetness, precipitation: a boolean in one file, a number in
	// another); one InfluxDB field cannot hold both, so the later kind is
	// answered with type_conflict. Every other rejection is a decoder fault.
	empty := map[string]bool{}
	for _, e := range errs.all() {
		var n struct{ Topic, Reason string }
		_ = json.Unmarshal([]byte(e), &n)
		if n.Reason == "no_values" {
			empty[strings.TrimPrefix(n.Topic, "ngsi/sdm/")] = true
			continue
		}
		if n.Reason == "type_conflict" && (strings.Contains(e, `"field":"leafWetness"`) || strings.Contains(e, `"field":"precipitation"`)) {
			continue
		}
		t.Errorf("example rejected: %s", e)
	}
	for typ := range types {
		if empty[typ] && typ != "GreenspaceRecord" {
			continue
		}
		if rows := s.db.Select(t, fmt.Sprintf(`SELECT * FROM %q WHERE tenant = 'sdm'`, typ)); len(rows) == 0 {
			t.Errorf("no point stored for %s examples", typ)
		}
	}
	t.Logf("%d examples published", published)
}

// TestBadInputReachesSender checks the error topic and that good data in the
// same stream is stored.
func TestBadInputReachesSender(t *testing.T) {
	s := startStack(t)
	errs := subscribe(t, s.mq.URL, "citytwin/errors/ngsi/acme/#")
	pub := client(t, s.mq.URL, "pub-bad")
	now := time.Now().UTC().Truncate(time.Millisecond)
	good := func(i int) []byte {
		return fmt.Appendf(nil, `{"id":"urn:ngsi-ld:NoiseLevelObserved:g%d","type":"NoiseLevelObserved","dateObserved":%q,"LAeq":%d}`,
			i, now.Add(time.Duration(-i)*time.Second).Format(time.RFC3339Nano), 40+i)
	}
	bad := []struct{ payload, reason, field string }{
		{`{{{`, "not_json", ""},
		{`{"id":"urn:ngsi-ld:NoiseLevelObserved:b1","type":"NoiseLevelObserved","LAeq":-3}`, "out_of_range", "LAeq"},
		{`{"type":"NoiseLevelObserved","LAeq":50}`, "missing_id", "id"},
		{`{"id":"b2","type":"NoiseLevelObserved","LAeq":50,"location":{"type":"Point","coordinates":[200,45]}}`, "bad_coordinates", "location"},
		{`{"id":"b3","type":"NoiseLevelObserved","LAeq":50,"dateObserved":"` + now.Add(time.Hour).Format(time.RFC3339) + `"}`, "future_time", "dateObserved"},
	}
	for i, b := range bad {
		publish(t, pub, "ngsi/acme/noise/good", good(i))
		publish(t, pub, fmt.Sprintf("ngsi/acme/noise/bad%d", i), []byte(b.payload))
	}
	waitStored(t, s.db, "tenant = 'acme'", len(bad))
	waitFor(t, "error notices", func() bool { return len(errs.all()) >= len(bad) })
	got := errs.all()
	for i, b := range bad {
		var n struct{ Topic, Reason, Field, Rule, Error string }
		if err := json.Unmarshal([]byte(got[i]), &n); err != nil {
			t.Fatalf("notice %q: %v", got[i], err)
		}
		if n.Topic != fmt.Sprintf("ngsi/acme/noise/bad%d", i) || n.Reason != b.reason || n.Rule == "" || !strings.Contains(n.Field, b.field) {
			t.Errorf("notice %d = %+v, want reason %s field %s", i, n, b.reason, b.field)
		}
	}
}

func waitStored(t *testing.T, db *testenv.InfluxDB, where string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := countPoints(t, db, where)
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("stored %d points where %s, want %d", got, where, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countPoints counts distinct points (series × time) matching where.
func countPoints(t *testing.T, db *testenv.InfluxDB, where string) int {
	t.Helper()
	n := 0
	for _, typ := range []string{"NoiseLevelObserved", "AirQualityObserved", "TrafficFlowObserved", "GreenspaceRecord", "WeatherObserved"} {
		n += len(db.Select(t, fmt.Sprintf(`SELECT * FROM %q WHERE %s`, typ, where)))
	}
	return n
}

type collector struct {
	mu   sync.Mutex
	msgs []string
}

func (c *collector) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

func subscribe(t *testing.T, url, filter string) *collector {
	t.Helper()
	col := &collector{}
	c := client(t, url, "sub-"+strings.NewReplacer("/", "-", "#", "all").Replace(filter))
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		col.mu.Lock()
		col.msgs = append(col.msgs, string(m.Payload()))
		col.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return col
}

// TestAcksReachBroker proves the acknowledgements reach the broker: after
// the pipeline has stored every message and the session has closed, the same
// persistent session, resumed by another client, gets nothing redelivered.
func TestAcksReachBroker(t *testing.T) {
	s := startStack(t)
	pub := client(t, s.mq.URL, "pub-acks")
	now := time.Now().UTC().Add(-time.Minute)
	const n = 3000
	for i := range n {
		tok := pub.Publish("ngsi/acks/noise/x", 1, false, fmt.Appendf(nil,
			`{"id":"n%d","type":"NoiseLevelObserved","dateObserved":%q,"LAeq":50}`, i%20, now.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano)))
		if i%500 == 499 {
			tok.Wait()
		}
	}
	waitStored(t, s.db, "tenant = 'acks'", n)
	s.cancel() // drains, then disconnects the session "citytwin-test"

	var redelivered atomic.Int64
	c := paho.NewClient(paho.NewClientOptions().AddBroker(s.mq.URL).SetClientID("citytwin-test").
		SetCleanSession(false).SetDefaultPublishHandler(func(paho.Client, paho.Message) { redelivered.Add(1) }))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("resume session: %v", tok.Error())
	}
	defer c.Disconnect(100)
	time.Sleep(1500 * time.Millisecond)
	if got := redelivered.Load(); got != 0 {
		t.Errorf("broker redelivered %d of %d messages: their PUBACKs never arrived", got, n)
	}
}

// TestLinksBecomeTags: readings are linked to the demo city's features and
// the links are stored as tags; a payload reference wins over geometry, and
// a sensor that moves is linked again.
func TestLinksBecomeTags(t *testing.T) {
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, func(c *ingest.Config) { c.Linker = &ingest.CityLinker{City: city, RoadMetres: 50} })
	pub := client(t, s.mq.URL, "pub-links")
	roads := city.Features(geo.KindRoad)
	parks := city.Features(geo.KindGreenArea)
	onRoad := func(r *geo.Feature) orb.Point {
		l := r.Geometry.(orb.LineString)
		return orb.Point{(l[0][0] + l[len(l)-1][0]) / 2, (l[0][1] + l[len(l)-1][1]) / 2}
	}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	noise := func(p orb.Point, t time.Time) []byte {
		return fmt.Appendf(nil, `{"id":"n1","type":"NoiseLevelObserved","dateObserved":%q,"LAeq":60,"location":{"type":"Point","coordinates":[%f,%f]}}`,
			t.Format(time.RFC3339Nano), p[0], p[1])
	}
	p1, p2 := onRoad(roads[10]), onRoad(roads[len(roads)/2])
	publish(t, pub, "ngsi/links/noise/n1", noise(p1, at))
	publish(t, pub, "ngsi/links/noise/n1", noise(p2, at.Add(time.Second))) // the sensor moved
	// A soil probe somewhere else, whose payload names its park.
	publish(t, pub, "ngsi/links/irrigation/s1", fmt.Appendf(nil,
		`{"id":"s1","type":"GreenspaceRecord","dateObserved":%q,"soilMoistureVwc":0.25,"refGreenspace":"urn:ngsi-ld:Greenspace:%s","location":{"type":"Point","coordinates":[%f,%f]}}`,
		at.Format(time.RFC3339Nano), parks[3].ID, p1[0], p1[1]))
	waitStored(t, s.db, "tenant = 'links'", 3)

	rows := s.db.Select(t, `SELECT * FROM "NoiseLevelObserved" WHERE tenant = 'links' ORDER BY time`)
	if len(rows) != 2 {
		t.Fatalf("%d noise rows, want 2", len(rows))
	}
	for i, p := range []orb.Point{p1, p2} {
		want := city.Link(p, nil, 50)
		got := rows[i].Tags
		if got["district"] != want.District || got["neighbourhood"] != want.Neighbourhood || got["road"] != want.Road || want.Road == "" {
			t.Errorf("reading %d tags %v, want district %s neighbourhood %s road %s", i, got, want.District, want.Neighbourhood, want.Road)
		}
		if got["greenspace"] != "" {
			t.Errorf("a noise sensor got greenspace %s", got["greenspace"])
		}
	}
	if rows[0].Tags["road"] == rows[1].Tags["road"] {
		t.Errorf("the moved sensor kept road %s", rows[0].Tags["road"])
	}
	soil := s.db.Select(t, `SELECT * FROM "GreenspaceRecord" WHERE tenant = 'links'`)
	if len(soil) != 1 || soil[0].Tags["greenspace"] != parks[3].ID || soil[0].Tags["road"] != "" {
		t.Errorf("soil probe rows %+v, want greenspace %s from refGreenspace and no road", soil, parks[3].ID)
	}
}
