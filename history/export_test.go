package history

// FluxString exports fluxString to the black-box tests, which check its
// literals against a real InfluxDB.
var FluxString = fluxString

// Dialect exports the dialect the store reads the rollups in.
var Dialect = (*Store).dialect
