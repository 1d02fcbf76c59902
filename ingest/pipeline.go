package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/citytwin/citytwin/twin"
)

// Message is what the pipeline needs of an MQTT message. paho's mqtt.Message
// satisfies it when the client runs with auto-ack disabled.
type Message interface {
	Topic() string
	Payload() []byte
	Ack()
}

// Decoder turns one payload received on a topic into observations and
// rejections. It must be pure, safe for concurrent use and never panic.
type Decoder interface {
	Decode(topic string, payload []byte, arrival time.Time) ([]twin.Observation, []*twin.InputError)
}

// Store writes a body of line protocol. *Influx implements it.
type Store interface {
	Write(ctx context.Context, lines []byte) error
}

// ErrorSink delivers a rejection notice to the sender. Publish must not block:
// it returns false when the notice could not be queued.
type ErrorSink interface {
	PublishError(topic string, payload []byte) bool
}

// Config configures a Pipeline. The zero value of each field means its default.
type Config struct {
	// BatchSize is the number of points per InfluxDB write; default 5000.
	BatchSize int
	// FlushInterval bounds how long a point waits for its batch to fill;
	// default 100 ms.
	FlushInterval time.Duration
	// Writers is the number of concurrent writes; default 2.
	Writers int
	// MaxInflight bounds the messages held unacknowledged (intake queue and
	// batches). Size it at or above the broker's per-client inflight window so
	// that the MQTT handler never has to wait; default 20000.
	MaxInflight int
	// MaxPayload is the largest payload accepted, in bytes; default 1 MiB.
	MaxPayload int
	// SpoolDir holds batches InfluxDB has not accepted yet. Required.
	SpoolDir string
	// SpoolMaxBytes caps the spool; default 8 GiB, negative for no cap. When
	// it is full, batches wait unacknowledged (the broker keeps the messages)
	// until the replay makes room.
	SpoolMaxBytes int64
	// ErrorTopicPrefix is prepended to a message's topic to name the topic its
	// rejections are published on; default "citytwin/errors".
	ErrorTopicPrefix string
	// ErrorTopicFor, when set, names the topic a rejection of a message on
	// topic is published on instead (IoT Agent devices get their own
	// feedback topic, see IoTAgentErrorTopic).
	ErrorTopicFor func(topic string) string
	// Linker, when set, ties each accepted observation to the city's
	// features before it is written (the links become tags).
	Linker Linker
	// Observe, when set, receives every stored batch of observations, in
	// order, from a single goroutine, after they are durable. It must not block
	// for long (the twin applies them in memory).
	Observe func([]twin.Observation)
	// Live, when set, receives the observations as soon as they are
	// accepted (decoded, checked and linked), before they are durable, in
	// arrival order, from the single goroutine that forms the batches: the
	// live map and alerts see a reading without waiting for its write
	// (DESIGN.md's data flow: normalize feeds the writer and the twin).
	// Nothing is lost by it: a reading not yet durable when citytwin dies is
	// unacknowledged and redelivered, and applied again (same value and
	// time). A reading InfluxDB later refuses (a conflict the kind check
	// could not see) has been shown. It must not block for long, nor keep
	// the slice.
	Live func([]twin.Observation)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 100 * time.Millisecond
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 20000
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1 << 20
	}
	if c.SpoolMaxBytes == 0 {
		c.SpoolMaxBytes = 8 << 30
	}
	if c.ErrorTopicPrefix == "" {
		c.ErrorTopicPrefix = "citytwin/errors"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SpoolDir == "" {
		return errors.New("ingest: SpoolDir is required (CITYTWIN_DATA_DIR)")
	}
	return nil
}

// Pipeline takes messages from MQTT, decodes and validates them, writes their
// points to the Store in batches, and acknowledges each message only once its
// points are durable: accepted by the Store, or fsynced to the local spool,
// which is replayed to the Store in the background. Rejections are acked too
// (they are answered, not retried) and reported to the sender through the
// ErrorSink. Acks are sent in arrival order [MQTT-4.6.0-2].
//
// Handle is called by the MQTT client; Run owns every goroutine. Handle blocks
// only when MaxInflight messages are unacknowledged (backpressure), which the
// broker's inflight window normally prevents.
type Pipeline struct {
	cfg     Config
	decoder Decoder
	store   Store
	errs    ErrorSink
	log     *slog.Logger
	m       *metrics
	spool   *spool

	in      inbox
	stop    chan struct{}
	stopped sync.Once
	batches chan *batch
	done    chan *batch
	free    chan *batch
	wake    chan struct{} // tells the replayer that the spool grew

	degraded atomic.Bool // InfluxDB failed recently: spool new batches directly
	kinds    map[string]twin.Kind
	nextSeq  uint64
	live     []twin.Observation // accepted since the last Live call (batcher only)
}

