package stream

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// outMsg is one message queued for a client: shared bytes (pm), bytes of its
// own (data), or its conflated items (pend), encoded by the writer.
type outMsg struct {
	kind string
	pm   *websocket.PreparedMessage
	data []byte
	pend map[pendKey][]*entry
	seq  uint64
	size int
	// flushed is, for a delta, when the flush that made it started (the
	// earliest of them for a conflated delta).
	flushed time.Time
}

// minSubscribeInterval spaces the subscribes of one client: at most 10 per
// second are processed, later ones wait their turn.
const minSubscribeInterval = 100 * time.Millisecond

// client is one WebSocket connection. Its reader (the handler's goroutine)
// parses client messages; its writer sends queued messages and pings.
type client struct {
	h            *Hub
	conn         *websocket.Conn
	headerTenant string

	// Guarded by h.mu.
	sub        subscription
	subscribed bool
	regGen     uint64 // h.gen when it subscribed: it gets deltas of later generations

	wake chan struct{} // capacity 1: the queue has something
	done chan struct{} // closed by stop

	mu sync.Mutex
	q  []outMsg
	// pend holds the items of deltas that did not fit in q, per entity:
	// the latest complete item followed by the partial ones, merged
	// when written (or when maxChain accumulate); sent as one delta once q
	// is empty.
	pend        map[pendKey][]*entry
	pendSeq     uint64
	pendSince   time.Time // start of the earliest flush merged into pend
	awaitSnap   bool      // subscribed, snapshot not queued yet: deltas go to pend
	behindSince time.Time // when q was first found full; zero when caught up
	stopping    bool
	reason      string // drop reason; empty for a close the client started
	closeCode   int
	closeText   string
	sendClose   bool

	scratch []byte // writer's buffer for conflated deltas
	merged  []byte // writer's buffer for merged items
}

// maxChain bounds the patches kept per entity for a lagging client: beyond,
// they are merged into one (so that a client behind for MaxBehind holds
// neither unbounded lists nor every flush's encodings).
const maxChain = 16

func newClient(h *Hub, conn *websocket.Conn, headerTenant string) *client {
	return &client{h: h, conn: conn, headerTenant: headerTenant,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		q: make([]outMsg, 0, h.cfg.SendQueue)}
}

// run serves the client until the connection ends.
func (c *client) run() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	reason, code, text := c.readLoop()
	c.stop(reason, code, text, code != 0)
	<-writerDone
	_ = c.conn.Close()
}

// readLoop reads client messages until the connection fails or closes and
// returns why: the drop reason (empty when the client closed) and the close
// frame to send (code 0: none).
func (c *client) readLoop() (reason string, code int, text string) {
	cfg := &c.h.cfg
	c.conn.SetReadLimit(cfg.MaxMessageBytes)
	extend := func() {
		select {
		case <-c.done:
			return // closing: finish set the deadline for the peer's close frame
		default:
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(cfg.PingInterval + cfg.PongTimeout))
	}
	extend()
	c.conn.SetPongHandler(func(string) error { extend(); return nil })
	var lastSub time.Time
	for {
		typ, data, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			var ne net.Error
			switch {
			case errors.As(err, &ce):
				return "", 0, ""
			case errors.Is(err, websocket.ErrReadLimit):
				return DropMessageTooLarge, 0, "" // gorilla sent 1009
			case errors.As(err, &ne) && ne.Timeout():
				return DropPongTimeout, websocket.ClosePolicyViolation, "no pong received in time"
			default:
				return DropReadError, 0, ""
			}
		}
		extend()
		if typ != websocket.TextMessage {
			c.sendError(perr("", "messages must be text frames holding JSON"))
			continue
		}
		sub, perr := c.h.parseSubscribe(data, c.headerTenant)
		if perr != nil {
			c.sendError(perr)
			continue
		}
		// Each subscribe costs a snapshot: a client changing its
		// subscription faster than minSubscribeInterval waits.
		if wait := minSubscribeInterval - time.Since(lastSub); wait > 0 {
			time.Sleep(wait)
		}
		c.h.subscribe(c, sub)
		lastSub = time.Now()
		extend()
	}
}

