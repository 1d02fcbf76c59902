// Command wsload is the client side of the live map's fan-out benchmark: it
// connects many WebSocket clients to citytwin's /ws, subscribes each to the
// same layers (the whole city by default), reads every message for a while
// and prints what it measured as JSON on stdout.
//
//	wsload -url ws://127.0.0.1:8080/ws -clients 1000 -duration 30s [-probes 50] [-ready FILE]
//
// Latency is measured from a reading's observation time to its receipt:
// the publisher sets each reading's time to its publish time (µs
// precision), citytwin streams it as the "observedAt" of the sensor's
// values, and a probe client, on receiving a sensor item, takes the newest
// observedAt among the item's values; when it is newer than any the client
// had for that sensor, now − observedAt is one sample. A value repeated in
// a later item (complete items repeat every value) is not counted again,
// and a reading that a later one of the same sensor replaced before a
// flush is never received: samples count sensor updates received, one per
// sensor and flush at most. Only values observed after the clients are all
// subscribed count. Clocks are the same machine's.
//
// Probe clients (-probes) decode every message completely (JSON, and
// inflate when compressed); the others read every message and discard it,
// without inflating (a compressed message's frames are skipped), so that
// the clients cost the machine as little as possible besides the probes.
// All clients of a subscription receive the same bytes at the same flush,
// so the probes' latencies stand for all of them.
//
// Units in the JSON output: durations in milliseconds (…_ms), bytes,
// CPU in seconds of user+system time of this process.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/valyala/fastjson"

	"github.com/citytwin/citytwin/stream/streamtest"
)

// allLayers are citytwin's layers (stream/twinfeed).
const allLayers = "noise,air,traffic,irrigation,generic,district,neighbourhood,road,greenarea,irrigationzone,alerts"

type config struct {
	url         string
	clients     int
	probes      int
	layers      string
	bbox        string
	tenant      string
	token       string
	compression bool
	duration    time.Duration
	ready       string
	dialers     int
}

// Result is the JSON printed on stdout.
type Result struct {
	URL         string  `json:"url"`
	Clients     int     `json:"clients"`
	Probes      int     `json:"probes"`
	Compression bool    `json:"compression"`
	ConnectMS   float64 `json:"connect_ms"`  // until every client had its snapshot
	DurationMS  float64 `json:"duration_ms"` // measuring time
	// Messages counts the deltas received by all clients while measuring.
	Messages int64 `json:"messages"`
	// WireBytes counts the bytes read from every connection while
	// measuring (WebSocket frames, compressed when negotiated).
	WireBytes int64 `json:"wire_bytes"`
	// WireBytesPerClientPerS is WireBytes per client and second.
	WireBytesPerClientPerS float64 `json:"wire_bytes_per_client_per_s"`
	// PayloadBytesPerProbePerS is the decoded (inflated) JSON a probe
	// received per second.
	PayloadBytesPerProbePerS float64 `json:"payload_bytes_per_probe_per_s"`
	// SnapshotBytes is the size of a probe's snapshot (decoded JSON).
	SnapshotBytes int64 `json:"snapshot_bytes"`
	// SensorItems counts the sensor items the probes received while
	// measuring; Samples the sensor updates among them (see the package
	// doc).
	SensorItems int64   `json:"sensor_items"`
	Samples     int64   `json:"samples"`
	P50MS       float64 `json:"p50_ms"`
	P90MS       float64 `json:"p90_ms"`
	P99MS       float64 `json:"p99_ms"`
	MaxMS       float64 `json:"max_ms"`
	// Disconnected counts the clients whose connection ended before
	// wsload closed it; CloseReasons counts them by close code and text.
	Disconnected int            `json:"disconnected"`
	CloseReasons map[string]int `json:"close_reasons,omitempty"`
	// DecodeErrors counts probe messages that were not valid JSON.
	DecodeErrors int64 `json:"decode_errors"`
	// CPUSeconds is this process's user+system CPU time while measuring.
	CPUSeconds float64 `json:"cpu_seconds"`
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "citytwin's /ws endpoint, ws://host:port/ws (required)")
	flag.IntVar(&c.clients, "clients", 1000, "WebSocket clients")
	flag.IntVar(&c.probes, "probes", 50, "clients that decode every message and measure latency (≤ clients)")
	flag.StringVar(&c.layers, "layers", allLayers, "comma-separated layers every client subscribes to")
	flag.StringVar(&c.bbox, "bbox", "", "minLon,minLat,maxLon,maxLat of every subscription; empty: the whole city")
	flag.StringVar(&c.tenant, "tenant", "", "tenant of the subscriptions; empty: the server's default")
	flag.StringVar(&c.token, "token", "", "bearer token of /ws, if the server requires one")
	flag.BoolVar(&c.compression, "compression", true, "offer permessage-deflate")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "measuring time, after every client has its snapshot")
	flag.StringVar(&c.ready, "ready", "", "file created when every client has its snapshot (a driver starts publishing then)")
	flag.IntVar(&c.dialers, "dial-concurrency", 32, "connections opened at the same time")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}