type received struct {
	msg     Message
	arrival time.Time
}

// inbox is the intake queue. The MQTT handler appends under a mutex and
// wakes the batcher only when the inbox was empty; the batcher takes the whole
// inbox at once. At high rates one wake-up carries many messages, where a
// channel would cost a goroutine hand-off per message.
type inbox struct {
	mu       sync.Mutex
	notFull  *sync.Cond
	items    []received
	spare    []received
	closed   bool
	notEmpty chan struct{} // capacity 1
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.items)
}

// take returns every queued message; give the slice back with release.
func (in *inbox) take() []received {
	in.mu.Lock()
	items := in.items
	in.items, in.spare = in.spare[:0], nil
	in.notFull.Broadcast()
	in.mu.Unlock()
	return items
}

func (in *inbox) release(items []received) {
	clear(items)
	in.mu.Lock()
	in.spare = items[:0]
	in.mu.Unlock()
}

// pending is one message of a batch with the range of its lines.
type pending struct {
	msg        Message
	topic      string
	start, end int
}

type batch struct {
	seq     uint64
	buf     []byte
	msgs    []pending
	obs     []twin.Observation
	points  int
	first   time.Time // arrival of the first message
	durable bool
}

func (b *batch) reset() {
	b.buf = b.buf[:0]
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	clear(b.obs)
	b.obs = b.obs[:0]
	b.points = 0
	b.durable = false
}

// New builds a pipeline. It opens the spool; batches left by a previous run
// are replayed once Run starts.
func New(cfg Config, dec Decoder, store Store, errs ErrorSink, reg Registerer, log *slog.Logger) (*Pipeline, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if dec == nil || store == nil {
		return nil, errors.New("ingest: decoder and store are required")
	}
	sp, err := openSpool(cfg.SpoolDir, max(cfg.SpoolMaxBytes, 0))
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Each batch in flight holds up to BatchSize points; the intake queue
	// holds the rest of the inflight window.
	inflightBatches := cfg.Writers + 2
	p := &Pipeline{
		cfg:     cfg,
		decoder: dec,
		store:   store,
		errs:    errs,
		log:     log.With("component", "ingest"),
		spool:   sp,
		stop:    make(chan struct{}),
		batches: make(chan *batch, 1),
		done:    make(chan *batch, inflightBatches),
		free:    make(chan *batch, inflightBatches+1),
		wake:    make(chan struct{}, 1),
		kinds:   make(map[string]twin.Kind),
	}
	for range inflightBatches + 1 {
		p.free <- &batch{}
	}
	p.in.notFull = sync.NewCond(&p.in.mu)
	p.in.notEmpty = make(chan struct{}, 1)
	p.m = newMetrics(reg, p)
	return p, nil
}

// Handle queues one message. It is called from the MQTT client's callback.
// After Stop, messages are left unacknowledged so the broker redelivers them
// to the next session.
func (p *Pipeline) Handle(m Message) {
	r := received{msg: m, arrival: p.cfg.Now()}
	p.m.received.Inc()
	in := &p.in
	in.mu.Lock()
	if len(in.items) >= p.cfg.MaxInflight && !in.closed {
		p.m.intakeFull.Inc()
		for len(in.items) >= p.cfg.MaxInflight && !in.closed {
			in.notFull.Wait()
		}
	}
	if in.closed {
		in.mu.Unlock()
		return
	}
	wasEmpty := len(in.items) == 0
	in.items = append(in.items, r)
	in.mu.Unlock()
	if wasEmpty {
		select {
		case in.notEmpty <- struct{}{}:
		default:
		}
	}
}

// Stop ends intake: messages handled from now on are not acknowledged. Run
// then flushes what it holds and returns.
func (p *Pipeline) Stop() {
	p.stopped.Do(func() {
		p.in.mu.Lock()
		p.in.closed = true
		p.in.notFull.Broadcast()
		p.in.mu.Unlock()
		close(p.stop)
	})
}

