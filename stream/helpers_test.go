package stream_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/citytwin/citytwin/stream"
)

// fakeSource is a Source over a map of items; Set records a change.
type fakeSource struct {
	mu      sync.Mutex
	items   map[string]stream.Item // by layer/tenant/key
	changed map[string]bool
	// afterSnapshot, if set, runs at the end of every Snapshot.
	afterSnapshot func()
}

func newFakeSource() *fakeSource {
	return &fakeSource{items: map[string]stream.Item{}, changed: map[string]bool{}}
}

var fakeLayers = []stream.Layer{
	{Name: "noise", Section: stream.SectionSensors, Merge: []string{"values"}},
	{Name: "air", Section: stream.SectionSensors},
	{Name: "district", Section: stream.SectionFeatures},
	{Name: "alerts", Section: stream.SectionAlerts},
}

func (s *fakeSource) Layers() []stream.Layer { return fakeLayers }

// Set stores an item whose JSON is {"id":key,"v":v,"pad":"…"}.
func (s *fakeSource) Set(layer, tenant, key string, v int, loc *stream.Bound, pad int) {
	it := stream.Item{Layer: layer, Tenant: tenant, Key: key}
	if loc != nil {
		it.Located, it.Bound = true, *loc
	}
	lon, lat := 0.0, 0.0
	if loc != nil {
		lon, lat = loc[0], loc[1]
	}
	it.JSON = fmt.Appendf(nil, `{"id":%q,"layer":%q,"v":%d,"located":%t,"lon":%g,"lat":%g,"pad":%q}`,
		key, layer, v, loc != nil, lon, lat, strings.Repeat("x", pad))
	k := layer + "/" + tenant + "/" + key
	s.mu.Lock()
	s.items[k] = it
	s.changed[k] = true
	s.mu.Unlock()
}

// SetJSON stores an item with the given encoding; partial marks a patch
// (the noise layer merges "values").
func (s *fakeSource) SetJSON(layer, tenant, key, json string, partial bool) {
	k := layer + "/" + tenant + "/" + key
	s.mu.Lock()
	s.items[k] = stream.Item{Layer: layer, Tenant: tenant, Key: key, Partial: partial, JSON: []byte(json)}
	s.changed[k] = true
	s.mu.Unlock()
}

func (s *fakeSource) Changes(dst []stream.Item, _ time.Time) []stream.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.changed {
		dst = append(dst, s.items[k])
	}
	clear(s.changed)
	return dst
}

// Snapshot emits every item, whatever q asks: the hub must filter.
func (s *fakeSource) Snapshot(_ stream.Query, emit func(stream.Item)) {
	s.mu.Lock()
	list := make([]stream.Item, 0, len(s.items))
	for _, it := range s.items {
		list = append(list, it)
	}
	s.mu.Unlock()
	for _, it := range list {
		emit(it)
	}
	if s.afterSnapshot != nil {
		s.afterSnapshot()
	}
}

func pt(lon, lat float64) *stream.Bound { return &stream.Bound{lon, lat, lon, lat} }

// env is a hub behind an httptest server.
type env struct {
	hub *stream.Hub
	srv *httptest.Server
	reg *prometheus.Registry
	url string
}

// newEnv starts a hub; its flush loop runs only if run is true (otherwise
// tests call Flush).
func newEnv(t *testing.T, cfg stream.Config, src stream.Source, run bool) *env {
	t.Helper()
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Hour
	}
	reg := prometheus.NewRegistry()
	hub, err := stream.New(cfg, src, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	e := &env{hub: hub, srv: srv, reg: reg, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	var wg sync.WaitGroup
	if run {
		wg.Go(func() { _ = hub.Run(t.Context()) })
	}
	t.Cleanup(func() {
		hub.Close()
		wg.Wait()
		srv.Close()
	})
	return e
}

func (e *env) dial(t *testing.T, h http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(e.url, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// metric returns the value of a counter or gauge, 0 if absent.
func (e *env) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// histogram returns a histogram without labels, empty if absent.
func (e *env) histogram(t *testing.T, name string) *dto.Histogram {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	return &dto.Histogram{}
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds or 10 s pass.
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

// msg is any server message.
type msg struct {
	Type     string            `json:"type"`
	Seq      uint64            `json:"seq"`
	Full     bool              `json:"full"`
	Tenant   string            `json:"tenant"`
	Layers   []string          `json:"layers"`
	BBox     []float64         `json:"bbox"`
	Sensors  []json.RawMessage `json:"sensors"`
	Features []json.RawMessage `json:"features"`
	Alerts   []json.RawMessage `json:"alerts"`
	Field    string            `json:"field"`
	Message  string            `json:"message"`
}

type item struct {
	ID string `json:"id"`
	V  int    `json:"v"`
}

// ids returns "id=v" of the items of a section, sorted by arrival.
func ids(raw []json.RawMessage) map[string]int {
	out := map[string]int{}
	for _, r := range raw {
		var it item
		if err := json.Unmarshal(r, &it); err != nil {
			panic(err)
		}
		out[it.ID] = it.V
	}
	return out
}

func read(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("message type %d, want text", typ)
	}
	var m msg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("message %s: %v", data, err)
	}
	if m.Type != "error" && (m.Sensors == nil || m.Features == nil || m.Alerts == nil) {
		t.Fatalf("message %s: sections missing", data)
	}
	return m
}

func send(t *testing.T, c *websocket.Conn, v string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

// closeErr reads until the connection ends and returns the close error.
func closeErr(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v, want a close frame", err)
		}
		return ce
	}
}
