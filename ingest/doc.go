// Package ingest takes sensor data from MQTT and stores it in InfluxDB without
// losing an accepted reading.
//
// A Subscriber holds citytwin's MQTT session (QoS 1, clean session off, manual
// acknowledgements) and hands each message to a Pipeline. The Pipeline decodes
// and validates it (Decoder: NGSIDecoder for ngsi/# topics), appends its points
// as line protocol to the current batch and, once the batch is durable —
// accepted by the Store (Influx) or fsynced to the local spool — acknowledges
// its messages to the broker, in arrival order. Spooled batches are replayed
// by a background goroutine when InfluxDB is back; points InfluxDB refuses as
// data errors are isolated by halving the batch so good points are kept.
//
// Rejected input (not JSON, unknown shape, missing id/type, bad or
// out-of-range value, future time, bad coordinates, too large, kind conflict)
// is acknowledged, counted by reason, logged at debug and published to the
// sender on ErrorTopic(prefix, topic).
//
// Concurrency: Handle may be called from any goroutine; one batcher goroutine
// decodes (keeping order); Config.Writers goroutines write; one acker
// acknowledges; one replayer drains the spool. Every queue is bounded:
// the intake holds at most Config.MaxInflight messages (sized to the broker's
// inflight window, so the MQTT handler normally never waits; when it must, it
// waits and intake_full_total counts it), batches in flight are Writers+2.
//
// Units: times are UTC with nanosecond precision in InfluxDB; numbers are
// written as floats.
package ingest