// Run processes messages until Stop is called or ctx ends, then drains: every
// message taken in is stored (or spooled) and acknowledged before Run returns,
// unless ctx ends first. Cancel ctx only to abandon the drain.
func (p *Pipeline) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	replayCtx, stopReplay := context.WithCancel(ctx)
	defer stopReplay()
	wg.Go(func() { p.replay(replayCtx) })

	var writers sync.WaitGroup
	for range p.cfg.Writers {
		writers.Go(func() {
			for b := range p.batches {
				p.persist(ctx, b)
				p.done <- b
			}
		})
	}
	ackerDone := make(chan struct{})
	go func() { p.acker(); close(ackerDone) }()

	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-p.stop:
		}
	}()
	p.batcher()
	writers.Wait()
	close(p.done)
	<-ackerDone
	stopReplay()
	wg.Wait()
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// batcher is the only goroutine that decodes: it keeps arrival order, so acks
// can follow it.
func (p *Pipeline) batcher() {
	defer close(p.batches)
	b := p.take()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(b.msgs) == 0 {
			return
		}
		p.batches <- b
		b = p.take()
	}
	acceptAll := func() {
		items := p.in.take()
		for _, r := range items {
			p.accept(b, r)
			if b.points >= p.cfg.BatchSize {
				flush()
			} else if len(b.msgs) == 1 {
				timer.Reset(p.cfg.FlushInterval)
			}
		}
		p.in.release(items)
		if len(p.live) > 0 {
			p.cfg.Live(p.live)
			clear(p.live) // drop references to the decoders' memory
			p.live = p.live[:0]
		}
	}
	for {
		select {
		case <-p.in.notEmpty:
			acceptAll()
		case <-timer.C:
			flush()
		case <-p.stop:
			// Take in what is already queued (Handle queues nothing more
			// after Stop), then finish.
			acceptAll()
			flush()
			p.free <- b
			return
		}
	}
}

func (p *Pipeline) take() *batch {
	b := <-p.free
	b.reset()
	p.nextSeq++
	b.seq = p.nextSeq
	return b
}

// accept decodes one message into the batch.
func (p *Pipeline) accept(b *batch, r received) {
	if len(b.msgs) == 0 {
		b.first = r.arrival
	}
	topic := r.msg.Topic()
	payload := r.msg.Payload()
	start := len(b.buf)
	if len(payload) > p.cfg.MaxPayload {
		p.reject(topic, twin.Errorf(twin.ReasonTooLarge, "", "",
			"payload of %d bytes exceeds the limit of %d bytes", len(payload), p.cfg.MaxPayload))
	} else {
		obs, errs := p.decoder.Decode(topic, payload, r.arrival)
		for _, e := range errs {
			p.reject(topic, e)
		}
		for i := range obs {
			o := &obs[i]
			if e := p.checkKinds(o); e != nil {
				p.reject(topic, e)
				continue
			}
			if p.cfg.Linker != nil {
				p.cfg.Linker.Link(o)
			}
			b.buf = appendLine(b.buf, o)
			b.points++
			b.obs = append(b.obs, *o)
			if p.cfg.Live != nil {
				p.live = append(p.live, *o)
			}
			p.m.accepted(o.Domain)
		}
	}
	b.msgs = append(b.msgs, pending{msg: r.msg, topic: topic, start: start, end: len(b.buf)})
}

// maxKinds bounds the field-kind memory; beyond it new fields are not checked
// (InfluxDB still refuses a conflicting point, which the writer isolates).
const maxKinds = 100_000

// checkKinds rejects an observation whose attribute changes kind (number, text,
// boolean): InfluxDB would refuse the point, and in a batch that error is
// costly to isolate.
func (p *Pipeline) checkKinds(o *twin.Observation) *twin.InputError {
	for _, a := range o.Attrs {
		key := o.EntityType + "\x00" + a.Name
		k, ok := p.kinds[key]
		if !ok {
			if len(p.kinds) < maxKinds {
				p.kinds[key] = a.Kind
			}
			continue
		}
		if k != a.Kind {
			return twin.Errorf(twin.ReasonTypeConflict, o.EntityID, a.Name,
				"attribute %s of %s is stored as %s, got %s", a.Name, o.EntityType, k, a.Kind)
		}
	}
	return nil
}

