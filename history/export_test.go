package history

// FluxString exports fluxString to the black-box tests, which check its
// literals against a real InfluxDB.
var FluxString = fluxString
