package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/twin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeMsg records its acknowledgement in a shared log.
type fakeMsg struct {
	topic   string
	payload []byte
	id      int
	log     *ackLog
}

func (m *fakeMsg) Topic() string   { return m.topic }
func (m *fakeMsg) Payload() []byte { return m.payload }
func (m *fakeMsg) Ack()            { m.log.add(m.id) }

type ackLog struct {
	mu  sync.Mutex
	ids []int
}

func (l *ackLog) add(id int) { l.mu.Lock(); l.ids = append(l.ids, id); l.mu.Unlock() }
func (l *ackLog) get() []int { l.mu.Lock(); defer l.mu.Unlock(); return append([]int(nil), l.ids...) }

// fakeStore accepts or refuses writes and keeps accepted lines.
type fakeStore struct {
	mu    sync.Mutex
	down  bool
	lines map[string]int
	calls int
	// refuse makes a body containing this text fail with 400.
	refuse string
}

func (s *fakeStore) Write(_ context.Context, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.down {
		return &ingest.WriteError{Status: 0, Err: fmt.Errorf("connection refused")}
	}
	if s.refuse != "" && bytes.Contains(body, []byte(s.refuse)) {
		return &ingest.WriteError{Status: http.StatusBadRequest, Err: fmt.Errorf("field type conflict")}
	}
	if s.lines == nil {
		s.lines = map[string]int{}
	}
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		s.lines[l]++
	}
	return nil
}

func (s *fakeStore) setDown(d bool) { s.mu.Lock(); s.down = d; s.mu.Unlock() }
func (s *fakeStore) distinct() int  { s.mu.Lock(); defer s.mu.Unlock(); return len(s.lines) }

type fakeSink struct {
	mu     sync.Mutex
	topics []string
	bodies []string
}

func (s *fakeSink) PublishError(topic string, payload []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topics = append(s.topics, topic)
	s.bodies = append(s.bodies, string(payload))
	return true
}

func noise(id int, laeq float64) []byte {
	return fmt.Appendf(nil, `{"id":"urn:ngsi-ld:NoiseLevelObserved:n%d","type":"NoiseLevelObserved","dateObserved":"2026-01-15T10:00:%02d.%03dZ","LAeq":%g}`,
		id%10, (id/1000)%60, id%1000, laeq)
}

