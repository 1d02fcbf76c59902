package stream_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/citytwin/citytwin/stream"
)

// model is what a client holds, built only from the messages it receives,
// applying the rules of the protocol.
type model struct {
	layers  []string
	bbox    []float64
	items   map[string]fullItem // by layer/id
	lastSeq uint64
}

type fullItem struct {
	ID      string  `json:"id"`
	Layer   string  `json:"layer"`
	V       int     `json:"v"`
	Located bool    `json:"located"`
	Lon     float64 `json:"lon"`
	Lat     float64 `json:"lat"`
}

func (m *model) inside(it fullItem) bool {
	if !slices.Contains(m.layers, it.Layer) {
		return false
	}
	return m.bbox == nil || (it.Located && it.Lon >= m.bbox[0] && it.Lon <= m.bbox[2] && it.Lat >= m.bbox[1] && it.Lat <= m.bbox[3])
}

func (m *model) apply(data []byte) error {
	var msg msg
	if err := json.Unmarshal(data, &msg); err != nil {
		return err
	}
	if msg.Type == "snapshot" {
		m.layers, m.bbox = msg.Layers, msg.BBox
		if msg.Full {
			m.items = map[string]fullItem{}
		}
		for k, it := range m.items {
			if !m.inside(it) {
				delete(m.items, k)
			}
		}
	} else if msg.Seq <= m.lastSeq {
		return fmt.Errorf("delta seq %d after %d", msg.Seq, m.lastSeq)
	}
	m.lastSeq = msg.Seq
	for _, sec := range [][]json.RawMessage{msg.Sensors, msg.Features, msg.Alerts} {
		for _, raw := range sec {
			var it fullItem
			if err := json.Unmarshal(raw, &it); err != nil {
				return err
			}
			if !m.inside(it) {
				return fmt.Errorf("%s message has %s/%s outside the subscription %v %v", msg.Type, it.Layer, it.ID, m.layers, m.bbox)
			}
			m.items[it.Layer+"/"+it.ID] = it
		}
	}
	return nil
}

// TestChurnConverges subscribes and resubscribes clients at random moments
// while items change and the hub flushes every few milliseconds. Once the
// changes stop, every client's model, built from its snapshots and deltas
// alone, must equal the source's state within its subscription: no change
// lost between a snapshot and the following deltas, no delta of an old
// subscription after a new snapshot.
func TestChurnConverges(t *testing.T) {
	src := newFakeSource()
	layers := []string{"noise", "air", "district"}
	const keys = 60
	loc := func(k int) *stream.Bound { return pt(9+float64(k%10)*0.01, 45+float64(k/10)*0.01) }
	for k := range keys {
		src.Set(layers[k%3], "default", fmt.Sprint("k", k), 0, loc(k), 0)
	}
	e := newEnv(t, stream.Config{FlushInterval: 2 * time.Millisecond}, src, true)

	var stop atomic.Bool
	var values [keys]atomic.Int64
	var pub sync.WaitGroup
	pub.Go(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		// Few changes (about 3 per key), so that a lost one is rarely
		// repaired by a later change of the same key.
		for i := 1; !stop.Load(); i++ {
			k := rng.IntN(keys)
			values[k].Store(int64(i))
			src.Set(layers[k%3], "default", fmt.Sprint("k", k), i, loc(k), 0)
			time.Sleep(time.Duration(rng.IntN(8000)) * time.Microsecond)
		}
	})

	subs := []string{
		`{"type":"subscribe","layers":["noise","air","district"]}`,
		`{"type":"subscribe","layers":["noise"],"bbox":[9,45,9.05,45.03]}`,
		`{"type":"subscribe","layers":["noise","district"],"bbox":[9.02,45.01,9.09,45.05]}`,
		`{"type":"subscribe","layers":["air"]}`,
		`{"type":"subscribe","layers":[]}`,
		`{"type":"subscribe","layers":["district","air"],"bbox":[9,45,9.1,45.1]}`,
	}
	const clients = 12
	models := make([]*model, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	var conns []*websocket.Conn
	var mu sync.Mutex
	for i := range clients {
		models[i] = &model{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			c, _, err := websocket.DefaultDialer.Dial(e.url, nil)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			var readers sync.WaitGroup
			readers.Go(func() {
				for {
					_, data, err := c.ReadMessage()
					if err != nil {
						return
					}
					mu.Lock()
					err = models[i].apply(data)
					mu.Unlock()
					if err != nil {
						errs <- fmt.Errorf("client %d: %w", i, err)
						return
					}
				}
			})
			for range 1 + rng.IntN(4) {
				_ = c.WriteMessage(websocket.TextMessage, []byte(subs[rng.IntN(len(subs))]))
				time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			}
			readers.Wait()
		})
	}
	time.Sleep(800 * time.Millisecond)
	stop.Store(true)
	pub.Wait()

	converged := func() error {
		mu.Lock()
		defer mu.Unlock()
		for i, m := range models {
			if m.items == nil {
				return fmt.Errorf("client %d has no snapshot yet", i)
			}
			want := map[string]int{}
			for k := range keys {
				it := fullItem{ID: fmt.Sprint("k", k), Layer: layers[k%3], Located: true, Lon: loc(k)[0], Lat: loc(k)[1]}
				if m.inside(it) {
					want[it.Layer+"/"+it.ID] = int(values[k].Load())
				}
			}
			if len(want) != len(m.items) {
				return fmt.Errorf("client %d (%v %v) holds %d items, want %d", i, m.layers, m.bbox, len(m.items), len(want))
			}
			for k, v := range want {
				if m.items[k].V != v {
					return fmt.Errorf("client %d: %s = %d, want %d", i, k, m.items[k].V, v)
				}
			}
		}
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		err := converged()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
}

