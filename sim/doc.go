// Package sim simulates a city's sensor fleet publishing FIWARE Smart Data
// Models readings over MQTT, for demos, load tests and end-to-end tests of
// citytwin's ingest.
//
// A Fleet (NewFleet) is a deterministic set of sensors: noise
// (NoiseLevelObserved), air quality (AirQualityObserved), traffic
// (TrafficFlowObserved) and irrigation (GreenspaceRecord soil probes and
// WeatherObserved stations). Fleet.Reading renders the reading of a sensor
// at a time as an MQTT topic, ngsi/{tenant}/{domain}/{tenant}-{n}, and a
// JSON payload in one of the Shapes: NGSI-LD normalized, concise or
// keyValues, NGSI-v2 normalized or keyValues, an Orion or NGSI-LD
// notification, or an array of entities. Fleet.Values returns the numbers
// the payload carries, for tests of decoders.
//
// Readings follow daily patterns of Europe/Rome local time plus smooth
// seeded noise, so the same seed, sensor and time always give the same
// payload: traffic peaks at 08:00 and 18:00 and is low at night, noise and
// NO2 follow it, ozone peaks in the afternoon sun, soil moisture dries
// through the day and is restored by irrigation at 05:00. The model
// functions document each pattern.
//
// Run publishes a fleet's readings to a broker with paced, parallel paho
// connections and QoS 1 acknowledgements awaited asynchronously.
//
// # Units
//
// Coordinates are WGS84 [lon, lat] degrees; traffic sensors carry a
// 2-point LineString. Times are RFC 3339 UTC with milliseconds: dateObserved
// in NGSI-v2 and keyValues shapes, observedAt on every property in NGSI-LD
// normalized and concise shapes. Sound levels are dB(A) (unitCode 2N),
// concentrations µg/m³ (GQ), speed km/h (KMH), temperatures °C (CEL),
// solar radiation W/m² (D54), wind speed m/s (MTS), precipitation mm (MMT);
// intensity is vehicles per 5-minute period; occupancy, soilMoistureVwc and
// relativeHumidity are fractions 0–1 without unit code. NGSI-LD shapes put
// the unit in unitCode (ETSI GS CIM 009 clause 4.5.2), NGSI-v2 normalized
// shapes in the unitCode metadata.
//
// # Concurrency
//
// A Fleet is immutable after NewFleet; all its methods are safe for
// concurrent use, and each Reading returns a fresh payload slice. Run owns
// every goroutine and connection it starts: one publisher and one
// acknowledgement waiter per connection. It returns only after they have
// all ended and the connections are closed, whether it stops for the
// context, Duration or Count. The unacknowledged messages per connection are
// bounded by RunConfig.MaxInFlight.
package sim
