package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// RunConfig configures Run. The zero value publishes flat out, forever, at
// QoS 1 over one connection.
type RunConfig struct {
	// Rate is the total messages per second over all publishers; 0 means as
	// fast as the broker acknowledges.
	Rate float64
	// Duration stops publishing after this long; 0 means until ctx ends.
	Duration time.Duration
	// Count stops after this many messages; 0 means no limit.
	Count int64
	// QoS is 1 or 2; 0 means 1. Use AtMostOnce for QoS 0.
	QoS byte
	// AtMostOnce publishes with QoS 0, overriding QoS.
	AtMostOnce bool
	// Publishers is the number of parallel MQTT connections of the NGSI
	// sensors, and of each vendor group (whose devices publish with the
	// group's credentials); 0 means 1. It is capped at the number of
	// sensors of each. The connections of one group share a round robin
	// over its sensors, so a sensor's readings may travel on different
	// connections.
	Publishers int
	// MaxInFlight bounds the unacknowledged messages per connection; 0 means
	// DefaultMaxInFlight.
	MaxInFlight int
	// Clock supplies reading timestamps; nil means time.Now. Pacing always
	// uses the real clock.
	Clock func() time.Time
	// Username and Password authenticate the NGSI connections, and those of
	// vendor groups missing from Credentials; when empty, the user info of
	// the broker URL (tcp://user:pass@host:port) is used.
	Username, Password string
	// Credentials are the MQTT credentials of the vendors' service groups,
	// by apikey, as Provision returns them.
	Credentials map[string]Credentials
	// ClientID prefixes the MQTT client ids; "" means "citytwin-sim". Each
	// connection appends the tenant, its number and a random suffix.
	ClientID string
	// DrainTimeout bounds the wait for outstanding acknowledgements once
	// publishing stops; 0 means 5 s. Messages still unacknowledged then count
	// as failed.
	DrainTimeout time.Duration
}

// DefaultMaxInFlight is the default per-connection window of unacknowledged
// messages.
const DefaultMaxInFlight = 256

// Stats summarises a Run.
type Stats struct {
	// Published counts messages the broker acknowledged (for QoS 0: that
	// were written to the connection).
	Published int64
	// Failed counts messages that got an error or no acknowledgement within
	// the drain timeout.
	Failed int64
	// Elapsed is the time from the first publish to the last acknowledgement.
	Elapsed time.Duration
	// Commands counts the commands irrigation controllers answered.
	Commands int64
}

