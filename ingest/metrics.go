package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/twin"
)

// Registerer is where the pipeline registers its metrics
// (prometheus.DefaultRegisterer, or a fresh prometheus.NewRegistry in tests).
type Registerer = prometheus.Registerer

type metrics struct {
	received, acked, stored, spooled, replayed, storeRejected prometheus.Counter
	intakeFull, errorsDropped, writeFailures, spoolFailures   prometheus.Counter
	writeSeconds, latency                                     prometheus.Histogram
	byReason                                                  map[twin.Reason]prometheus.Counter
	byDomain                                                  map[twin.Domain]prometheus.Counter
}

func newMetrics(reg Registerer, p *Pipeline) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "citytwin", Subsystem: "ingest", Name: name, Help: help})
	}
	m := &metrics{
		received:      counter("messages_received_total", "MQTT messages received."),
		acked:         counter("messages_acked_total", "MQTT messages acknowledged after their points were durable (or they were rejected)."),
		stored:        counter("points_stored_total", "Points InfluxDB accepted, directly or from the spool."),
		spooled:       counter("points_spooled_total", "Points written to the local spool because InfluxDB was unavailable."),
		replayed:      counter("points_replayed_total", "Spooled points later accepted by InfluxDB."),
		storeRejected: counter("points_store_rejected_total", "Points InfluxDB refused as data errors (400/413/422)."),
		intakeFull:    counter("intake_full_total", "Times the intake queue was full and the MQTT handler had to wait (broker inflight window larger than max inflight)."),
		errorsDropped: counter("error_notices_dropped_total", "Rejection notices not published because the error-topic queue was full."),
		writeFailures: counter("write_failures_total", "InfluxDB writes that failed for availability reasons (then spooled)."),
		spoolFailures: counter("spool_failures_total", "Failed attempts to write a batch to the spool (disk error, or the spool is full)."),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "write_seconds",
			Help: "Duration of InfluxDB batch writes.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "batch_latency_seconds",
			Help: "Time from the arrival of a batch's first message to its points being stored in InfluxDB.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		byReason: make(map[twin.Reason]prometheus.Counter),
		byDomain: make(map[twin.Domain]prometheus.Counter),
	}
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "rejected_total",
		Help: "Rejected messages or entities, by reason."}, []string{"reason"})
	for _, r := range twin.Reasons {
		m.byReason[r] = rejected.WithLabelValues(string(r))
	}
	accepted := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "observations_accepted_total",
		Help: "Observations accepted (validated and queued for storage), by domain."}, []string{"domain"})
	for _, d := range []twin.Domain{twin.DomainNoise, twin.DomainAir, twin.DomainTraffic, twin.DomainIrrigation, twin.DomainGeneric} {
		m.byDomain[d] = accepted.WithLabelValues(string(d))
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.received, m.acked, m.stored, m.spooled, m.replayed, m.storeRejected, m.intakeFull,
		m.errorsDropped, m.writeFailures, m.spoolFailures, m.writeSeconds, m.latency, rejected, accepted,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "spool_points",
			Help: "Points in the local spool waiting for InfluxDB."}, func() float64 { _, n := p.spool.depth(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "spool_bytes",
			Help: "Bytes in the local spool."}, func() float64 { return float64(p.spool.size()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "spool_batches",
			Help: "Batches in the local spool waiting for InfluxDB."}, func() float64 { n, _ := p.spool.depth(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "citytwin", Subsystem: "ingest", Name: "intake_queue_length",
			Help: "Messages waiting in the intake queue."}, func() float64 { return float64(p.in.len()) }),
	)
	return m
}

func (m *metrics) rejected(r twin.Reason) {
	if c, ok := m.byReason[r]; ok {
		c.Inc()
	}
}

func (m *metrics) accepted(d twin.Domain) {
	if c, ok := m.byDomain[d]; ok {
		c.Inc()
	}
}
