package stream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/citytwin/citytwin/stream"
)

// reader reads a client's messages in the background and keeps the latest
// value of every sensor item.
type reader struct {
	mu     sync.Mutex
	latest map[string]int
	msgs   int
	err    error
	done   chan struct{}
}

func startReader(c *websocket.Conn) *reader {
	r := &reader{latest: map[string]int{}, done: make(chan struct{})}
	_ = c.SetReadDeadline(time.Time{}) // read's deadline is for one message
	go func() {
		defer close(r.done)
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return
			}
			var m msg
			if err := json.Unmarshal(data, &m); err != nil {
				panic(err)
			}
			r.mu.Lock()
			for id, v := range ids(m.Sensors) {
				r.latest[id] = v
			}
			r.msgs++
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *reader) has(want map[string]int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range want {
		if r.latest[k] != v {
			return false
		}
	}
	return true
}

func TestSlowClientDisconnected(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{FlushInterval: 5 * time.Millisecond, SendQueue: 8,
		MaxBehind: time.Second, CloseGrace: 5 * time.Second}, src, true)
	slow, fast := e.dial(t, nil), e.dial(t, nil)
	for _, c := range []*websocket.Conn{slow, fast} {
		send(t, c, `{"type":"subscribe","layers":["noise"]}`)
		read(t, c)
	}
	fr := startReader(fast)

	// Produce until the slow client, which does not read, is dropped.
	const keys = 4
	final := map[string]int{}
	for i := 0; ; i++ {
		for k := range keys {
			src.Set("noise", "default", fmt.Sprint("k", k), i, pt(9, 45), 16<<10)
			final[fmt.Sprint("k", k)] = i
		}
		if e.metric(t, "citytwin_stream_clients_dropped_total", "reason", stream.DropSlow) == 1 {
			break
		}
		if i > 20000 {
			t.Fatal("the slow client was never dropped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The slow client now reads: what was in flight, then the reason.
	ce := closeErr(t, slow)
	if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "client too slow: more than 1s behind") {
		t.Fatalf("slow client closed with %v, want 1008 and the reason", ce)
	}
	// The fast client got every change.
	waitFor(t, "the fast client to see the final values", func() bool { return fr.has(final) })
	if got := e.metric(t, "citytwin_stream_clients_dropped_total", "reason", stream.DropSlow); got != 1 {
		t.Fatalf("slow drops %v, want 1 (the fast client must stay)", got)
	}
	waitFor(t, "one client left", func() bool { return e.metric(t, "citytwin_stream_clients") == 1 })
	fast.Close()
	<-fr.done
}

func TestConflation(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{SendQueue: 1, MaxBehind: time.Hour}, src, false)
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise","air"]}`)
	first := read(t, c)

	// The client does not read while deltas of 256 KiB are flushed: the
	// socket buffers fill, the queue fills, the rest is conflated.
	want := map[string]int{}
	flushes := 0
	for i := 0; i < 40 || e.metric(t, "citytwin_stream_items_conflated_total") == 0; i++ {
		if i == 2000 {
			t.Fatal("nothing was conflated")
		}
		flushes++
		for k := range 4 {
			src.Set("noise", "default", fmt.Sprint("n", k), i, pt(9, 45), 64<<10)
			want[fmt.Sprint("n", k)] = i
		}
		if i == 5 {
			src.Set("air", "default", "a", i, pt(9, 45), 0) // once: must survive conflation
			want["a"] = i
		}
		e.hub.Flush()
	}
	for range 10 { // more while conflating
		flushes++
		for k := range 4 {
			src.Set("noise", "default", fmt.Sprint("n", k), flushes, pt(9, 45), 64<<10)
			want[fmt.Sprint("n", k)] = flushes
		}
		e.hub.Flush()
	}
	// The writer is blocked: every delta written from now on, the conflated
	// one too, is written 300 ms or more after its (earliest) flush.
	early := e.histogram(t, "citytwin_stream_delta_delay_seconds").GetSampleCount()
	time.Sleep(300 * time.Millisecond)
	got := map[string]int{}
	deltas := 0
	last := first.Seq
	for len(got) < len(want) || !equal(got, want) {
		m := read(t, c)
		if m.Type != "delta" || m.Seq <= last {
			t.Fatalf("message %s seq %d after seq %d", m.Type, m.Seq, last)
		}
		last = m.Seq
		deltas++
		for id, v := range ids(m.Sensors) {
			got[id] = v
		}
	}
	if deltas >= flushes {
		t.Fatalf("%d deltas for %d flushes: nothing was merged", deltas, flushes)
	}
	t.Logf("%d flushes reached the client as %d deltas", flushes, deltas)

	// Every delta written is timed from its (earliest) flush.
	var h *dto.Histogram
	waitFor(t, "a delay per delta written", func() bool {
		h = e.histogram(t, "citytwin_stream_delta_delay_seconds")
		return h.GetSampleCount() == uint64(deltas)
	})
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == 0.25 && b.GetCumulativeCount() > early {
			t.Fatalf("%d of the %d deltas written after the pause were timed under 250 ms: a delta's delay starts at its flush",
				b.GetCumulativeCount()-early, uint64(deltas)-early)
		}
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestConflationMergesPartialItems checks that the partial items of one
// sensor conflated for a lagging client keep every attribute: two patches
// with different attributes (and a third updating the first) become one
// item holding both, the latest value of each.
func TestConflationMergesPartialItems(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{SendQueue: 1, MaxBehind: time.Hour}, src, false)
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"]}`)
	read(t, c)
	src.SetJSON("noise", "default", "s1", `{"id":"s1","type":"T","values":{"a":{"value":0},"c":{"value":9}}}`, false)
	e.hub.Flush()

	// Clog the connection until deltas are conflated.
	for i := 0; e.metric(t, "citytwin_stream_items_conflated_total") == 0; i++ {
		if i == 2000 {
			t.Fatal("nothing was conflated")
		}
		src.Set("noise", "default", "pad", i, pt(9, 45), 64<<10)
		e.hub.Flush()
	}
	before := e.metric(t, "citytwin_stream_items_conflated_total")
	for _, p := range []string{
		`{"id":"s1","values":{"a":{"value":1}}}`,
		`{"id":"s1","stale":true,"values":{"b":{"value":2}}}`,
		`{"id":"s1","values":{"a":{"value":3}}}`,
	} {
		src.SetJSON("noise", "default", "s1", p, true)
		e.hub.Flush()
	}
	// s1's second and third patches merged into its first (the first may
	// have merged into an earlier complete item or stand alone).
	if got := e.metric(t, "citytwin_stream_items_conflated_total") - before; got < 2 {
		t.Fatalf("%v items conflated during the patches, want at least 2", got)
	}

	// Read until the last patch arrived; the client merges as the protocol
	// says: top-level members replace, values per attribute.
	type sensor struct {
		Type   string                     `json:"type"`
		Stale  bool                       `json:"stale"`
		Values map[string]json.RawMessage `json:"values"`
	}
	var held sensor
	sawBoth := false
	for string(held.Values["a"]) != `{"value":3}` {
		m := read(t, c)
		for _, raw := range m.Sensors {
			var id struct{ ID string }
			if err := json.Unmarshal(raw, &id); err != nil || id.ID != "s1" {
				continue
			}
			var p sensor
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if string(p.Values["a"]) == `{"value":3}` && string(p.Values["b"]) == `{"value":2}` {
				sawBoth = true
			}
			if held.Values == nil {
				held.Values = map[string]json.RawMessage{}
			}
			for k, v := range p.Values {
				held.Values[k] = v
			}
			if p.Type != "" {
				held.Type = p.Type
			}
			held.Stale = held.Stale || p.Stale
		}
	}
	if !sawBoth {
		t.Fatal("the conflated item of s1 does not hold both a=3 and b=2")
	}
	want := map[string]string{"a": `{"value":3}`, "b": `{"value":2}`, "c": `{"value":9}`}
	for k, v := range want {
		if string(held.Values[k]) != v {
			t.Errorf("client's s1 value %s = %s, want %s", k, held.Values[k], v)
		}
	}
	if held.Type != "T" || !held.Stale {
		t.Errorf("client's s1 type %q stale %v, want T and true", held.Type, held.Stale)
	}
}