// Run publishes readings of f round-robin over its sensors to the broker at
// brokerURL (tcp://host:port, mqtt://, ssl://, ws://…) until ctx ends,
// Duration has passed or Count messages have been sent, waits for the
// outstanding acknowledgements, disconnects and returns. The end of ctx is a
// normal stop, not an error; errors are invalid configuration and failed
// connections.
//
// The NGSI sensors publish over their own connections, and the devices of
// each vendor group (IoT Agent protocols) over the group's, with its
// credentials; each set shares the rate in proportion to its sensors, so
// every sensor reads about as often.
//
// Pacing is a token bucket refilled by a ticker every 2 ms or more, so a
// high rate goes out in small bursts rather than with one timer per message;
// a bucket holds at most four ticks' worth of tokens, so a stalled broker
// lowers the rate instead of causing a flood afterwards. Acknowledgements are
// awaited asynchronously in publish order by one goroutine per connection;
// at most MaxInFlight messages per connection are unacknowledged.
//
// Each reading is timestamped with Clock at publish time; if a sensor's
// reading would get the same or an earlier millisecond than its previous
// one, it is bumped to one millisecond after it, so (sensor, time) pairs
// are distinct.
//
// Irrigation controllers take commands: the first connection of a group
// with controllers subscribes (QoS 1) to /{apikey}/+/cmd, and each
// "{device}@open_valve|{minutes}" (UltraLight) or {"open_valve":minutes}
// (JSON) opens the device's valve for that long (0 closes it) and is
// answered on /{ul|json}/{apikey}/{device}/cmdexe with "{device}@open_valve|
// opened for N min" or {"open_valve":"opened for N min"}; the controller's
// soil moisture then rises while the valve is open. Commands are handled
// by one goroutine, never in paho's handler; at most 64 wait, later ones
// are dropped and logged.
//
// All goroutines Run starts have ended when it returns.
func Run(ctx context.Context, brokerURL string, f *Fleet, rc RunConfig, log *slog.Logger) (Stats, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sim")
	broker, user, pass, err := rc.validate(brokerURL, f)
	if err != nil {
		return Stats{}, err
	}
	qos := rc.QoS
	if qos == 0 {
		qos = 1
	}
	if rc.AtMostOnce {
		qos = 0
	}
	window := rc.MaxInFlight
	if window == 0 {
		window = DefaultMaxInFlight
	}
	clock := rc.Clock
	if clock == nil {
		clock = time.Now
	}
	drain := rc.DrainTimeout
	if drain == 0 {
		drain = 5 * time.Second
	}
	prefix := rc.ClientID
	if prefix == "" {
		prefix = "citytwin-sim"
	}

	if ctx.Err() != nil {
		return Stats{}, nil
	}
	lanes := lanesOf(f, rc, user, pass)
	ctl := &controllers{
		fleet: f, irr: newIrrigation(f), clock: clock, log: log,
		queue: make(chan command, 64), stop: make(chan struct{}),
	}
	var clients []paho.Client
	disconnectAll := func() {
		for _, c := range clients {
			c.Disconnect(250)
		}
	}
	suffix := rand.Uint32()
	npubs := 0
	for _, ln := range lanes {
		n := min(max(1, rc.Publishers), len(ln.sensors))
		for p := range n {
			name := f.Tenant()
			if ln.apikey != "" {
				name = ln.apikey
			}
			id := fmt.Sprintf("%s-%s-%d-%08x", prefix, name, p, suffix)
			opts := paho.NewClientOptions().
				AddBroker(broker).
				SetClientID(id).
				SetCleanSession(true).
				SetAutoReconnect(true).
				SetConnectTimeout(10 * time.Second).
				SetWriteTimeout(5 * time.Second).
				SetKeepAlive(30 * time.Second).
				SetMaxResumePubInFlight(window)
			if ln.user != "" {
				opts.SetUsername(ln.user)
				opts.SetPassword(ln.pass)
			}
			subscribed := make(chan error, 1)
			if p == 0 && len(ln.controllers) > 0 {
				opts.SetOnConnectHandler(ctl.subscriber(ln, subscribed))
			}
			c := paho.NewClient(opts)
			tok := c.Connect()
			tok.Wait() // Bounded by the connect timeout.
			if err := tok.Error(); err != nil {
				disconnectAll()
				return Stats{}, fmt.Errorf("sim: connect publisher %d of %s to %s: %w", p, name, broker, err)
			}
			clients = append(clients, c)
			ln.clients = append(ln.clients, c)
			if p == 0 && len(ln.controllers) > 0 {
				select {
				case err = <-subscribed:
				case <-time.After(10 * time.Second):
					err = errors.New("no SUBACK within 10 s")
				}
				if err != nil {
					log.Warn("irrigation controllers will not get commands", "apikey", ln.apikey, "err", err)
				}
			}
		}
		npubs += n
	}
	log.Info("publishing", "broker", broker, "sensors", f.Len(), "groups", len(lanes), "publishers", npubs,
		"rate", rc.Rate, "count", rc.Count, "duration", rc.Duration, "qos", qos)

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if rc.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, rc.Duration)
	}
	defer cancel()

	var (
		total, published, failed atomic.Int64
		pubs, ackers, commands   sync.WaitGroup
		abort                    = make(chan struct{})
	)
	commands.Go(ctl.run)
	// last holds each sensor's latest reading time (Unix ms), shared by all
	// publishers of a group because its round robin spans its sensors.
	last := make([]atomic.Int64, f.Len())
	for i := range last {
		last[i].Store(math.MinInt64)
	}
	start := time.Now()
	for _, ln := range lanes {
		for p, c := range ln.clients {
			w := &worker{
				fleet:     f,
				irr:       ctl.irr,
				lane:      ln,
				client:    c,
				qos:       qos,
				clock:     clock,
				rate:      rc.Rate * float64(len(ln.sensors)) / float64(f.Len()) / float64(len(ln.clients)),
				limit:     rc.Count,
				total:     &total,
				last:      last,
				published: &published,
				failed:    &failed,
				sem:       make(chan struct{}, window),
				pending:   make(chan paho.Token, window),
				log:       log.With("publisher", p, "group", ln.name()),
			}
			ackers.Go(func() { w.ack(abort) })
			pubs.Go(func() {
				defer close(w.pending)
				w.publish(runCtx)
			})
		}
	}
	pubs.Wait()
	stopAbort := time.AfterFunc(drain, func() { close(abort) })
	ackers.Wait()
	elapsed := time.Since(start)
	if !stopAbort.Stop() {
		<-abort // The timer fired; make sure its func has finished.
	}
	close(ctl.stop)
	commands.Wait()
	disconnectAll()

	st := Stats{Published: published.Load(), Failed: failed.Load(), Elapsed: elapsed, Commands: ctl.answered.Load()}
	log.Info("published", "published", st.Published, "failed", st.Failed, "elapsed", st.Elapsed,
		"rate_achieved", float64(st.Published)/max(st.Elapsed.Seconds(), 1e-9), "commands", st.Commands)
	return st, nil
}

