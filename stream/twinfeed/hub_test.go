package twinfeed_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/stream/twinfeed"
	"github.com/citytwin/citytwin/twin"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// The fuzzing engine's own goroutines may still be winding down at
		// exit: check for leaks in ordinary runs only.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// live is the serve wiring in miniature: State, Alerts, Feed and Hub behind
// an httptest server.
type live struct {
	city  *geo.City
	state *twin.State
	feed  *twinfeed.Feed
	hub   *stream.Hub
	reg   *prometheus.Registry
	url   string
}

func newLive(t testing.TB, cfg stream.Config, run bool) *live {
	t.Helper()
	l := &live{city: demoCity(t), reg: prometheus.NewRegistry()}
	l.state = twin.NewState(l.city, twin.StateConfig{})
	var err error
	if l.feed, err = twinfeed.New(twinfeed.Config{}, l.state, l.city, twin.NewAlerts(twin.AlertConfig{}), l.reg); err != nil {
		t.Fatal(err)
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Hour
	}
	if l.hub, err = stream.New(cfg, l.feed, l.reg, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.hub)
	l.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	var wg sync.WaitGroup
	if run {
		wg.Go(func() { _ = l.hub.Run(t.Context()) })
	}
	t.Cleanup(func() {
		l.hub.Close()
		wg.Wait()
		srv.Close()
	})
	return l
}

// observe is the pipeline's Observe hook.
func (l *live) observe(obs []twin.Observation) {
	l.state.Apply(obs)
	l.feed.Publish(obs)
}

func (l *live) dial(t testing.TB, subscribe string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(l.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WriteMessage(websocket.TextMessage, []byte(subscribe)); err != nil {
		t.Fatal(err)
	}
	return c
}

type wireMsg struct {
	Type     string            `json:"type"`
	Seq      uint64            `json:"seq"`
	Sensors  []json.RawMessage `json:"sensors"`
	Features []json.RawMessage `json:"features"`
	Alerts   []json.RawMessage `json:"alerts"`
}

func readWire(t testing.TB, c *websocket.Conn) wireMsg {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m wireMsg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStreamCoalescesBetweenTicks(t *testing.T) {
	l := newLive(t, stream.Config{}, false)
	c := l.dial(t, `{"type":"subscribe","layers":["noise","neighbourhood"]}`)
	snap := readWire(t, c)
	if snap.Type != "snapshot" || len(snap.Sensors) != 0 || len(snap.Features) != len(l.city.Features(geo.KindNeighbourhood)) {
		t.Fatalf("snapshot: %s with %d sensors and %d features", snap.Type, len(snap.Sensors), len(snap.Features))
	}
	p := centre(l.city)
	now := time.Now().Add(-time.Minute) // the hub judges staleness on the wall clock
	for i := range 10 {
		l.observe([]twin.Observation{noise(l.city, "n1", p, now.Add(time.Duration(i)*time.Second), 50+float64(i))})
	}
	l.hub.Flush()
	d := readWire(t, c)
	if d.Type != "delta" || len(d.Sensors) != 1 || len(d.Features) != 1 {
		t.Fatalf("delta %s with %d sensors and %d features, want one of each", d.Type, len(d.Sensors), len(d.Features))
	}
	var s sensorItem
	if err := json.Unmarshal(d.Sensors[0], &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != "n1" || s.Values["LAeq"].Value != 59.0 {
		t.Fatalf("sensor %+v, want n1 with the last LAeq 59", s)
	}
	var f featureItem
	if err := json.Unmarshal(d.Features[0], &f); err != nil {
		t.Fatal(err)
	}
	if f.Kind != "neighbourhood" || f.Indicators["LAeq"] != 59.0 {
		t.Fatalf("feature %+v", f)
	}
}

// TestSlowClientNeverSlowsPublish runs the live wiring at speed with one
// client that stops reading: it is disconnected, the fast client receives
// the final state, and Publish stays O(batch) throughout.
func TestSlowClientNeverSlowsPublish(t *testing.T) {
	l := newLive(t, stream.Config{FlushInterval: 20 * time.Millisecond, SendQueue: 8,
		MaxBehind: 2 * time.Second, CloseGrace: 5 * time.Second}, true)
	const sub = `{"type":"subscribe","layers":["noise","district","neighbourhood","road"]}`
	slow, fast := l.dial(t, sub), l.dial(t, sub)
	readWire(t, slow)
	readWire(t, fast)

	var mu sync.Mutex
	latest := map[string]float64{}
	fastDone := make(chan error, 1)
	_ = fast.SetReadDeadline(time.Time{}) // readWire's deadline is for one message
	go func() {
		for {
			_, data, err := fast.ReadMessage()
			if err != nil {
				fastDone <- err
				return
			}
			var m wireMsg
			if err := json.Unmarshal(data, &m); err != nil {
				fastDone <- err
				return
			}
			mu.Lock()
			for _, raw := range m.Sensors {
				var s struct {
					ID     string `json:"id"`
					Values struct {
						LAeq struct {
							Value float64 `json:"value"`
						} `json:"LAeq"`
					} `json:"values"`
				}
				_ = json.Unmarshal(raw, &s)
				latest[s.ID] = s.Values.LAeq.Value
			}
			mu.Unlock()
		}
	}()

	const sensors, batch = 2000, 500
	b := l.city.Bound()
	pts := make([]orb.Point, sensors)
	for i := range pts {
		pts[i] = orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*float64(i%50)/50, b.Min[1] + (b.Max[1]-b.Min[1])*float64(i/50)/40}
	}
	var worst time.Duration
	publishes := 0
	want := map[string]float64{}
	for round := 0; ; round++ {
		obs := make([]twin.Observation, batch)
		for j := range obs {
			k := (round*batch + j) % sensors
			v := float64(40 + (round+j)%60)
			obs[j] = noise(l.city, fmt.Sprint("s", k), pts[k], t0.Add(time.Duration(round)*time.Second), v)
			want[obs[j].EntityID] = v
		}
		l.state.Apply(obs)
		start := time.Now()
		l.feed.Publish(obs)
		worst = max(worst, time.Since(start))
		publishes++
		if dropped(t, l.reg, stream.DropSlow) == 1 {
			break
		}
		if round > 100000 {
			t.Fatal("the slow client was never dropped")
		}
		time.Sleep(2 * time.Millisecond)
	}
	var ce *websocket.CloseError
	for {
		_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := slow.ReadMessage(); err != nil {
			if !errors.As(err, &ce) {
				t.Fatalf("slow client: %v, want a close frame", err)
			}
			break
		}
	}
	if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "too slow") {
		t.Fatalf("slow client closed with %v", ce)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		ok := len(latest) == len(want)
		for id, v := range want {
			ok = ok && latest[id] == v
		}
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			missing, wrong := 0, 0
			for id, v := range want {
				if got, ok := latest[id]; !ok {
					missing++
				} else if got != v {
					wrong++
				}
			}
			mu.Unlock()
			var ferr error
			select {
			case ferr = <-fastDone:
			default:
			}
			t.Fatalf("the fast client did not receive the final state: %d sensors missing, %d with an older value; slow drops %v, fast client error %v",
				missing, wrong, dropped(t, l.reg, stream.DropSlow), ferr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fast.Close()
	<-fastDone
	t.Logf("%d publishes of %d observations while a client stalled; slowest Publish %v", publishes, batch, worst)
}

func dropped(t testing.TB, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "citytwin_stream_clients_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "reason" && lp.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
