// Package twin is the city model: observations, the domains sensors belong to,
// their units and plausible ranges, the live state of sensors linked to the
// city's features with per-feature indicators, and threshold alerts.
//
// Package twin does no I/O and starts no goroutines. An Observation is plain
// data: built by a decoder, checked by Validate, linked to the city at ingest,
// then owned by whoever holds it. Two types keep state, each behind its own
// mutex and copying what it keeps from observations: State, the live twin
// (latest value per sensor and attribute, links, a spatial index of sensor
// locations, staleness, per-feature indicators), with one writer (Apply) and
// many readers; and Alerts, the threshold rules with rolling windows and
// hysteresis, whose Apply returns the alerts that opened, changed or closed.
// Everything else is a pure function. Both run on observation time, never the
// wall clock, except where a caller passes "now" (staleness, Alerts.Tick).
//
// Units: coordinates are WGS84 [lon, lat] in degrees; times are UTC; attribute
// values carry the unit of their domain specification (dB(A), µg/m³, vehicles,
// km/h, volumetric fraction 0–1, …) as documented in AttrSpec.
package twin