// lane is a set of sensors publishing with one set of credentials: the NGSI
// sensors, or the devices of one vendor group.
type lane struct {
	apikey     string // "" for NGSI
	protocol   Protocol
	user, pass string
	sensors    []int
	// controllers maps the device ids of the group's irrigation
	// controllers to their fleet indices.
	controllers map[string]int
	clients     []paho.Client
	claimed     atomic.Int64 // the group's round robin
}

func (ln *lane) name() string {
	if ln.apikey == "" {
		return string(ProtocolNGSI)
	}
	return ln.apikey
}

// lanesOf splits the fleet by credentials: NGSI first, then the groups in
// the order of their first sensor.
func lanesOf(f *Fleet, rc RunConfig, user, pass string) []*lane {
	var out []*lane
	byKey := map[string]*lane{}
	for i := range f.sensors {
		s := &f.sensors[i]
		ln := byKey[s.APIKey]
		if ln == nil {
			ln = &lane{apikey: s.APIKey, protocol: s.Protocol, user: user, pass: pass}
			if cr, ok := rc.Credentials[s.APIKey]; ok && s.APIKey != "" {
				ln.user, ln.pass = cr.Username, cr.Password
			}
			byKey[s.APIKey] = ln
			out = append(out, ln)
		}
		ln.sensors = append(ln.sensors, i)
		if s.Controller {
			if ln.controllers == nil {
				ln.controllers = map[string]int{}
			}
			ln.controllers[s.LocalID] = i
		}
	}
	slices.SortStableFunc(out, func(a, b *lane) int {
		switch {
		case a.apikey == "" && b.apikey != "":
			return -1
		case a.apikey != "" && b.apikey == "":
			return 1
		}
		return 0
	})
	return out
}

func (rc RunConfig) validate(brokerURL string, f *Fleet) (broker, user, pass string, err error) {
	switch {
	case f == nil || f.Len() == 0:
		return "", "", "", fmt.Errorf("%w: empty fleet", ErrInvalidConfig)
	case rc.Rate < 0 || math.IsNaN(rc.Rate) || math.IsInf(rc.Rate, 0):
		return "", "", "", fmt.Errorf("%w: Rate %v must be a finite number ≥ 0", ErrInvalidConfig, rc.Rate)
	case rc.Duration < 0:
		return "", "", "", fmt.Errorf("%w: Duration %v is negative", ErrInvalidConfig, rc.Duration)
	case rc.Count < 0:
		return "", "", "", fmt.Errorf("%w: Count %d is negative", ErrInvalidConfig, rc.Count)
	case rc.QoS > 2:
		return "", "", "", fmt.Errorf("%w: QoS %d must be 0, 1 or 2", ErrInvalidConfig, rc.QoS)
	case rc.Publishers < 0:
		return "", "", "", fmt.Errorf("%w: Publishers %d is negative", ErrInvalidConfig, rc.Publishers)
	case rc.MaxInFlight < 0 || rc.MaxInFlight > 65535:
		return "", "", "", fmt.Errorf("%w: MaxInFlight %d must be within 0..65535", ErrInvalidConfig, rc.MaxInFlight)
	case rc.DrainTimeout < 0:
		return "", "", "", fmt.Errorf("%w: DrainTimeout %v is negative", ErrInvalidConfig, rc.DrainTimeout)
	}
	u, err := url.Parse(brokerURL)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: broker URL: %w", ErrInvalidConfig, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return "", "", "", fmt.Errorf("%w: broker URL %q: scheme must be tcp, mqtt, ssl, tls, mqtts, ws or wss", ErrInvalidConfig, u.Redacted())
	}
	if u.Host == "" {
		return "", "", "", fmt.Errorf("%w: broker URL %q has no host", ErrInvalidConfig, u.Redacted())
	}
	user, pass = rc.Username, rc.Password
	if u.User != nil {
		if user == "" {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User = nil
	}
	return u.String(), user, pass, nil
}

