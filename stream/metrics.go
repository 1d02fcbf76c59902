package stream

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a client is disconnected by the hub (label of
// citytwin_stream_clients_dropped_total).
const (
	DropSlow            = "slow"              // behind for longer than MaxBehind
	DropPongTimeout     = "pong_timeout"      // no pong or message within PingInterval+PongTimeout
	DropWriteError      = "write_error"       // a write failed or timed out
	DropReadError       = "read_error"        // the connection broke
	DropMessageTooLarge = "message_too_large" // a client message above MaxMessageBytes
	DropShutdown        = "shutdown"          // the hub closed
)

var dropReasons = []string{DropSlow, DropPongTimeout, DropWriteError, DropReadError, DropMessageTooLarge, DropShutdown}

// Reasons a connection is refused before the WebSocket handshake (label of
// citytwin_stream_connections_refused_total).
const (
	RefuseOrigin = "origin" // Origin not same-origin nor allowed
	RefuseAuth   = "auth"   // token missing or wrong
	RefuseLimit  = "limit"  // MaxClients reached
	RefuseClosed = "closed" // the hub is shutting down
)

var refuseReasons = []string{RefuseOrigin, RefuseAuth, RefuseLimit, RefuseClosed}

// Message types the server sends.
const (
	typeSnapshot = "snapshot"
	typeDelta    = "delta"
	typeError    = "error"
)

type metrics struct {
	clients   prometheus.Gauge
	sent      *prometheus.CounterVec
	bytes     prometheus.Counter
	conflated prometheus.Counter
	dropped   *prometheus.CounterVec
	refused   *prometheus.CounterVec
	encode    prometheus.Histogram
	delay     prometheus.Histogram
	badMsgs   prometheus.Counter
	lostMsgs  prometheus.Counter

	sentSnapshot, sentDelta, sentError prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "citytwin_stream_clients",
			Help: "WebSocket clients connected to the stream hub."}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citytwin_stream_messages_sent_total",
			Help: "Messages written to WebSocket clients, by type (snapshot, delta, error)."}, []string{"type"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_bytes_sent_total",
			Help: "Payload bytes of the messages written to WebSocket clients."}),
		conflated: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_items_conflated_total",
			Help: "Delta items merged into a lagging client's pending item of the same entity (latest wins)."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citytwin_stream_clients_dropped_total",
			Help: "Clients disconnected by the hub, by reason."}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citytwin_stream_connections_refused_total",
			Help: "WebSocket connections refused before the handshake, by reason."}, []string{"reason"}),
		encode: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "citytwin_stream_encode_seconds",
			Help:    "Time per flush to collect the changed items from the source, encode them and build one delta per distinct subscription.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 1.6, 22)}), // 50 µs to ~1 s
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "citytwin_stream_delta_delay_seconds",
			Help:    "Time from the start of a flush to the end of the write of its delta to a client's socket (a conflated delta: from its earliest flush), per client: how far behind the stream the hub delivers.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .15, .2, .25, .35, .5, .75, 1, 2.5, 5, 10}}),
		badMsgs: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_client_errors_total",
			Help: "Client messages answered with an error message."}),
		lostMsgs: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_error_messages_dropped_total",
			Help: "Error messages not sent because the client's send queue was full."}),
	}
	m.sentSnapshot = m.sent.WithLabelValues(typeSnapshot)
	m.sentDelta = m.sent.WithLabelValues(typeDelta)
	m.sentError = m.sent.WithLabelValues(typeError)
	for _, r := range dropReasons {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range refuseReasons {
		m.refused.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.clients, m.sent, m.bytes, m.conflated, m.dropped, m.refused, m.encode, m.delay, m.badMsgs, m.lostMsgs)
	}
	return m
}