func start(t *testing.T, cfg ingest.Config, store ingest.Store, sink ingest.ErrorSink) (*ingest.Pipeline, *prometheus.Registry, func()) {
	t.Helper()
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir()
	}
	cfg.Now = func() time.Time { return time.Date(2026, 1, 15, 11, 0, 0, 0, time.UTC) }
	reg := prometheus.NewRegistry()
	p, err := ingest.New(cfg, ingest.NGSIDecoder{}, store, sink, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	return p, reg, func() {
		p.Stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAcksInOrderAfterStore(t *testing.T) {
	store := &fakeStore{}
	acks := &ackLog{}
	p, reg, stop := start(t, ingest.Config{BatchSize: 7, Writers: 3}, store, &fakeSink{})
	const n = 500
	for i := range n {
		p.Handle(&fakeMsg{topic: "ngsi/milano/noise/x", payload: noise(i, 50), id: i, log: acks})
	}
	waitFor(t, "all acks", func() bool { return len(acks.get()) == n })
	stop()
	for i, id := range acks.get() {
		if id != i {
			t.Fatalf("ack %d is message %d: acks must follow arrival order", i, id)
		}
	}
	if got := store.distinct(); got != n {
		t.Errorf("stored %d distinct points, want %d", got, n)
	}
	if got := testutil.ToFloat64(counter(t, reg, "citytwin_ingest_points_stored_total")); got != n {
		t.Errorf("points_stored_total = %v, want %d", got, n)
	}
}

func TestOutageSpoolsThenReplays(t *testing.T) {
	store := &fakeStore{}
	acks := &ackLog{}
	dir := t.TempDir()
	p, reg, stop := start(t, ingest.Config{BatchSize: 10, SpoolDir: dir}, store, &fakeSink{})
	store.setDown(true)
	for i := range 100 {
		p.Handle(&fakeMsg{topic: "ngsi/x", payload: noise(i, 60), id: i, log: acks})
	}
	// Every message is acknowledged although InfluxDB is down: its points are
	// in the spool.
	waitFor(t, "acks during outage", func() bool { return len(acks.get()) == 100 })
	if _, pts := p.SpoolDepth(); pts != 100 {
		t.Fatalf("spool holds %d points, want 100", pts)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.lp")); len(files) == 0 {
		t.Fatal("no spool files on disk")
	}
	store.setDown(false)
	waitFor(t, "replay", func() bool { _, pts := p.SpoolDepth(); return pts == 0 })
	// New data goes straight to the store again.
	for i := 100; i < 120; i++ {
		p.Handle(&fakeMsg{topic: "ngsi/x", payload: noise(i, 60), id: i, log: acks})
	}
	waitFor(t, "acks after recovery", func() bool { return len(acks.get()) == 120 })
	stop()
	if got := store.distinct(); got != 120 {
		t.Errorf("stored %d distinct points, want 120", got)
	}
	if got := testutil.ToFloat64(counter(t, reg, "citytwin_ingest_points_replayed_total")); got != 100 {
		t.Errorf("points_replayed_total = %v, want 100", got)
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	store := &fakeStore{}
	store.setDown(true)
	dir := t.TempDir()
	acks := &ackLog{}
	p, _, stop := start(t, ingest.Config{BatchSize: 5, SpoolDir: dir}, store, nil)
	for i := range 23 {
		p.Handle(&fakeMsg{topic: "ngsi/x", payload: noise(i, 60), id: i, log: acks})
	}
	waitFor(t, "acks", func() bool { return len(acks.get()) == 23 })
	stop()
	// A leftover temporary file from an interrupted write is discarded.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-00000000000000000099-1.lp"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	store.setDown(false)
	p2, _, stop2 := start(t, ingest.Config{SpoolDir: dir}, store, nil)
	waitFor(t, "replay after restart", func() bool { _, pts := p2.SpoolDepth(); return pts == 0 })
	stop2()
	if got := store.distinct(); got != 23 {
		t.Errorf("stored %d distinct points, want 23", got)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spool dir not empty after replay: %v", left)
	}
}

func TestRefusedMessageIsolated(t *testing.T) {
	store := &fakeStore{refuse: "LAeq=66.6"}
	sink := &fakeSink{}
	acks := &ackLog{}
	p, reg, stop := start(t, ingest.Config{BatchSize: 1000, FlushInterval: 20 * time.Millisecond}, store, sink)
	for i := range 64 {
		v := 50.0
		if i == 37 {
			v = 66.6
		}
		p.Handle(&fakeMsg{topic: "ngsi/milano/noise/s", payload: noise(i, v), id: i, log: acks})
	}
	waitFor(t, "acks", func() bool { return len(acks.get()) == 64 })
	stop()
	if got := store.distinct(); got != 63 {
		t.Errorf("stored %d points, want the 63 good ones", got)
	}
	if got := testutil.ToFloat64(counter(t, reg, "citytwin_ingest_points_store_rejected_total")); got != 1 {
		t.Errorf("points_store_rejected_total = %v, want 1", got)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.topics) != 1 || sink.topics[0] != "citytwin/errors/ngsi/milano/noise/s" {
		t.Fatalf("error notices on %v, want one on citytwin/errors/ngsi/milano/noise/s", sink.topics)
	}
	if !strings.Contains(sink.bodies[0], `"reason":"store_rejected"`) {
		t.Errorf("notice %s lacks the reason", sink.bodies[0])
	}
}

func TestBadInputAnsweredGoodDataKept(t *testing.T) {
	store := &fakeStore{}
	sink := &fakeSink{}
	acks := &ackLog{}
	p, reg, stop := start(t, ingest.Config{MaxPayload: 400}, store, sink)
	msgs := []struct {
		topic, payload, reason string
	}{
		{"ngsi/milano/a", `not json`, "not_json"},
		{"ngsi/milano/b", `{"id":"n1","type":"NoiseLevelObserved","LAeq":250}`, "out_of_range"},
		{"ngsi/milano/c", `[{"id":"n2","type":"NoiseLevelObserved","LAeq":55},{"type":"NoiseLevelObserved","LAeq":55}]`, "missing_id"},
		{"ngsi/milano/d", `{"id":"n3","type":"NoiseLevelObserved","LAeq":55,"dateObserved":"2027-01-01T00:00:00Z"}`, "future_time"},
		{"ngsi/mil ano/e", `{"id":"n4","type":"NoiseLevelObserved","LAeq":55}`, "bad_topic"},
		{"ngsi/milano/f", `{"id":"n5","type":"NoiseLevelObserved","LAeq":55,"x":"` + strings.Repeat("y", 400) + `"}`, "too_large"},
		{"ngsi/milano/g", `{"id":"n6","type":"NoiseLevelObserved","LAeq":"loud"}`, "bad_value"},
		{"ngsi/milano/h", `{"id":"n7","type":"Thing","v":1}`, ""},
		{"ngsi/milano/i", `{"id":"n8","type":"Thing","v":"one"}`, "type_conflict"},
	}
	for i, m := range msgs {
		p.Handle(&fakeMsg{topic: m.topic, payload: []byte(m.payload), id: i, log: acks})
	}
	waitFor(t, "acks", func() bool { return len(acks.get()) == len(msgs) })
	stop()
	// Stored: n2 from the mixed array and n7.
	if got := store.distinct(); got != 2 {
		t.Errorf("stored %d points, want 2 (the good entity of the array and the generic one)", got)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var want []string
	for _, m := range msgs {
		if m.reason != "" {
			want = append(want, m.reason)
		}
	}
	if len(sink.bodies) != len(want) {
		t.Fatalf("%d notices, want %d: %v", len(sink.bodies), len(want), sink.bodies)
	}
	for i, r := range want {
		if !strings.Contains(sink.bodies[i], `"reason":"`+r+`"`) {
			t.Errorf("notice %d = %s, want reason %s", i, sink.bodies[i], r)
		}
		if got := testutil.ToFloat64(counterWith(t, reg, "citytwin_ingest_rejected_total", "reason", r)); got < 1 {
			t.Errorf("rejected_total{reason=%q} = %v", r, got)
		}
	}
}

func TestStopLeavesLateMessagesUnacked(t *testing.T) {
	store := &fakeStore{}
	acks := &ackLog{}
	p, _, stop := start(t, ingest.Config{}, store, nil)
	p.Handle(&fakeMsg{topic: "ngsi/x", payload: noise(1, 50), id: 1, log: acks})
	stop()
	p.Handle(&fakeMsg{topic: "ngsi/x", payload: noise(2, 50), id: 2, log: acks})
	if got := acks.get(); len(got) != 1 || got[0] != 1 {
		t.Errorf("acks %v, want only the message handled before Stop", got)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	return counterWith(t, reg, name, "", "")
}

// counterWith finds a metric by name (and label) in a registry.
func counterWith(t *testing.T, reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					ok = true
				}
			}
			if ok {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				})
			}
		}
	}
	t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	return nil
}

