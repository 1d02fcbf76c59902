// Package streamtest measures a stream hub end to end: many real WebSocket
// clients in one process, a paced publisher, and the latency from publishing
// an observation to a client having received the message that carries it.
//
// The publisher stamps what it publishes with the publish time in
// microseconds since the Unix epoch (in an attribute whose value follows
// LoadConfig.Marker in the encoded items, e.g. `"probe":{"value":`); every
// client scans each message for the marker and records now − stamp when the
// message has been read completely. Latencies go into a log-scale histogram
// with 2 % buckets, so that percentiles cost no memory per sample.
package streamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// LoadConfig configures Load. The zero value means the documented defaults,
// except URL, Subscribe and Marker, which are required.
type LoadConfig struct {
	// URL is the hub's endpoint, ws://host/ws.
	URL string
	// Header is sent with every handshake (tenant, Authorization).
	Header http.Header
	// Clients is the number of connections; default 1000.
	Clients int
	// Subscribe is the message every client sends once connected.
	Subscribe []byte
	// Rate is the number of observations published per second; default
	// 10,000.
	Rate int
	// Batch is the number of observations per publish call; default Rate/20
	// (a batch every 50 ms, as the pipeline's flushes).
	Batch int
	// Duration is how long to publish; default 10 s.
	Duration time.Duration
	// Drain is how long to keep reading after the last publish; default 1 s.
	Drain time.Duration
	// Marker is the text that precedes a stamp in a message.
	Marker []byte
	// Probes is the number of clients that scan their messages for stamps;
	// default 50 (0 < Probes ≤ Clients). The others read and discard, as
	// cheaply as possible, so that the process spends its CPU on the hub
	// rather than on measuring. All clients of a subscription receive the
	// same bytes in the same flush, so the probes' latencies stand for all.
	Probes int
	// Compression makes the clients offer permessage-deflate. Probes
	// inflate what they receive; the other clients skip message bodies
	// without inflating them.
	Compression bool
}

// LoadResult is what Load measured.
type LoadResult struct {
	Clients   int           // clients connected
	Published int           // observations published
	Elapsed   time.Duration // publishing time
	Messages  int64         // messages received by all clients, snapshots included
	Bytes     int64         // payload bytes received by the clients that read payloads
	WireBytes int64         // bytes received on all connections (frames, compressed)
	// Samples counts the stamps received (each client counts those of its
	// own messages); the percentiles are over them. A stamp that a later one
	// superseded before a flush (coalescing) is never received.
	Samples int64
	// P50, P90 and P99 are latency percentiles (upper bounds of 2 %
	// buckets); Max is the largest latency seen.
	P50, P90, P99, Max time.Duration
	// Disconnected counts clients whose connection ended before Load closed
	// it (the hub dropped them).
	Disconnected int
}

// String summarizes the result on one line.
func (r LoadResult) String() string {
	return fmt.Sprintf("%d clients, %d observations in %v (%.0f/s); %d messages, %.1f MB on the wire (%.1f MB/s); latency p50 %v p90 %v p99 %v max %v over %d samples; %d disconnected",
		r.Clients, r.Published, r.Elapsed.Round(time.Millisecond), float64(r.Published)/r.Elapsed.Seconds(),
		r.Messages, float64(r.WireBytes)/1e6, float64(r.WireBytes)/1e6/r.Elapsed.Seconds(),
		r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond),
		r.Samples, r.Disconnected)
}

