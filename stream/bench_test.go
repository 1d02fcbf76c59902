package stream_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/citytwin/citytwin/stream"
)

// The fan-out benchmarks send one delta batch of 1,000 changed sensors to N
// clients over in-memory connections that discard what they receive (so
// that the kernel's copying, the same for every variant, does not drown
// the difference):
//
//	encode-once   the hub: each item encoded once per batch, one delta per
//	              distinct subscription, the same bytes to every client
//	distinct-bbox the hub with every client on its own bbox: one delta per
//	              client, assembled from the shared item encodings
//	naive         a per-client writer goroutine json.Marshals the batch for
//	              its client and writes it (the usual first implementation)
//
//	go test ./stream/ -run '^$' -bench Fanout -benchmem -count 5
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("clients=%d/encode-once", n), func(b *testing.B) { benchHub(b, n, false) })
		b.Run(fmt.Sprintf("clients=%d/distinct-bbox", n), func(b *testing.B) { benchHub(b, n, true) })
		b.Run(fmt.Sprintf("clients=%d/naive", n), func(b *testing.B) { benchNaive(b, n) })
	}
}

const benchItems = 1000

// sensorRecord is a sensor item as a Go value, shaped as twinfeed's.
type sensorRecord struct {
	ID       string                 `json:"id"`
	Type     string                 `json:"type"`
	Domain   string                 `json:"domain"`
	Lon      float64                `json:"lon"`
	Lat      float64                `json:"lat"`
	Stale    bool                   `json:"stale"`
	LastSeen time.Time              `json:"lastSeen"`
	Values   map[string]valueRecord `json:"values"`
	Links    map[string]string      `json:"links"`
}

type valueRecord struct {
	Value      float64   `json:"value"`
	UnitCode   string    `json:"unitCode,omitempty"`
	ObservedAt time.Time `json:"observedAt"`
}

type deltaRecord struct {
	Type     string            `json:"type"`
	Seq      uint64            `json:"seq"`
	Sensors  []sensorRecord    `json:"sensors"`
	Features []json.RawMessage `json:"features"`
	Alerts   []json.RawMessage `json:"alerts"`
}

func benchRecords() []sensorRecord {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]sensorRecord, benchItems)
	for i := range out {
		out[i] = sensorRecord{
			ID: fmt.Sprintf("urn:ngsi-ld:NoiseLevelObserved:demo-%d", i), Type: "NoiseLevelObserved", Domain: "noise",
			Lon: 9.10 + 0.16*rng.Float64(), Lat: 45.42 + 0.10*rng.Float64(), LastSeen: at,
			Values: map[string]valueRecord{
				"LAeq":  {Value: 40 + 40*rng.Float64(), UnitCode: "2N", ObservedAt: at},
				"LAmax": {Value: 60 + 40*rng.Float64(), UnitCode: "2N", ObservedAt: at},
			},
			Links: map[string]string{"district": fmt.Sprintf("d%d", i%9), "neighbourhood": fmt.Sprintf("n%02d", i%40), "road": fmt.Sprintf("r%04d", i)},
		}
	}
	return out
}

// benchSource returns the same 1,000 sensors as changed at every flush,
// encoding each once per call, as twinfeed does.
type benchSource struct{ recs []sensorRecord }

func (s *benchSource) Layers() []stream.Layer { return fakeLayers }

func (s *benchSource) Changes(dst []stream.Item, _ time.Time) []stream.Item {
	for i := range s.recs {
		r := &s.recs[i]
		js, _ := json.Marshal(r)
		dst = append(dst, stream.Item{Layer: "noise", Tenant: "default", Key: r.ID, Located: true,
			Bound: stream.Bound{r.Lon, r.Lat, r.Lon, r.Lat}, JSON: js})
	}
	return dst
}

func (s *benchSource) Snapshot(stream.Query, func(stream.Item)) {}

// sink is an in-memory server connection: reads yield the client's
// subscribe frame then block until Close; writes are parsed for frame
// boundaries and discarded.
type sink struct {
	in        []byte
	closed    chan struct{}
	closeOnce sync.Once
	onMessage func()

	mu        sync.Mutex
	handshake bool
	hdr       []byte // partial frame header
	remaining uint64 // payload bytes left in the current frame
	fin       bool
	data      bool
}

func newSink(subscribe string, onMessage func()) *sink {
	// A masked text frame with a zero mask key: the payload as is.
	frame := append([]byte{0x81, 0x80 | byte(len(subscribe)), 0, 0, 0, 0}, subscribe...)
	if len(subscribe) > 125 {
		panic("subscribe message too long for the benchmark's frame")
	}
	return &sink{in: frame, closed: make(chan struct{}), onMessage: onMessage}
}