func TestFullSpoolHoldsAcks(t *testing.T) {
	store := &fakeStore{}
	store.setDown(true)
	acks := &ackLog{}
	// Each batch of 5 noise lines is about 500 bytes: the cap fits a few.
	p, _, stop := start(t, ingest.Config{BatchSize: 5, SpoolMaxBytes: 1500, FlushInterval: 10 * time.Millisecond}, store, nil)
	for i := range 40 {
		p.Handle(&fakeMsg{topic: "ngsi/x", payload: noise(i, 60), id: i, log: acks})
	}
	// The acker follows the spool asynchronously: wait until it has caught
	// up with what is spooled, then check that nothing more is acknowledged
	// while the spool stays full.
	waitFor(t, "spooled messages acknowledged", func() bool {
		_, spooled := p.SpoolDepth()
		return spooled > 0 && int64(len(acks.get())) == spooled
	})
	time.Sleep(300 * time.Millisecond)
	_, spooled := p.SpoolDepth()
	if got := len(acks.get()); int64(got) != spooled || got >= 40 {
		t.Fatalf("%d messages acknowledged with %d points spooled and the spool full: only spooled messages may be acknowledged", got, spooled)
	}
	store.setDown(false)
	waitFor(t, "all acknowledged", func() bool { return len(acks.get()) == 40 })
	waitFor(t, "spool drained", func() bool { _, pts := p.SpoolDepth(); return pts == 0 })
	stop()
	if got := store.distinct(); got != 40 {
		t.Errorf("stored %d distinct points, want 40", got)
	}
}

// gatedStore holds every write until open is closed.
type gatedStore struct {
	fakeStore
	open chan struct{}
}

func (s *gatedStore) Write(ctx context.Context, body []byte) error {
	<-s.open
	return s.fakeStore.Write(ctx, body)
}

// TestLiveBeforeDurable: Live sees accepted readings while their write is
// still pending; Observe and the acks follow the write.
func TestLiveBeforeDurable(t *testing.T) {
	store := &gatedStore{open: make(chan struct{})}
	acks := &ackLog{}
	var mu sync.Mutex
	var live, observed []float64
	cfg := ingest.Config{
		Live: func(obs []twin.Observation) {
			mu.Lock()
			defer mu.Unlock()
			for _, o := range obs {
				live = append(live, o.Attrs[0].Num)
			}
		},
		Observe: func(obs []twin.Observation) {
			mu.Lock()
			defer mu.Unlock()
			for _, o := range obs {
				observed = append(observed, o.Attrs[0].Num)
			}
		},
	}
	p, _, stop := start(t, cfg, store, &fakeSink{})
	for i := range 3 {
		p.Handle(&fakeMsg{topic: "ngsi/milano/noise/x", payload: noise(i, float64(50+i)), id: i, log: acks})
	}
	p.Handle(&fakeMsg{topic: "ngsi/milano/noise/x", payload: []byte(`{"id":"bad","type":"NoiseLevelObserved","LAeq":-1}`), id: 3, log: acks})
	got := func() ([]float64, []float64) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(live), slices.Clone(observed)
	}
	waitFor(t, "the live readings", func() bool { l, _ := got(); return len(l) == 3 })
	time.Sleep(50 * time.Millisecond)
	if l, o := got(); !slices.Equal(l, []float64{50, 51, 52}) || len(o) != 0 || len(acks.get()) != 0 {
		t.Fatalf("while the write is pending: live %v, observed %v, acks %v; want the 3 good readings live, nothing observed or acknowledged", l, o, acks.get())
	}
	close(store.open)
	waitFor(t, "the acks", func() bool { return len(acks.get()) == 4 })
	stop()
	if _, o := got(); !slices.Equal(o, []float64{50, 51, 52}) {
		t.Fatalf("observed %v after the write, want 50 51 52", o)
	}
}
