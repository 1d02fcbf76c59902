// Package twin is the city model: observations, the domains sensors belong to,
// their units and plausible ranges, and (in later parts) sensors linked to the
// city's features, live indicators, alerts and scenarios.
//
// Package twin does no I/O and starts no goroutines. An Observation is plain
// data: built by a decoder, checked by Validate, linked to the city at ingest,
// then owned by whoever holds it. State is the one stateful type: the live
// twin (latest value per sensor and attribute, links, staleness, per-feature
// indicators), with one writer (Apply) and many readers behind a
// sync.RWMutex; it copies what it keeps from observations. Everything else
// is a pure function.
//
// Units: coordinates are WGS84 [lon, lat] in degrees; times are UTC; attribute
// values carry the unit of their domain specification (dB(A), µg/m³, vehicles,
// km/h, volumetric fraction 0–1, …) as documented in AttrSpec.
package twin