func (s *sink) Read(p []byte) (int, error) {
	s.mu.Lock()
	if len(s.in) > 0 {
		n := copy(p, s.in)
		s.in = s.in[n:]
		s.mu.Unlock()
		return n, nil
	}
	s.mu.Unlock()
	<-s.closed
	return 0, net.ErrClosed
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.handshake { // the upgrader writes the 101 response in one call
		s.handshake = true
		return len(p), nil
	}
	n := len(p)
	for len(p) > 0 {
		if s.remaining > 0 {
			k := min(uint64(len(p)), s.remaining)
			s.remaining -= k
			p = p[k:]
			if s.remaining == 0 {
				s.frameDone()
			}
			continue
		}
		s.hdr = append(s.hdr, p[0])
		p = p[1:]
		if len(s.hdr) < 2 {
			continue
		}
		need := 2
		switch s.hdr[1] & 0x7f {
		case 126:
			need = 4
		case 127:
			need = 10
		}
		if len(s.hdr) < need {
			continue
		}
		var l uint64
		switch need {
		case 2:
			l = uint64(s.hdr[1] & 0x7f)
		default:
			for _, c := range s.hdr[2:need] {
				l = l<<8 | uint64(c)
			}
		}
		op := s.hdr[0] & 0x0f
		s.fin, s.data = s.hdr[0]&0x80 != 0, op <= 2
		s.hdr, s.remaining = s.hdr[:0], l
		if l == 0 {
			s.frameDone()
		}
	}
	return n, nil
}

func (s *sink) frameDone() {
	if s.fin && s.data {
		s.onMessage()
	}
}

func (s *sink) Close() error                     { s.closeOnce.Do(func() { close(s.closed) }); return nil }
func (s *sink) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *sink) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *sink) SetDeadline(time.Time) error      { return nil }
func (s *sink) SetReadDeadline(time.Time) error  { return nil }
func (s *sink) SetWriteDeadline(time.Time) error { return nil }

// hijacker is a ResponseWriter that hands its sink to the upgrader.
type hijacker struct {
	h    http.Header
	conn *sink
}

func (w *hijacker) Header() http.Header         { return w.h }
func (w *hijacker) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijacker) WriteHeader(int)             {}
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

func upgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

// counter counts delivered messages and signals when a target is reached.
type counter struct {
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func newCounter() *counter {
	c := &counter{done: make(chan struct{}, 1)}
	c.target.Store(-1)
	return c
}

func (c *counter) inc() {
	if c.n.Add(1) == c.target.Load() {
		c.done <- struct{}{}
	}
}

// wait blocks until n more messages than before have been delivered.
func (c *counter) expect(n int64) (wait func()) {
	t := c.n.Load() + n
	c.target.Store(t)
	return func() {
		if c.n.Load() >= t {
			select { // the signal may or may not have been sent
			case <-c.done:
			default:
			}
			return
		}
		<-c.done
	}
}

func benchHub(b *testing.B, n int, distinct bool) {
	src := &benchSource{recs: benchRecords()}
	hub, err := stream.New(stream.Config{FlushInterval: time.Hour, CloseGrace: 10 * time.Millisecond, SendQueue: 64}, src, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	cnt := newCounter()
	var wg sync.WaitGroup
	wait := cnt.expect(int64(n)) // the snapshots
	rng := rand.New(rand.NewPCG(3, 4))
	for range n {
		sub := `{"type":"subscribe","layers":["noise"]}`
		if distinct { // a box over about half the area, different per client
			lon, lat := 9.10+0.08*rng.Float64(), 45.42+0.05*rng.Float64()
			sub = fmt.Sprintf(`{"type":"subscribe","layers":["noise"],"bbox":[%.5f,%.5f,%.5f,%.5f]}`, lon, lat, lon+0.11, lat+0.07)
		}
		c := newSink(sub, cnt.inc)
		wg.Go(func() { hub.ServeHTTP(&hijacker{h: http.Header{}, conn: c}, upgradeRequest()) })
	}
	wait()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		wait := cnt.expect(int64(n))
		hub.Flush()
		wait()
	}
	b.StopTimer()
	hub.Close()
	wg.Wait()
}

func benchNaive(b *testing.B, n int) {
	recs := benchRecords()
	up := websocket.Upgrader{WriteBufferSize: 32 << 10, WriteBufferPool: &sync.Pool{}}
	cnt := newCounter()
	type conn struct {
		ws *websocket.Conn
		ch chan *deltaRecord
	}
	conns := make([]conn, n)
	var wg sync.WaitGroup
	for i := range conns {
		s := newSink(`{}`, cnt.inc)
		ws, err := up.Upgrade(&hijacker{h: http.Header{}, conn: s}, upgradeRequest(), nil)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = conn{ws, make(chan *deltaRecord, 16)}
		wg.Go(func() {
			for d := range conns[i].ch {
				data, _ := json.Marshal(d)
				_ = ws.WriteMessage(websocket.TextMessage, data)
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		wait := cnt.expect(int64(n))
		d := &deltaRecord{Type: "delta", Seq: uint64(i + 1), Sensors: recs, Features: []json.RawMessage{}, Alerts: []json.RawMessage{}}
		for _, c := range conns {
			c.ch <- d
		}
		wait()
	}
	b.StopTimer()
	for _, c := range conns {
		close(c.ch)
	}
	wg.Wait()
	for _, c := range conns {
		c.ws.Close()
	}
}