func (c *config) validate() error {
	u, err := url.Parse(c.url)
	switch {
	case c.url == "" || err != nil || (u.Scheme != "ws" && u.Scheme != "wss"):
		return fmt.Errorf("-url %q: want ws://host:port/ws", c.url)
	case c.clients < 1:
		return fmt.Errorf("-clients %d: want at least 1", c.clients)
	case c.probes < 0 || c.probes > c.clients:
		return fmt.Errorf("-probes %d: want 0 to -clients (%d)", c.probes, c.clients)
	case c.duration <= 0:
		return fmt.Errorf("-duration %s: want a positive duration", c.duration)
	case c.dialers < 1:
		return fmt.Errorf("-dial-concurrency %d: want at least 1", c.dialers)
	}
	return nil
}

// subscribeMessage builds the subscribe message of every client.
func (c *config) subscribeMessage() ([]byte, error) {
	m := map[string]any{"type": "subscribe", "layers": strings.Split(c.layers, ",")}
	if c.layers == "" {
		m["layers"] = []string{}
	}
	if c.tenant != "" {
		m["tenant"] = c.tenant
	}
	if c.bbox != "" {
		var b [4]float64
		if _, err := fmt.Sscanf(c.bbox, "%g,%g,%g,%g", &b[0], &b[1], &b[2], &b[3]); err != nil {
			return nil, fmt.Errorf("-bbox %q: want minLon,minLat,maxLon,maxLat", c.bbox)
		}
		m["bbox"] = b
	}
	return json.Marshal(m)
}

func run(ctx context.Context, c config) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	sub, err := c.subscribeMessage()
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	if c.token != "" {
		header.Set("Authorization", "Bearer "+c.token)
	}
	var wire atomic.Int64
	dialer := websocket.Dialer{ReadBufferSize: 32 << 10, HandshakeTimeout: 30 * time.Second, EnableCompression: c.compression,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, n: &wire}, nil
		}}

	var from atomic.Int64 // µs: values observed before do not count
	from.Store(1 << 62)
	began := time.Now()
	clients := make([]*client, c.clients)
	var (
		wg      sync.WaitGroup
		dialErr atomic.Value
		sem     = make(chan struct{}, c.dialers)
	)
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, resp, err := dialer.DialContext(ctx, c.url, header)
			if err == nil {
				err = conn.WriteMessage(websocket.TextMessage, sub)
			} else if resp != nil {
				err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
			}
			if err != nil {
				dialErr.CompareAndSwap(nil, fmt.Errorf("client %d: %w", i, err))
				return
			}
			cl := &client{conn: conn, probe: i < c.probes, ready: make(chan struct{}), done: make(chan struct{}),
				last: map[string]int64{}, started: true}
			clients[i] = cl
			// Read at once: a client must answer the server's pings while
			// the others connect.
			go cl.read(&from)
		})
	}
	wg.Wait()
	closeAll := func() {
		for _, cl := range clients {
			if cl != nil {
				cl.closing.Store(true)
				_ = cl.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				_ = cl.conn.Close()
			}
		}
		for _, cl := range clients {
			if cl != nil && cl.started {
				<-cl.done
			}
		}
	}
	if err, _ := dialErr.Load().(error); err != nil {
		closeAll()
		return nil, err
	}
	for i, cl := range clients {
		select {
		case <-cl.ready:
		case <-cl.done:
			closeAll()
			return nil, fmt.Errorf("client %d ended before its snapshot: %v", i, cl.err)
		case <-ctx.Done():
			closeAll()
			return nil, ctx.Err()
		}
	}
	res := &Result{URL: c.url, Clients: c.clients, Probes: c.probes, Compression: c.compression,
		ConnectMS: ms(time.Since(began))}
	for _, cl := range clients {
		cl.reset.Store(true)
	}
	wire0 := wire.Load()
	cpu0 := cpuSeconds()
	start := time.Now()
	from.Store(start.UnixMicro())
	if c.ready != "" {
		if err := os.WriteFile(c.ready, []byte("ready\n"), 0o644); err != nil {
			closeAll()
			return nil, fmt.Errorf("write -ready file: %w", err)
		}
	}
	select {
	case <-time.After(c.duration):
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	res.DurationMS = ms(elapsed)
	res.WireBytes = wire.Load() - wire0
	res.CPUSeconds = cpuSeconds() - cpu0
	for _, cl := range clients {
		if cl.ended.Load() {
			res.Disconnected++
		}
	}
	closeAll()

	var h streamtest.Histogram
	var payload int64
	for _, cl := range clients {
		res.Messages += cl.msgs
		if cl.err != nil && !cl.closedByUs {
			if res.CloseReasons == nil {
				res.CloseReasons = map[string]int{}
			}
			res.CloseReasons[cl.err.Error()]++
		}
		if !cl.probe {
			continue
		}
		h.Merge(&cl.hist)
		payload += cl.bytes
		res.SensorItems += cl.items
		res.DecodeErrors += cl.decodeErrors
		res.SnapshotBytes = max(res.SnapshotBytes, cl.snapBytes)
	}
	secs := elapsed.Seconds()
	res.WireBytesPerClientPerS = float64(res.WireBytes) / float64(c.clients) / secs
	if c.probes > 0 {
		res.PayloadBytesPerProbePerS = float64(payload) / float64(c.probes) / secs
	}
	res.Samples = h.Count()
	res.P50MS, res.P90MS, res.P99MS, res.MaxMS = ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.Max())
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// client is one connection. Its fields below done are owned by read until
// done is closed.
type client struct {
	conn    *websocket.Conn
	probe   bool
	started bool
	ready   chan struct{} // the snapshot arrived
	done    chan struct{} // read ended
	ended   atomic.Bool   // the connection ended before wsload closed it
	closing atomic.Bool   // wsload is closing it
	reset   atomic.Bool   // start counting: zero the counters once

	msgs, bytes, items, decodeErrors, snapBytes int64
	last                                        map[string]int64 // sensor id → newest observedAt seen, µs
	hist                                        streamtest.Histogram
	err                                         error
	closedByUs                                  bool
}