// Load connects the clients, waits for each one's first message (the
// snapshot), then calls publish every Batch/Rate seconds with the number
// of observations to publish and the stamp (µs since the Unix epoch) to
// put in them, for Duration; it keeps reading for Drain, closes the
// clients and returns the measurements. publish runs on one goroutine.
func Load(ctx context.Context, cfg LoadConfig, publish func(n int, stampMicros int64)) (LoadResult, error) {
	if cfg.URL == "" || len(cfg.Subscribe) == 0 || len(cfg.Marker) == 0 {
		return LoadResult{}, errors.New("streamtest: URL, Subscribe and Marker are required")
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 1000
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 10000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = max(1, cfg.Rate/20)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = time.Second
	}
	if cfg.Probes <= 0 {
		cfg.Probes = 50
	}
	cfg.Probes = min(cfg.Probes, cfg.Clients)

	clients := make([]*loadClient, cfg.Clients)
	var wire atomic.Int64
	dialer := websocket.Dialer{ReadBufferSize: 16 << 10, HandshakeTimeout: 30 * time.Second, EnableCompression: cfg.Compression,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, n: &wire}, nil
		}}
	var (
		wg      sync.WaitGroup
		dialErr atomic.Value
		sem     = make(chan struct{}, 32)
	)
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, _, err := dialer.DialContext(ctx, cfg.URL, cfg.Header)
			if err == nil {
				err = conn.WriteMessage(websocket.TextMessage, cfg.Subscribe)
			}
			if err != nil {
				dialErr.CompareAndSwap(nil, fmt.Errorf("client %d: %w", i, err))
				return
			}
			c := &loadClient{conn: conn, skip: cfg.Compression, ready: make(chan struct{}), done: make(chan struct{})}
			if i < cfg.Probes {
				c.marker = cfg.Marker
			}
			clients[i] = c
		})
	}
	wg.Wait()
	closeAll := func() {
		for _, c := range clients {
			if c != nil {
				_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				_ = c.conn.Close()
			}
		}
		for _, c := range clients {
			if c != nil && c.started {
				<-c.done
			}
		}
	}
	if err, _ := dialErr.Load().(error); err != nil {
		closeAll()
		return LoadResult{}, err
	}
	var start atomic.Int64
	start.Store(math.MaxInt64)
	for _, c := range clients {
		c.started = true
		go c.read(&start)
	}
	for i, c := range clients {
		select {
		case <-c.ready:
		case <-c.done:
			closeAll()
			return LoadResult{}, fmt.Errorf("streamtest: client %d ended before its snapshot", i)
		case <-ctx.Done():
			closeAll()
			return LoadResult{}, ctx.Err()
		}
	}

	// Publish, paced by the wall clock so that a slow publish call does not
	// lower the rate.
	interval := time.Duration(float64(time.Second) * float64(cfg.Batch) / float64(cfg.Rate))
	begin := time.Now()
	start.Store(begin.UnixMicro())
	res := LoadResult{Clients: cfg.Clients}
	for next := begin; time.Since(begin) < cfg.Duration && ctx.Err() == nil; next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		publish(cfg.Batch, time.Now().UnixMicro())
		res.Published += cfg.Batch
	}
	res.Elapsed = time.Since(begin)
	time.Sleep(cfg.Drain)
	for _, c := range clients {
		if c.ended.Load() {
			res.Disconnected++
		}
	}
	closeAll()

	res.WireBytes = wire.Load()
	var h Histogram
	for _, c := range clients {
		res.Messages += c.msgs
		res.Bytes += c.bytes
		h.Merge(&c.hist)
	}
	res.Samples = h.n
	res.P50, res.P90, res.P99, res.Max = h.Quantile(0.50), h.Quantile(0.90), h.Quantile(0.99), h.max
	return res, nil
}

// bufs are the read buffers of the clients, taken for one message.
var bufs = sync.Pool{New: func() any { return new([256 << 10]byte) }}

type loadClient struct {
	conn    *websocket.Conn
	marker  []byte // nil: discard without scanning
	skip    bool   // discard by skipping frames (compressed: no inflating)
	started bool
	ready   chan struct{} // first message received
	done    chan struct{} // reader ended
	ended   atomic.Bool   // the connection ended on its own

	// Owned by read until done.
	msgs, bytes int64
	hist        Histogram
}

