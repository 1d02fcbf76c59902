package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/internal/bearer"
)

// Config configures a Hub. The zero value means the documented defaults.
type Config struct {
	// FlushInterval is the period of delta messages: changes are collected
	// from the Source, coalesced per entity and sent at most once per
	// interval; default 200 ms, at least 1 ms.
	FlushInterval time.Duration
	// AllowedOrigins lists the browser origins ("https://map.example.org",
	// scheme://host[:port]) allowed to connect besides the server's own:
	// a request whose Origin host equals its Host is always allowed, and a
	// request without Origin (not from a browser) too. Empty means
	// same-origin only. "*" is refused: list each origin.
	AllowedOrigins []string
	// Token, when set, is required from every client, as
	// "Authorization: Bearer <token>" or, since browsers cannot set headers
	// on a WebSocket, the query parameter ?token=<token> (keep it out of
	// access logs).
	Token string
	// MaxClients bounds concurrent connections; default 10,000. Further
	// connections are refused with 503 before the handshake.
	MaxClients int
	// MaxMessageBytes bounds a client message; default 4096. A larger one
	// closes the connection with 1009.
	MaxMessageBytes int64
	// SendQueue is the number of messages queued for one client; default
	// 16. When it is full the client's further deltas are conflated (merged
	// per entity, latest wins) until it catches up.
	SendQueue int
	// MaxBehind is how long a client may stay behind (queue full,
	// conflating) before it is disconnected with 1008; default 10 s.
	MaxBehind time.Duration
	// PingInterval is the period of pings; default 30 s.
	PingInterval time.Duration
	// PongTimeout is how long after a ping a client has to answer (any
	// pong or message counts) before it is disconnected; default 15 s.
	PongTimeout time.Duration
	// WriteTimeout bounds the write of one message; default 10 s.
	WriteTimeout time.Duration
	// SendBuffer is the kernel send buffer of each TCP connection
	// (SO_SNDBUF), in bytes; default 64 KiB, -1 leaves the operating
	// system's autotuning. Bytes in the kernel's buffer are out of reach
	// of conflation: with autotuning Linux queues up to 4 MB per socket,
	// seconds of deltas that a slow client receives stale. With a small
	// buffer the hub's writes block sooner, the client's queue fills and
	// its deltas are conflated, so a slow client gets fresh (merged)
	// state. 64 KiB (Linux doubles it) carries a whole-city delta stream
	// of ~300 kB/s up to round trips of ~400 ms. TLS connections served
	// by the Go server itself are left as they are.
	SendBuffer int
	// CloseGrace bounds each step of a server-initiated close (finishing
	// the current write, writing the close frame, waiting for the peer's
	// close frame); default 2 s.
	CloseGrace time.Duration
	// DefaultTenant is the tenant of a client that names none; default
	// "default" (twin.DefaultTenant).
	DefaultTenant string
	// Compression negotiates permessage-deflate (RFC 7692) with clients
	// that offer it, as browsers do. Only shared messages are compressed: a
	// delta or snapshot that several clients receive is compressed once for
	// all of them (the prepared message keeps the compressed frame), while
	// messages built for one client (its own bbox's delta, a conflated
	// delta, a difference snapshot, errors) go uncompressed, so that the
	// cost is one deflate pass per shared message and flush. JSON deltas
	// shrink about 5 to 10 times.
	Compression bool
}

