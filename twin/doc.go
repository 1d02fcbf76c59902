// Package twin is the city model: observations, the domains sensors belong to,
// their units and plausible ranges, and (in later parts) sensors linked to the
// city's features, live indicators, alerts and scenarios.
//
// Package twin does no I/O. Its values are plain data: an Observation is built by
// a decoder, checked by Validate, and then owned by whoever holds it; nothing in
// this package keeps references to observations or spawns goroutines, so every
// function is safe for concurrent use.
//
// Units: coordinates are WGS84 [lon, lat] in degrees; times are UTC; attribute
// values carry the unit of their domain specification (dB(A), µg/m³, vehicles,
// km/h, volumetric fraction 0–1, …) as documented in AttrSpec.
package twin