// writeLoop writes queued messages and pings until stop.
func (c *client) writeLoop() {
	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			c.finish()
			return
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.cfg.WriteTimeout)); err != nil {
				c.writeFailed()
				return
			}
		case <-c.wake:
			for {
				select {
				case <-c.done:
					c.finish()
					return
				default:
				}
				m, ok := c.next()
				if !ok {
					break
				}
				if err := c.write(m); err != nil {
					c.writeFailed()
					return
				}
			}
		}
	}
}

// next takes the next message: the queue first, then the conflated items
// (never before the snapshot). It reports false, and the client caught up,
// when there is nothing to send.
func (c *client) next() (outMsg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.q) > 0 {
		m := c.q[0]
		copy(c.q, c.q[1:])
		c.q[len(c.q)-1] = outMsg{}
		c.q = c.q[:len(c.q)-1]
		return m, true
	}
	if len(c.pend) > 0 && !c.awaitSnap {
		m := outMsg{kind: typeDelta, pend: c.pend, seq: c.pendSeq, flushed: c.pendSince}
		c.pend = nil
		return m, true
	}
	c.behindSince = time.Time{}
	return outMsg{}, false
}

func (c *client) write(m outMsg) error {
	if m.pend != nil {
		var b bySection
		c.merged = c.merged[:0]
		type span struct {
			e     *entry
			start int
		}
		var spans []span
		for _, list := range m.pend {
			e := list[len(list)-1]
			if len(list) > 1 {
				start := len(c.merged)
				c.merged = c.h.mergeChain(c.merged, list)
				spans = append(spans, span{e, start})
				continue
			}
			b[e.section] = append(b[e.section], e)
		}
		for i, sp := range spans {
			end := len(c.merged)
			if i+1 < len(spans) {
				end = spans[i+1].start
			}
			me := *sp.e
			me.json = c.merged[sp.start:end:end]
			b[me.section] = append(b[me.section], &me)
		}
		c.scratch = appendDelta(c.scratch[:0], m.seq, &b)
		m.data, m.size = c.scratch, len(c.scratch)
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
	c.conn.EnableWriteCompression(m.pm != nil) // no-op unless negotiated
	var err error
	if m.pm != nil {
		err = c.conn.WritePreparedMessage(m.pm)
	} else {
		err = c.conn.WriteMessage(websocket.TextMessage, m.data)
	}
	if cap(c.scratch) > 1<<20 {
		c.scratch = nil // do not keep a large buffer per idle client
	}
	if cap(c.merged) > 1<<20 {
		c.merged = nil
	}
	if err != nil {
		return err
	}
	switch m.kind {
	case typeSnapshot:
		c.h.m.sentSnapshot.Inc()
	case typeDelta:
		c.h.m.sentDelta.Inc()
		c.h.m.delay.Observe(time.Since(m.flushed).Seconds())
	default:
		c.h.m.sentError.Inc()
	}
	c.h.m.bytes.Add(float64(m.size))
	return nil
}

// writeFailed ends a connection whose write failed: no close frame can
// follow a failed write.
func (c *client) writeFailed() {
	c.stop(DropWriteError, 0, "", false)
	_ = c.conn.NetConn().Close() // unblocks the reader
}

// finish sends the close frame, if any, and gives the peer CloseGrace to
// answer it before the reader gives up.
func (c *client) finish() {
	c.mu.Lock()
	send, code, text := c.sendClose, c.closeCode, c.closeText
	c.mu.Unlock()
	if !send {
		_ = c.conn.NetConn().Close()
		return
	}
	deadline := time.Now().Add(c.h.cfg.CloseGrace)
	if err := c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline); err != nil {
		_ = c.conn.NetConn().Close()
		return
	}
	_ = c.conn.NetConn().SetReadDeadline(deadline)
}

