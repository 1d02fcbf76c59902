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
// functions document each pattern. An irrigation controller's soil water
// content is a state instead (irrigation.go): it rises by 0.01 m³/m³ a
// minute while the valve is open (the 05:00 programme, or an open_valve
// command), up to 0.03 above field capacity, and dries at the pattern's
// evapotranspiration rate otherwise.
//
// Sensors speak NGSI, or one of the FIWARE IoT Agent device protocols
// (FleetConfig.Protocols): UltraLight 2.0, "{time}|l|61.2|x|70.4" on
// /ul/{apikey}/{device}/attrs, or JSON, {"TimeInstant":…,"l":61.2} on
// /json/{apikey}/{device}/attrs. IoT Agent devices belong to a simulated
// vendor per entity type, with one service group per vendor and protocol
// (Fleet.Vendors): their provisioning maps the short object_ids to the
// same Smart Data Models attributes, units, location and relationships the
// NGSI readings carry, so both land in the twin alike. Provision creates
// the groups and devices through citytwin's provisioning API and returns
// the groups' MQTT credentials. Soil probes speaking an IoT Agent protocol
// are irrigation controllers: they take the open_valve command, answer it
// on cmdexe, and their soil moisture rises while the valve is open.
//
// Run publishes a fleet's readings to a broker with paced, parallel paho
// connections and QoS 1 acknowledgements awaited asynchronously, each
// vendor group with its own credentials, and answers the controllers'
// commands.
//
// # Units
//
// Coordinates are WGS84 [lon, lat] degrees; traffic sensors carry a
// 2-point LineString. Times are RFC 3339 UTC with milliseconds: dateObserved
// in NGSI-v2 and keyValues shapes, observedAt on every property in NGSI-LD
// normalized and concise shapes. Sound levels are dB(A) (unitCode 2N),
// concentrations µg/m³ (GQ), speed km/h (KMH), temperatures °C (CEL),
// solar radiation W/m² (D54), wind speed m/s (MTS), precipitation mm (MMT);
// intensity is vehicles per 5-minute period in Reading and Values, and
// while Run publishes the vehicles counted since the sensor's previous
// reading (ReadingSince), so that Σ intensity is the volume; occupancy, soilMoistureVwc and
// relativeHumidity are fractions 0–1 without unit code. NGSI-LD shapes put
// the unit in unitCode (ETSI GS CIM 009 clause 4.5.2), NGSI-v2 normalized
// shapes in the unitCode metadata.
//
// # Concurrency
//
// A Fleet is immutable after NewFleet; all its methods are safe for
// concurrent use, and each Reading returns a fresh payload slice. Run owns
// every goroutine and connection it starts: one publisher and one
// acknowledgement waiter per connection, and one goroutine that executes
// commands (paho's handler only queues them, at most 64). It returns only
// after they have all ended and the connections are closed, whether it
// stops for the context, Duration or Count. The unacknowledged messages per
// connection are bounded by RunConfig.MaxInFlight. The controllers' valve
// and soil state lives in the Run, behind one mutex. Provision makes its
// HTTP requests one after the other.
package sim