func (c *client) read(from *atomic.Int64) {
	defer close(c.done)
	var p fastjson.Parser
	buf := make([]byte, 0, 64<<10)
	first := true
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
			c.closedByUs = c.closing.Load()
			if !c.closedByUs {
				c.ended.Store(true)
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					c.err = fmt.Errorf("close %d %s", ce.Code, ce.Text)
				} else {
					c.err = errors.New("connection lost")
				}
			}
			return
		}
		if c.reset.CompareAndSwap(true, false) {
			c.msgs, c.bytes, c.items = 0, 0, 0
		}
		if !c.probe {
			// Discard: the next NextReader skips the frames (compressed
			// ones without inflating them).
			if first {
				first = false
				close(c.ready)
			}
			c.msgs++
			continue
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				c.closedByUs = c.closing.Load()
				if !c.closedByUs {
					c.ended.Store(true)
					c.err = fmt.Errorf("read: %v", err)
				}
				return
			}
		}
		now := time.Now().UnixMicro()
		c.bytes += int64(len(buf))
		c.msgs++
		v, err := p.ParseBytes(buf)
		if err != nil {
			c.decodeErrors++
		} else {
			count := !first && string(v.GetStringBytes("type")) == "delta"
			c.sensors(v.GetArray("sensors"), now, from.Load(), count)
		}
		if first {
			first = false
			c.snapBytes = int64(len(buf))
			close(c.ready)
		}
		if cap(buf) > 4<<20 {
			buf = make([]byte, 0, 64<<10)
		}
	}
}

// sensors records the newest observedAt of each sensor item and, when
// count, one latency sample per sensor update at or after from.
func (c *client) sensors(items []*fastjson.Value, now, from int64, count bool) {
	for _, it := range items {
		id := it.GetStringBytes("id")
		if id == nil {
			c.decodeErrors++
			continue
		}
		var newest int64
		if vals := it.GetObject("values"); vals != nil {
			vals.Visit(func(_ []byte, v *fastjson.Value) {
				if t, ok := parseTime(v.GetStringBytes("observedAt")); ok && t > newest {
					newest = t
				}
			})
		}
		if count {
			c.items++
		}
		prev, ok := c.last[string(id)]
		if ok && newest <= prev {
			continue
		}
		c.last[string(id)] = newest
		if count && newest >= from {
			c.hist.Add(time.Duration(now-newest) * time.Microsecond)
		}
	}
}

// parseTime parses an RFC 3339 UTC time as citytwin writes it
// (2006-01-02T15:04:05[.fraction]Z) in µs since the Unix epoch, without
// allocating; any other form goes through time.Parse.
func parseTime(b []byte) (int64, bool) {
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		y, ok1 := num(0, 4)
		mo, ok2 := num(5, 2)
		d, ok3 := num(8, 2)
		h, ok4 := num(11, 2)
		mi, ok5 := num(14, 2)
		sec, ok6 := num(17, 2)
		us, ok7 := 0, true
		if frac := b[19 : len(b)-1]; len(frac) > 0 {
			if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
				ok7 = false
			} else {
				digits := frac[1:]
				for i := 0; i < 6; i++ {
					us *= 10
					if i < len(digits) {
						if digits[i] < '0' || digits[i] > '9' {
							ok7 = false
						}
						us += int(digits[i] - '0')
					}
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			days := daysFromCivil(y, mo, d)
			return ((days*86400+int64(h*3600+mi*60+sec))*1e6 + int64(us)), true
		}
	}
	if len(b) == 0 {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
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

// cpuSeconds returns this process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