// stop ends the client once: queued messages are discarded, the writer
// sends the close frame (when sendClose) and returns. reason, if not
// empty, is counted as a drop.
func (c *client) stop(reason string, code int, text string, sendClose bool) bool {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return false
	}
	c.stopping = true
	c.reason, c.closeCode, c.closeText, c.sendClose = reason, code, text, sendClose
	clear(c.q)
	c.q, c.pend = nil, nil
	c.mu.Unlock()
	close(c.done)
	if reason != "" {
		c.h.m.dropped.WithLabelValues(reason).Inc()
	}
	return true
}

// kick disconnects the client from the hub's side with a close frame. A
// write in progress gets CloseGrace to finish (a client that does not read
// would hold it for WriteTimeout); the close frame follows it.
func (c *client) kick(reason string, code int, text string) {
	if c.stop(reason, code, text, true) {
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(c.h.cfg.CloseGrace))
	}
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// dropReason returns why the hub disconnected the client, empty if the
// client left by itself.
func (c *client) dropReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// behind returns since when the client has been behind, zero if it is not.
func (c *client) behind() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.behindSince
}

// enqueueDelta queues a shared delta, or merges its items into the
// client's pending items when the queue is full, a conflated delta is
// already pending, or the snapshot is not queued yet.
func (c *client) enqueueDelta(d *delta, seq uint64, flushed time.Time) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	if !c.awaitSnap && len(c.pend) == 0 && len(c.q) < c.h.cfg.SendQueue {
		c.q = append(c.q, outMsg{kind: typeDelta, pm: d.pm, data: d.data, seq: seq, size: d.size, flushed: flushed})
		c.mu.Unlock()
		c.signal()
		return
	}
	if !c.awaitSnap && c.behindSince.IsZero() {
		c.behindSince = time.Now()
	}
	if c.pend == nil {
		c.pend = make(map[pendKey][]*entry, d.items.count())
		c.pendSince = flushed
	}
	merged := 0
	for _, list := range d.items {
		for _, e := range list {
			k := e.pendKey()
			prev, ok := c.pend[k]
			if !ok || !e.partial {
				if ok {
					merged++
					prev[0] = e
					c.pend[k] = prev[:1]
				} else {
					c.pend[k] = []*entry{e}
				}
				continue
			}
			merged++
			if len(prev) == maxChain {
				m := *e
				m.json = c.h.mergeChain(nil, append(prev, e))
				prev[0] = &m
				clear(prev[1:])
				c.pend[k] = prev[:1]
				continue
			}
			c.pend[k] = append(prev, e)
		}
	}
	c.pendSeq = seq
	c.mu.Unlock()
	if merged > 0 {
		c.h.m.conflated.Add(float64(merged))
	}
	c.signal()
}

// awaitSnapshot prepares the client for a new subscription: queued deltas
// and snapshots of the old one are discarded (it reports whether there were
// any) and later deltas wait for the new snapshot.
func (c *client) awaitSnapshot() (discarded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	discarded = len(c.pend) > 0
	kept := c.q[:0]
	for _, m := range c.q {
		if m.kind == typeError {
			kept = append(kept, m)
		} else {
			discarded = true
		}
	}
	clear(c.q[len(kept):])
	c.q, c.pend = kept, nil
	c.awaitSnap, c.behindSince = true, time.Time{}
	return discarded
}

// deliverSnapshot queues the snapshot ahead of the deltas that waited for
// it. A snapshot is queued even when the queue is full.
func (c *client) deliverSnapshot(m outMsg) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	c.q = append(c.q, m)
	c.awaitSnap = false
	c.mu.Unlock()
	c.signal()
}

// sendError queues an error message, dropped when the queue is full.
func (c *client) sendError(e *protocolError) {
	c.h.m.badMsgs.Inc()
	data := errorMessage(e)
	c.mu.Lock()
	if c.stopping || len(c.q) >= c.h.cfg.SendQueue {
		c.mu.Unlock()
		c.h.m.lostMsgs.Inc()
		return
	}
	c.q = append(c.q, outMsg{kind: typeError, data: data, size: len(data)})
	c.mu.Unlock()
	c.signal()
}