func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.FlushInterval, 200*time.Millisecond)
	def(&c.MaxBehind, 10*time.Second)
	def(&c.PingInterval, 30*time.Second)
	def(&c.PongTimeout, 15*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.CloseGrace, 2*time.Second)
	if c.MaxClients == 0 {
		c.MaxClients = 10000
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 4096
	}
	if c.SendQueue == 0 {
		c.SendQueue = 16
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = 64 << 10
	}
	if c.DefaultTenant == "" {
		c.DefaultTenant = "default"
	}
	switch {
	case c.FlushInterval < time.Millisecond:
		return c, fmt.Errorf("stream: FlushInterval %s is below 1ms", c.FlushInterval)
	case c.MaxBehind < 0 || c.PingInterval < 0 || c.PongTimeout < 0 || c.WriteTimeout < 0 || c.CloseGrace < 0:
		return c, errors.New("stream: MaxBehind, PingInterval, PongTimeout, WriteTimeout and CloseGrace must not be negative")
	case c.MaxClients < 0:
		return c, fmt.Errorf("stream: MaxClients %d is negative", c.MaxClients)
	case c.MaxMessageBytes < 0:
		return c, fmt.Errorf("stream: MaxMessageBytes %d is negative", c.MaxMessageBytes)
	case c.SendQueue < 0:
		return c, fmt.Errorf("stream: SendQueue %d is negative", c.SendQueue)
	case c.SendBuffer < -1:
		return c, fmt.Errorf("stream: SendBuffer %d: want bytes, or -1 for the system's autotuning", c.SendBuffer)
	}
	return c, nil
}

// parseOrigins normalizes the allow-list to lower-case scheme://host[:port].
func parseOrigins(list []string) (map[string]bool, error) {
	out := make(map[string]bool, len(list))
	for i, o := range list {
		if strings.Contains(o, "*") {
			return nil, fmt.Errorf("stream: AllowedOrigins[%d] %q: wildcards are not accepted; list each origin as scheme://host[:port] (same-origin is always allowed)", i, o)
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("stream: AllowedOrigins[%d] %q: want an origin such as https://map.example.org or http://localhost:5173", i, o)
		}
		out[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return out, nil
}

// Hub is the WebSocket endpoint of the live map: it serves clients (it is an
// http.Handler), keeps their subscriptions, sends each a snapshot when it
// subscribes, and at every flush pulls the changes from its Source, encodes
// one delta per distinct subscription and hands the same bytes to every
// client of that subscription.
type Hub struct {
	cfg          Config
	src          Source
	log          *slog.Logger
	m            *metrics
	layers       []Layer
	layerIndex   map[string]uint8
	layerSection []uint8
	layerMerge   [][]string // Layer.Merge by layer index
	layerNames   string
	origins      map[string]bool
	upgrader     websocket.Upgrader

	slots atomic.Int64 // connections admitted, for MaxClients

	// Owned by Flush (flushMu).
	flushMu sync.Mutex
	itemBuf []Item
	index   map[ltKey][]*entry
	scratch []byte

	mu      sync.Mutex
	closed  bool
	clients map[*client]struct{}
	groups  map[subscription]map[*client]struct{}
	// gen counts the flushes that found changes; it is the seq of the
	// latest delta and of snapshots taken since.
	gen uint64

	snapMu sync.Mutex
	snaps  map[subscription]*snapshot

	wg        sync.WaitGroup // connection handlers
	quit      chan struct{}
	closeOnce sync.Once
}

// ltKey indexes a flush's entries by layer and tenant.
type ltKey struct {
	layer  uint8
	tenant string
}

// New returns a hub streaming src. Metrics are registered with reg (nil: not
// registered); log may be nil.
func New(cfg Config, src Source, reg prometheus.Registerer, log *slog.Logger) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("stream: nil Source")
	}
	origins, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	layers := src.Layers()
	if err := validLayers(layers); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg: cfg, src: src, log: log.With("component", "stream"), m: newMetrics(reg),
		layers: append([]Layer(nil), layers...), layerIndex: make(map[string]uint8, len(layers)),
		layerNames: layerList(layers), origins: origins,
		index:   map[ltKey][]*entry{},
		clients: map[*client]struct{}{}, groups: map[subscription]map[*client]struct{}{},
		snaps: map[subscription]*snapshot{}, quit: make(chan struct{}),
	}
	for i, l := range h.layers {
		h.layerIndex[l.Name] = uint8(i)
		h.layerMerge = append(h.layerMerge, l.Merge)
		for s, name := range sections {
			if name == l.Section {
				h.layerSection = append(h.layerSection, uint8(s))
			}
		}
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout:  cfg.WriteTimeout,
		WriteBufferSize:   32 << 10,
		WriteBufferPool:   &sync.Pool{},
		CheckOrigin:       h.originAllowed,
		EnableCompression: cfg.Compression,
	}
	return h, nil
}