// TestSendBufferKeepsSlowClientsFresh checks that what a client that stops
// reading has queued for it is bounded by the hub's small kernel send
// buffer (Config.SendBuffer): when it reads again it reaches the newest
// values after a few hundred kilobytes, not after the megabytes that
// autotuning would have queued (seconds of stale deltas on a slow link).
func TestSendBufferKeepsSlowClientsFresh(t *testing.T) {
	staleBytes := func(t *testing.T, sendBuffer int) int {
		src := newFakeSource()
		e := newEnv(t, stream.Config{FlushInterval: 5 * time.Millisecond, SendQueue: 1, MaxBehind: time.Hour, SendBuffer: sendBuffer}, src, true)
		// The client's own receive buffer is small and fixed, so that only
		// the server's side varies.
		d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(32 << 10)
			}
			return c, err
		}}
		c, _, err := d.Dial(e.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		send(t, c, `{"type":"subscribe","layers":["noise"]}`)
		read(t, c)
		// 16 KiB per flush for 1.5 s while the client does not read: ~5 MB.
		const keys = 4
		last := 0
		for i := 1; i <= 300; i++ {
			src.Set("noise", "default", fmt.Sprint("k", i%keys), i, pt(9, 45), 4<<10)
			last = i
			time.Sleep(5 * time.Millisecond)
		}
		// Read until the newest value arrives; count the bytes before it.
		n := 0
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("read after %d bytes: %v", n, err)
			}
			var m msg
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if ids(m.Sensors)[fmt.Sprint("k", last%keys)] == last {
				return n
			}
			n += len(data)
		}
	}
	small := staleBytes(t, 0) // the default, 64 KiB
	auto := staleBytes(t, -1)
	t.Logf("bytes read before the newest value: %d with the default send buffer, %d with the system's autotuning", small, auto)
	if small > 1<<20 {
		t.Fatalf("a client that stopped reading had %d bytes of old deltas queued before the newest value; want under 1 MiB with a 64 KiB send buffer", small)
	}
}
