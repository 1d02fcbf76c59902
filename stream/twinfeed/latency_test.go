package twinfeed_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/stream/streamtest"
	"github.com/citytwin/citytwin/twin"
)

var (
	latency         = flag.Bool("stream.latency", false, "run TestLatency: publish → receive latency with many real clients")
	latencyClients  = flag.Int("stream.clients", 1000, "TestLatency: WebSocket clients")
	latencyRate     = flag.Int("stream.rate", 10000, "TestLatency: observations per second")
	latencySensors  = flag.Int("stream.sensors", 1000, "TestLatency: distinct sensors placed on the demo city")
	latencyDuration = flag.Duration("stream.duration", 10*time.Second, "TestLatency: publishing time")
	latencyLayers   = flag.String("stream.layers", "noise,air,traffic,irrigation,generic,district,neighbourhood,road,greenarea,irrigationzone,alerts", "TestLatency: layers every client subscribes to")
	latencyBBox     = flag.String("stream.bbox", "", "TestLatency: bbox of every client, minLon,minLat,maxLon,maxLat (empty: the whole city)")
	latencyFlush    = flag.Duration("stream.flush", 200*time.Millisecond, "TestLatency: the hub's FlushInterval")
	latencyCompress = flag.Bool("stream.compress", false, "TestLatency: permessage-deflate (hub and clients)")
)

// TestLatency measures publish → client receive latency through the whole
// live path (State.Apply, Feed.Publish, the hub's flush, WebSocket, a real
// gorilla client) with every client subscribed to the whole city:
//
//	go test ./stream/twinfeed/ -run TestLatency -stream.latency -v
//	    [-stream.clients 1000 -stream.rate 10000 -stream.sensors 1000 -stream.duration 10s]
//
// Observations are published in batches every 50 ms, as the pipeline's
// Observe hook receives them; each carries its publish time in an attribute
// "probe". The latency includes the wait for the next flush (uniform over
// FlushInterval), so its floor is about FlushInterval/2 at the median.
func TestLatency(t *testing.T) {
	if !*latency {
		t.Skip("run with -stream.latency")
	}
	l := newLive(t, stream.Config{FlushInterval: *latencyFlush, Compression: *latencyCompress}, true)
	base := baseObservations(l.city, *latencySensors)

	layers := strings.Split(*latencyLayers, ",")
	sub := fmt.Sprintf(`{"type":"subscribe","tenant":%q,"layers":["%s"]`, fleetTenant, strings.Join(layers, `","`))
	if *latencyBBox != "" {
		sub += `,"bbox":[` + *latencyBBox + `]`
	}
	sub += "}"

	// Warm the state so that the snapshot holds every sensor.
	now := time.Now()
	for i := range base {
		base[i].Time = now
	}
	l.observe(base)

	next := 0
	publish := func(n int, stamp int64) {
		obs := make([]twin.Observation, n)
		t := time.UnixMicro(stamp).UTC()
		for j := range obs {
			o := base[next]
			next = (next + 1) % len(base)
			o.Time = t
			o.Attrs = append(append(make([]twin.Attr, 0, len(o.Attrs)+1), o.Attrs...),
				twin.Attr{Name: "probe", Kind: twin.KindNumber, Num: float64(stamp)})
			obs[j] = o
		}
		l.observe(obs)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := streamtest.Load(t.Context(), streamtest.LoadConfig{
		URL: l.url, Header: http.Header{}, Clients: *latencyClients, Subscribe: []byte(sub),
		Rate: *latencyRate, Duration: *latencyDuration, Marker: []byte(`"probe":{"value":`), Compression: *latencyCompress,
	}, publish)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	t.Logf("%d sensors, flush every %v, compression %v, layers %s", len(base), *latencyFlush, *latencyCompress, *latencyLayers)
	t.Logf("%s", res)
	t.Logf("hub: %v deltas and %v snapshots sent, %v items conflated, %v clients dropped as slow; GC cycles %d",
		metric(t, l, "citytwin_stream_messages_sent_total", "delta"), metric(t, l, "citytwin_stream_messages_sent_total", "snapshot"),
		metric(t, l, "citytwin_stream_items_conflated_total", ""), metric(t, l, "citytwin_stream_clients_dropped_total", stream.DropSlow),
		after.NumGC-before.NumGC)
}

func metric(t *testing.T, l *live, name, label string) float64 {
	t.Helper()
	mfs, err := l.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// baseObservations places n sensors on the city, as the simulator does:
// traffic sensors on road segments, noise and air sensors beside roads,
// soil probes in green areas; one observation each, linked to the city as
// ingest links it, with plausible values.
func baseObservations(city *geo.City, n int) []twin.Observation {
	rng := rand.New(rand.NewPCG(42, 42))
	roads := city.Features(geo.KindRoad)
	parks := city.Features(geo.KindGreenArea)
	num := func(name string, lo, hi float64) twin.Attr {
		return twin.Attr{Name: name, Kind: twin.KindNumber, Num: math.Round((lo+(hi-lo)*rng.Float64())*10) / 10}
	}
	out := make([]twin.Observation, n)
	for i := range out {
		road := roads[rng.IntN(len(roads))]
		var line orb.LineString
		switch g := road.Geometry.(type) {
		case orb.LineString:
			line = g
		case orb.MultiLineString:
			line = g[0]
		}
		o := twin.Observation{Tenant: fleetTenant, EntityID: fmt.Sprintf("urn:ngsi-ld:Sensor:%s-%d", fleetTenant, i)}
		var refs map[string]string
		switch i % 4 {
		case 0:
			o.EntityType, o.Location = "TrafficFlowObserved", orb.LineString{line[0], line[1]}
			refs = map[string]string{"refRoadSegment": road.ID}
			o.Attrs = []twin.Attr{num("intensity", 0, 300), num("averageVehicleSpeed", 5, 70), num("occupancy", 0, 1)}
		case 1:
			o.EntityType, o.Location = "NoiseLevelObserved", orb.Point{line[0][0] + 0.0001, line[0][1]}
			o.Attrs = []twin.Attr{num("LAeq", 45, 80), num("LAmax", 60, 95)}
		case 2:
			o.EntityType, o.Location = "AirQualityObserved", orb.Point{line[0][0], line[0][1] + 0.0001}
			o.Attrs = []twin.Attr{num("pm10", 5, 60), num("pm25", 2, 40), num("no2", 10, 150), num("o3", 20, 140)}
		default:
			park := parks[rng.IntN(len(parks))]
			o.EntityType, o.Location = "GreenspaceRecord", park.Geometry.Bound().Center()
			refs = map[string]string{"refGreenspace": park.ID}
			o.Attrs = []twin.Attr{num("soilMoistureVwc", 0.1, 0.35)}
		}
		o.EntityID = "urn:ngsi-ld:" + o.EntityType + ":" + fmt.Sprintf("%s-%d", fleetTenant, i)
		o.Domain, o.Refs = twin.DomainOf(o.EntityType), refs
		o.Links = city.Link(o.Location, refs, 50)
		out[i] = o
	}
	return out
}

const fleetTenant = "demo"