// Run flushes every FlushInterval until ctx ends or Close is called, then
// closes every client with 1001 (going away) and returns nil once all
// connections are gone.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.Close()
			return nil
		case <-h.quit:
			return nil
		case <-t.C:
			h.Flush()
		}
	}
}

// Close refuses new connections, closes every client with 1001 (going
// away) and waits until their goroutines have ended: clients get two
// CloseGrace periods to take the close frame and answer it, then the
// remaining connections are cut. It is idempotent; a concurrent call waits
// for the first.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		close(h.quit)
		cs := make([]*client, 0, len(h.clients))
		for c := range h.clients {
			cs = append(cs, c)
		}
		h.mu.Unlock()
		for _, c := range cs {
			c.kick(DropShutdown, websocket.CloseGoingAway, "server shutting down")
		}
		done := make(chan struct{})
		go func() { h.wg.Wait(); close(done) }()
		t := time.NewTimer(2 * h.cfg.CloseGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			h.mu.Lock()
			for c := range h.clients {
				_ = c.conn.NetConn().Close()
			}
			h.mu.Unlock()
			<-done
		}
		h.log.Info("stream hub closed", "clients", len(cs))
	})
}

// ServeHTTP upgrades a request to a WebSocket connection (the /ws
// endpoint) and serves the client until it leaves or is disconnected.
// Refusals happen before the handshake: 403 for an origin not allowed, 401
// for a missing or wrong token, 503 when MaxClients are connected or the hub
// is closing.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.originAllowed(r) {
		h.m.refused.WithLabelValues(RefuseOrigin).Inc()
		http.Error(w, "stream: origin "+r.Header.Get("Origin")+" is not allowed", http.StatusForbidden)
		return
	}
	if h.cfg.Token != "" && !h.authorized(r) {
		h.m.refused.WithLabelValues(RefuseAuth).Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="citytwin"`)
		http.Error(w, "stream: a valid token is required (Authorization: Bearer <token>, or ?token=<token>)", http.StatusUnauthorized)
		return
	}
	if h.slots.Add(1) > int64(h.cfg.MaxClients) {
		h.slots.Add(-1)
		h.m.refused.WithLabelValues(RefuseLimit).Inc()
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf("stream: %d clients connected, the maximum; retry later", h.cfg.MaxClients), http.StatusServiceUnavailable)
		return
	}
	defer h.slots.Add(-1)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.m.refused.WithLabelValues(RefuseClosed).Inc()
		http.Error(w, "stream: shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the request
	}
	if tc, ok := conn.NetConn().(interface{ SetWriteBuffer(int) error }); ok && h.cfg.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(h.cfg.SendBuffer) // best effort: the default stays on error
	}
	c := newClient(h, conn, tenantHeader(r))
	h.mu.Lock()
	closed := h.closed
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.m.clients.Inc()
	if closed {
		c.kick(DropShutdown, websocket.CloseGoingAway, "server shutting down")
	}
	h.log.Debug("client connected", "remote", r.RemoteAddr)
	c.run()
	h.mu.Lock()
	delete(h.clients, c)
	if c.subscribed {
		h.leave(c)
	}
	h.mu.Unlock()
	h.m.clients.Dec()
	h.log.Debug("client disconnected", "remote", r.RemoteAddr, "reason", c.dropReason())
}

// tenantHeader returns the tenant named by the request's headers, if any.
func tenantHeader(r *http.Request) string {
	if t := r.Header.Get("NGSILD-Tenant"); t != "" {
		return t
	}
	return r.Header.Get("Fiware-Service")
}

// originAllowed implements the origin policy: no Origin (not a browser),
// same host, or listed.
func (h *Hub) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return h.origins[strings.ToLower(u.Scheme+"://"+u.Host)]
}

func (h *Hub) authorized(r *http.Request) bool { return bearer.Matches(r, h.cfg.Token) }

// leave removes c from its group; h.mu is held.
func (h *Hub) leave(c *client) {
	g := h.groups[c.sub]
	delete(g, c)
	if len(g) == 0 {
		delete(h.groups, c.sub)
	}
}

// subscribe moves c to sub and queues its snapshot: a full one for a first
// subscription, a change of tenant or when deltas of the old subscription
// were still queued (they are discarded), else only the items of sub that
// the old subscription did not cover. Called from c's reader.
func (h *Hub) subscribe(c *client, sub subscription) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	old, had := c.sub, c.subscribed
	if had {
		h.leave(c)
	}
	g := h.groups[sub]
	if g == nil {
		g = map[*client]struct{}{}
		h.groups[sub] = g
	}
	g[c] = struct{}{}
	c.sub, c.subscribed, c.regGen = sub, true, h.gen
	gen := h.gen
	discarded := c.awaitSnapshot()
	h.mu.Unlock()

	snap := h.snapshotFor(sub, gen)
	full := !had || old.tenant != sub.tenant || discarded
	if full {
		c.deliverSnapshot(outMsg{kind: typeSnapshot, pm: snap.pm, size: snap.size})
		return
	}
	var diff bySection
	for s, list := range snap.items {
		for _, e := range list {
			if !old.wants(e) {
				diff[s] = append(diff[s], e)
			}
		}
	}
	data := h.appendSnapshot(make([]byte, 0, diff.size()+256), gen, false, &sub, &diff)
	c.deliverSnapshot(outMsg{kind: typeSnapshot, data: data, size: len(data)})
}

// maxCachedSnapshots bounds the snapshots kept for reuse within a
// generation (each may hold the whole city); beyond, snapshots are built
// for one client and not kept.
const maxCachedSnapshots = 64

// snapshot is the full snapshot of one subscription taken in one
// generation, shared by the clients that subscribe to it in that generation.
type snapshot struct {
	gen   uint64
	done  chan struct{}
	items bySection
	pm    *websocket.PreparedMessage
	size  int
}

// snapshotFor returns the full snapshot of sub for a client registered at
// gen, building it or waiting for a build in progress. Reuse is safe within
// a generation: the snapshot was read after the source's changes were last
// collected, and every change recorded since reaches the client as a delta
// of a later generation.
func (h *Hub) snapshotFor(sub subscription, gen uint64) *snapshot {
	h.snapMu.Lock()
	s := h.snaps[sub]
	if s != nil && s.gen == gen {
		h.snapMu.Unlock()
		<-s.done
		return s
	}
	s = &snapshot{gen: gen, done: make(chan struct{})}
	if cur := h.snaps[sub]; (cur == nil && len(h.snaps) < maxCachedSnapshots) || (cur != nil && cur.gen < gen) {
		h.snaps[sub] = s
	}
	h.snapMu.Unlock()
	defer close(s.done)

	if sub.mask != 0 {
		q := Query{Tenant: sub.tenant, Now: time.Now()}
		if sub.hasBBox {
			b := sub.bbox
			q.BBox = &b
		}
		for i, l := range h.layers {
			if sub.mask&(1<<i) != 0 {
				q.Layers = append(q.Layers, l.Name)
			}
		}
		var slab []entry
		h.src.Snapshot(q, func(it Item) {
			idx, ok := h.layerIndex[it.Layer]
			if !ok {
				return
			}
			if len(slab) == cap(slab) {
				slab = make([]entry, 0, 256)
			}
			slab = append(slab, h.entryOf(idx, &it))
			e := &slab[len(slab)-1]
			if sub.wants(e) {
				s.items[e.section] = append(s.items[e.section], e)
			}
		})
	}
	data := h.appendSnapshot(make([]byte, 0, s.items.size()+256), gen, true, &sub, &s.items)
	s.pm, _ = websocket.NewPreparedMessage(websocket.TextMessage, data)
	s.size = len(data)
	return s
}

func (h *Hub) entryOf(layer uint8, it *Item) entry {
	return entry{layer: layer, section: h.layerSection[layer], located: it.Located, partial: it.Partial && h.layerMerge[layer] != nil, tenant: it.Tenant,
		key: it.Key, bound: it.Bound, json: it.JSON}
}

// delta is one encoded delta and the clients that receive it: shared as a
// prepared message, or as plain bytes for a single client.
type delta struct {
	items   bySection
	pm      *websocket.PreparedMessage
	data    []byte
	size    int
	members map[*client]struct{}
}

// Flush collects the changes from the source and queues one delta per
// distinct subscription to its clients, then disconnects the clients that
// have been behind for longer than MaxBehind. Run calls it every
// FlushInterval; calling it directly (tests, a final flush) is safe.
func (h *Hub) Flush() {
	h.flushMu.Lock()
	defer h.flushMu.Unlock()
	start := time.Now()
	if d, ok := h.src.(Discarder); ok {
		// Under h.mu: a client connecting now is counted after the discard,
		// so its snapshot reads a state that includes what was discarded.
		h.mu.Lock()
		idle := len(h.clients) == 0
		if idle {
			d.Discard(start)
		}
		h.mu.Unlock()
		if idle {
			return
		}
	}
	items := h.src.Changes(h.itemBuf[:0], start)
	entries := make([]entry, 0, len(items))
	for i := range items {
		if idx, ok := h.layerIndex[items[i].Layer]; ok {
			entries = append(entries, h.entryOf(idx, &items[i]))
		}
	}
	clear(items)
	h.itemBuf = items[:0]
	for k, v := range h.index {
		clear(v)
		h.index[k] = v[:0]
	}
	for i := range entries {
		e := &entries[i]
		k := ltKey{e.layer, e.tenant}
		h.index[k] = append(h.index[k], e)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(entries) > 0 {
		h.gen++
		seq := h.gen
		deltas := make([]delta, 0, len(h.groups))
		for sub, members := range h.groups {
			if sub.mask == 0 || len(members) == 0 {
				continue
			}
			var d delta
			for l := range h.layers {
				if sub.mask&(1<<l) == 0 {
					continue
				}
				sec := h.layerSection[l]
				for _, t := range [...]string{sub.tenant, ""} {
					for _, e := range h.index[ltKey{uint8(l), t}] {
						if sub.wants(e) {
							d.items[sec] = append(d.items[sec], e)
						}
					}
				}
			}
			if d.items.empty() {
				continue
			}
			if len(members) == 1 {
				// Framing a prepared message costs several copies: for a
				// client alone with its subscription, plain bytes are cheaper.
				d.data = appendDelta(make([]byte, 0, d.items.size()+64), seq, &d.items)
				d.size = len(d.data)
			} else {
				h.scratch = appendDelta(h.scratch[:0], seq, &d.items)
				d.pm, _ = websocket.NewPreparedMessage(websocket.TextMessage, h.scratch)
				d.size = len(h.scratch)
			}
			d.members = members
			deltas = append(deltas, d)
		}
		h.m.encode.Observe(time.Since(start).Seconds())
		for i := range deltas {
			d := &deltas[i]
			for c := range d.members {
				if c.regGen < seq {
					c.enqueueDelta(d, seq, start)
				}
			}
		}
		h.snapMu.Lock()
		for sub, s := range h.snaps {
			if s.gen < seq {
				delete(h.snaps, sub)
			}
		}
		h.snapMu.Unlock()
	}
	if h.cfg.MaxBehind > 0 {
		now := time.Now()
		for c := range h.clients {
			if since := c.behind(); !since.IsZero() && now.Sub(since) > h.cfg.MaxBehind {
				c.kick(DropSlow, websocket.ClosePolicyViolation,
					fmt.Sprintf("client too slow: more than %s behind the stream", h.cfg.MaxBehind))
			}
		}
	}
}