// errorNotice is the JSON published on the error topic.
type errorNotice struct {
	Topic    string `json:"topic"`
	Reason   string `json:"reason"`
	EntityID string `json:"entity_id,omitempty"`
	Field    string `json:"field,omitempty"`
	Rule     string `json:"rule"`
	Error    string `json:"error"`
	Time     string `json:"time"`
}

func (p *Pipeline) reject(topic string, e *twin.InputError) {
	p.m.rejected(e.Reason)
	p.log.Debug("rejected", "topic", topic, "reason", e.Reason, "entity_id", e.EntityID, "field", e.Field, "rule", e.Rule)
	if p.errs == nil {
		return
	}
	body, _ := json.Marshal(errorNotice{
		Topic: topic, Reason: string(e.Reason), EntityID: e.EntityID, Field: e.Field, Rule: e.Rule,
		Error: e.Error(), Time: p.cfg.Now().UTC().Format(time.RFC3339Nano),
	})
	to := ErrorTopic(p.cfg.ErrorTopicPrefix, topic)
	if p.cfg.ErrorTopicFor != nil {
		to = p.cfg.ErrorTopicFor(topic)
	}
	if !p.errs.PublishError(to, body) {
		p.m.errorsDropped.Inc()
	}
}

// ErrorTopic names the topic on which rejections of messages sent to topic are
// published: the prefix, then the topic (without a leading slash).
func ErrorTopic(prefix, topic string) string {
	if len(topic) > 0 && topic[0] == '/' {
		return prefix + topic
	}
	return prefix + "/" + topic
}

// persist makes a batch durable: written to the store, or spooled.
func (p *Pipeline) persist(ctx context.Context, b *batch) {
	if b.points == 0 {
		b.durable = true
		return
	}
	if !p.degraded.Load() {
		started := time.Now()
		err := p.store.Write(ctx, b.buf)
		p.m.writeSeconds.Observe(time.Since(started).Seconds())
		if err == nil {
			p.stored(b.points, b.first)
			b.durable = true
			return
		}
		var we *WriteError
		if errors.As(err, &we) && we.Rejected() {
			p.isolate(ctx, b, 0, len(b.msgs), we)
			b.durable = true
			return
		}
		p.m.writeFailures.Inc()
		if !p.degraded.Swap(true) {
			p.log.Warn("influxdb write failed; spooling until it recovers", "error", err, "points", b.points)
		}
	}
	b.durable = p.spoolBatch(ctx, b.buf, b.points)
}

