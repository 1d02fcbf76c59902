// Package democity generates the demo city: a schematic but plausible
// cartography (9 districts, about 40 neighbourhoods, a road network of some
// 3,000 segments, about 25 parks with their irrigation zones) that citytwin
// uses when no city is configured, so that `make run` has a map to place the
// simulated fleet on. WriteGeoJSON saves it as a folder of layers in the
// CITYTWIN_CITY format, which doubles as a sample of that format.
//
// # Units
//
// Coordinates are WGS84 [lon, lat] in degrees, rounded to 1e-7° (about
// 1 cm). The city is laid out in metres on a local equirectangular plane
// around Config.Center (111,320 m per degree of latitude, times the cosine of
// the centre latitude per degree of longitude) and projected to degrees at the
// end. Lengths (Props "length_m") are metres and areas (Props "area_m2")
// square metres, measured on that plane.
//
// # Invariants
//
// Generate is a pure function of its Config: the same Config yields the
// same features, in the same order, on every platform run. Districts tile
// the city disc and neighbourhoods tile their district, with shared edges
// made of identical vertices; irrigation zones tile their park. Every
// polygon is simple, closed and counter-clockwise (RFC 7946 section 3.1.6).
//
// # Concurrency
//
// The package has no state: Generate and WriteGeoJSON are safe for
// concurrent use.
package democity