// worker publishes over one connection, taking turns in its group's round
// robin with the group's other workers.
type worker struct {
	fleet  *Fleet
	irr    *irrigation
	lane   *lane
	client paho.Client
	qos    byte
	clock  func() time.Time
	rate   float64 // messages per second for this worker; 0 = flat out
	limit  int64   // total message limit shared by all workers; 0 = none
	total  *atomic.Int64
	last   []atomic.Int64

	published, failed *atomic.Int64

	// sem holds a slot per unacknowledged message; pending carries their
	// tokens, in publish order, to ack. Both have the window's capacity, so
	// sending on pending never blocks.
	sem     chan struct{}
	pending chan paho.Token
	log     *slog.Logger
	errs    int64
}

// publish runs the pacing loop until ctx ends or the count is reached.
func (w *worker) publish(ctx context.Context) {
	if w.rate == 0 {
		for w.publishOne(ctx) {
		}
		return
	}
	period := max(2*time.Millisecond, time.Duration(float64(time.Second)/w.rate))
	burst := max(1, 4*w.rate*period.Seconds())
	tokens := 1.0
	tick := time.NewTicker(period)
	defer tick.Stop()
	last := time.Now()
	for {
		for ; tokens >= 1; tokens-- {
			if !w.publishOne(ctx) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			tokens = min(burst, tokens+w.rate*now.Sub(last).Seconds())
			last = now
		}
	}
}

// publishOne publishes the next reading; it reports false when the worker
// must stop.
func (w *worker) publishOne(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if n := w.total.Add(1); w.limit > 0 && n > w.limit {
		<-w.sem
		return false
	}
	seq := w.lane.claimed.Add(1)
	i := w.lane.sensors[int((seq-1)%int64(len(w.lane.sensors)))]
	now := w.clock().UnixMilli()
	var ms int64
	var prev int64
	for {
		prev = w.last[i].Load()
		ms = max(now, prev+1)
		if w.last[i].CompareAndSwap(prev, ms) {
			break
		}
	}
	t := time.UnixMilli(ms)
	var since time.Time
	if prev > 0 {
		since = time.UnixMilli(prev)
	}
	var topic string
	var payload []byte
	if w.fleet.sensors[i].Controller {
		vals := w.irr.values(i, t)
		topic, payload = w.fleet.topics[i], w.fleet.encode(i, t, &vals)
	} else {
		topic, payload = w.fleet.ReadingSince(i, t, since)
	}
	w.pending <- w.client.Publish(topic, w.qos, false, payload)
	return true
}

// ack waits for each token in publish order and releases its window slot.
// After abort is closed, tokens still outstanding count as failed.
func (w *worker) ack(abort <-chan struct{}) {
	for tok := range w.pending {
		select {
		case <-tok.Done():
		case <-abort:
		}
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				w.fail(err)
			} else {
				w.published.Add(1)
			}
		default:
			w.fail(errors.New("no acknowledgement within the drain timeout"))
		}
		<-w.sem
	}
	if w.errs > 1 {
		w.log.Warn("publish failures", "failed", w.errs)
	}
}

func (w *worker) fail(err error) {
	w.failed.Add(1)
	w.errs++
	if w.errs == 1 {
		w.log.Warn("publish failed", "err", err)
	}
}