// spoolBatch stores lines in the spool, retrying until it succeeds or ctx ends.
func (p *Pipeline) spoolBatch(ctx context.Context, lines []byte, points int) bool {
	backoff := 100 * time.Millisecond
	for {
		err := p.spool.put(lines, points)
		if err == nil {
			p.m.spooled.Add(float64(points))
			select {
			case p.wake <- struct{}{}:
			default:
			}
			return true
		}
		p.m.spoolFailures.Inc()
		if errors.Is(err, errSpoolFull) {
			p.log.Warn("spool full; holding messages unacknowledged until InfluxDB takes the backlog", "error", err)
		} else {
			p.log.Error("cannot spool batch; holding its messages unacknowledged", "error", err, "points", points)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (p *Pipeline) stored(points int, first time.Time) {
	p.m.stored.Add(float64(points))
	p.m.latency.Observe(p.cfg.Now().Sub(first).Seconds())
}

// isolate finds the messages whose points InfluxDB refuses by splitting the
// range [i, j) of b's messages in halves, so that one bad message never costs
// the good ones. A refused message is reported to its sender. Parts that meet
// an outage instead are spooled.
func (p *Pipeline) isolate(ctx context.Context, b *batch, i, j int, cause *WriteError) {
	lines := b.buf[b.msgs[i].start:b.msgs[j-1].end]
	if len(lines) == 0 {
		return
	}
	points := countLines(lines)
	if cause == nil {
		err := p.store.Write(ctx, lines)
		if err == nil {
			p.stored(points, b.first)
			return
		}
		var we *WriteError
		if !errors.As(err, &we) || !we.Rejected() {
			if !p.spoolBatch(ctx, lines, points) {
				p.log.Error("batch part neither stored nor spooled", "points", points)
			}
			return
		}
		cause = we
	}
	if j-i == 1 {
		p.m.storeRejected.Add(float64(points))
		p.reject(b.msgs[i].topic, twin.Errorf(twin.ReasonStoreRejected, "", "",
			"InfluxDB refused the points of this message: %v", cause.Err))
		return
	}
	mid := (i + j) / 2
	p.isolate(ctx, b, i, mid, nil)
	p.isolate(ctx, b, mid, j, nil)
}

func countLines(lines []byte) int {
	n := 0
	for _, c := range lines {
		if c == '\n' {
			n++
		}
	}
	return n
}

// acker acknowledges batches in the order they were formed, then hands their
// observations to Observe and recycles them.
func (p *Pipeline) acker() {
	next := uint64(1)
	held := make(map[uint64]*batch)
	blocked := false
	for b := range p.done {
		held[b.seq] = b
		for {
			hb, ok := held[next]
			if !ok {
				break
			}
			delete(held, next)
			next++
			if !hb.durable {
				// Shutdown abandoned this batch: its messages and every later
				// one stay unacknowledged and will be redelivered.
				blocked = true
			}
			if !blocked {
				for _, m := range hb.msgs {
					m.msg.Ack()
				}
				p.m.acked.Add(float64(len(hb.msgs)))
				if p.cfg.Observe != nil && len(hb.obs) > 0 {
					p.cfg.Observe(hb.obs)
				}
			}
			p.free <- hb
		}
	}
}

// replay writes spooled batches to the store, oldest first, with back-off
// while the store is down.
func (p *Pipeline) replay(ctx context.Context) {
	const minBackoff, maxBackoff = 250 * time.Millisecond, 10 * time.Second
	backoff := minBackoff
	for {
		name, lines, points, ok, err := p.spool.oldest()
		if err != nil {
			p.log.Error("read spooled batch", "file", name, "error", err)
		}
		if !ok || err != nil {
			if !ok {
				p.degraded.Store(false)
			}
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
				continue
			case <-time.After(backoff):
				continue
			}
		}
		err = p.store.Write(ctx, lines)
		var we *WriteError
		switch {
		case err == nil:
		case errors.As(err, &we) && we.Rejected():
			err = p.replayIsolated(ctx, lines, we)
		}
		if err == nil {
			if rerr := p.spool.remove(name); rerr != nil {
				p.log.Error("remove replayed batch", "error", rerr)
			}
			p.m.stored.Add(float64(points))
			p.m.replayed.Add(float64(points))
			if p.degraded.Swap(false) {
				p.log.Info("influxdb accepts writes again; replaying spool")
			}
			backoff = minBackoff
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// replayIsolated writes a refused spooled batch in halves, dropping only the
// lines InfluxDB refuses (their senders were answered when the batch was
// accepted, so these are counted and logged). It returns an error, and the
// batch stays spooled, when InfluxDB becomes unreachable meanwhile.
func (p *Pipeline) replayIsolated(ctx context.Context, lines []byte, cause *WriteError) error {
	var split func(part []byte, n int) error
	split = func(part []byte, n int) error {
		if n <= 1 {
			p.m.storeRejected.Add(float64(n))
			p.log.Warn("influxdb refused a spooled point", "error", cause.Err, "line", string(part))
			return nil
		}
		cut := nthLineEnd(part, n/2)
		for _, half := range [][]byte{part[:cut], part[cut:]} {
			err := p.store.Write(ctx, half)
			var we *WriteError
			switch {
			case err == nil:
			case errors.As(err, &we) && we.Rejected():
				if err := split(half, countLines(half)); err != nil {
					return err
				}
			default:
				return err
			}
		}
		return nil
	}
	return split(lines, countLines(lines))
}

func nthLineEnd(b []byte, n int) int {
	for i, c := range b {
		if c == '\n' {
			n--
			if n == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// SpoolDepth returns the spooled batches and points waiting for InfluxDB.
func (p *Pipeline) SpoolDepth() (batches int, points int64) { return p.spool.depth() }

// Degraded reports whether writes are going to the spool because InfluxDB
// failed.
func (p *Pipeline) Degraded() bool { return p.degraded.Load() }