func (c *loadClient) read(start *atomic.Int64) {
	defer close(c.done)
	var stamps []int64
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
			c.ended.Store(true)
			return
		}
		if c.marker == nil && c.skip {
			if c.msgs == 0 {
				close(c.ready)
			}
			c.msgs++
			continue // the next NextReader skips this message's frames
		}
		stamps = stamps[:0]
		carry := 0
		arr := bufs.Get().(*[256 << 10]byte)
		buf := arr[:]
		for {
			n, err := r.Read(buf[carry:])
			c.bytes += int64(n)
			end := carry + n
			last := err == io.EOF
			if c.marker != nil {
				consumed := scan(buf[:end], c.marker, last, &stamps)
				carry = copy(buf, buf[consumed:end])
			}
			if last {
				break
			}
			if err != nil {
				bufs.Put(arr)
				c.ended.Store(true)
				return
			}
			if carry == len(buf) {
				carry = 0 // a run without markers longer than the buffer
			}
		}
		bufs.Put(arr)
		now := time.Now().UnixMicro()
		from := start.Load()
		for _, s := range stamps {
			if s >= from {
				c.hist.Add(time.Duration(now-s) * time.Microsecond)
			}
		}
		if c.msgs == 0 {
			close(c.ready)
		}
		c.msgs++
	}
}

// scan appends the stamps that follow marker in b and returns how many
// bytes of b are done with: everything but a possibly partial marker or
// number at the end, unless last.
func scan(b, marker []byte, last bool, stamps *[]int64) int {
	i := 0
	for {
		j := bytes.Index(b[i:], marker)
		if j < 0 {
			if last {
				return len(b)
			}
			return max(i, len(b)-len(marker)+1)
		}
		p := i + j + len(marker)
		e := p
		for e < len(b) && isNumByte(b[e]) {
			e++
		}
		if e == len(b) && !last {
			return i + j // the number may continue in the next read
		}
		if v, ok := parseStamp(b[p:e]); ok {
			*stamps = append(*stamps, v)
		}
		i = e
	}
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// parseStamp parses a JSON number holding an integer (such as
// 1.7480000000000001e+15 or 1748000000000000) without allocating.
func parseStamp(b []byte) (int64, bool) {
	var mant int64
	frac, exp, i := 0, 0, 0
	dot := false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if mant > math.MaxInt64/10 {
				return 0, false
			}
			mant = mant*10 + int64(c-'0')
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		case c == 'e' || c == 'E':
			sign := 1
			i++
			if i < len(b) && (b[i] == '+' || b[i] == '-') {
				if b[i] == '-' {
					sign = -1
				}
				i++
			}
			for ; i < len(b); i++ {
				if b[i] < '0' || b[i] > '9' {
					return 0, false
				}
				exp = exp*10 + int(b[i]-'0')
			}
			exp *= sign
		default:
			return 0, false
		}
	}
	for e := exp - frac; e != 0; {
		if e > 0 {
			mant *= 10
			e--
		} else {
			mant /= 10
			e++
		}
	}
	return mant, true
}

// Histogram counts durations in log buckets of 2 % from 1 µs, so that
// percentiles cost no memory per sample. The zero value is empty.
type Histogram struct {
	counts [1200]int64
	n      int64
	max    time.Duration
}

var logStep = math.Log(1.02)

// Add counts d.
func (h *Histogram) Add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(int(math.Log(us)/logStep)+1, len(h.counts)-1)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of durations counted.
func (h *Histogram) Count() int64 { return h.n }

// Max returns the largest duration counted.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the upper bound of the bucket holding the q-quantile
// (at most Max), 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	target := int64(math.Ceil(q * float64(h.n)))
	var cum int64
	for i, c := range h.counts {
		cum += c
		if cum >= target {
			return min(time.Duration(math.Pow(1.02, float64(i))*float64(time.Microsecond)), h.max)
		}
	}
	return h.max
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

// Read reads from the connection and counts the bytes.
func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}