// TestResubscribeWhileBehind changes the subscription of a client whose
// queue holds deltas of the old one: they are discarded, so the snapshot
// must be full for the client to hold every change.
func TestResubscribeWhileBehind(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{SendQueue: 4, MaxBehind: time.Hour}, src, false)
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"]}`)
	m := &model{}
	_, data, err := c.ReadMessage()
	if err != nil || m.apply(data) != nil {
		t.Fatal(err)
	}
	// Not reading: the socket buffers and then the queue fill, until
	// deltas are conflated.
	n := 0
	for ; n < 40 || e.metric(t, "citytwin_stream_items_conflated_total") == 0; n++ {
		if n == 2000 {
			t.Fatal("the queue never filled")
		}
		for k := range 4 {
			src.Set("noise", "default", fmt.Sprint("big", k), n, pt(9, 45), 64<<10)
		}
		src.Set("noise", "default", fmt.Sprint("small", n), n, pt(9, 45), 0)
		e.hub.Flush()
	}
	send(t, c, `{"type":"subscribe","layers":["noise"],"bbox":[8,44,10,46]}`)
	full := false
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.apply(data); err != nil {
			t.Fatal(err)
		}
		if m.bbox != nil {
			var s msg
			_ = json.Unmarshal(data, &s)
			full = s.Full
			break
		}
	}
	// Whether deltas were still queued (then discarded: a full snapshot) or
	// the writer had drained them by the time the subscribe was read (a
	// difference snapshot) depends on scheduling; either way the client
	// must end up with every item at its latest value.
	t.Logf("snapshot after the resubscribe: full=%v", full)
	for i := range n {
		if it, ok := m.items["noise/"+fmt.Sprint("small", i)]; !ok || it.V != i {
			t.Fatalf("small%d = %+v, %v after the resubscribe", i, it, ok)
		}
	}
}

// TestChangeRightAfterSnapshot makes a change just after the snapshot was
// read and before the next flush: the first delta must carry it.
func TestChangeRightAfterSnapshot(t *testing.T) {
	src := newFakeSource()
	src.Set("noise", "default", "n", 1, pt(9, 45), 0)
	e := newEnv(t, stream.Config{}, src, false)
	e.hub.Flush()
	src.afterSnapshot = func() { src.Set("noise", "default", "n", 2, pt(9, 45), 0) }
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"]}`)
	if s := read(t, c); !maps.Equal(ids(s.Sensors), map[string]int{"n": 1}) {
		t.Fatalf("snapshot %v", ids(s.Sensors))
	}
	src.afterSnapshot = nil
	// A second client subscribing in the same generation reuses that
	// snapshot, taken before it connected: the change after it reaches
	// the second client too.
	c2 := e.dial(t, nil)
	send(t, c2, `{"type":"subscribe","layers":["noise"]}`)
	if s := read(t, c2); !maps.Equal(ids(s.Sensors), map[string]int{"n": 1}) {
		t.Fatalf("shared snapshot %v, want the cached n=1", ids(s.Sensors))
	}
	e.hub.Flush()
	for _, c := range []*websocket.Conn{c, c2} {
		if d := read(t, c); d.Type != "delta" || !maps.Equal(ids(d.Sensors), map[string]int{"n": 2}) {
			t.Fatalf("first delta %+v, want n=2", d)
		}
	}
}
