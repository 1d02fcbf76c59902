// Package stream is the WebSocket hub of the live map: clients subscribe to
// layers and a bounding box, receive a snapshot, then coalesced deltas at a
// bounded rate.
//
// The hub moves encoded items; it does not know the twin. A Source (the
// twin's is stream/twinfeed) declares the layers, answers snapshots and, at
// every flush, hands over the items that changed, each encoded once. The hub
// builds one delta per distinct subscription (tenant, layers, bbox) by
// concatenating those encodings and writes the same bytes to every client of
// that subscription (a websocket.PreparedMessage): a thousand clients
// watching the whole city cost one encoding per flush.
//
// # Concurrency
//
// Hub.ServeHTTP runs one connection per call: the calling goroutine reads
// the client's messages, and one writer goroutine per client writes its
// queue and pings; both end before ServeHTTP returns. Hub.Run is the flush
// loop; Hub.Flush may also be called directly. Nothing the hub does waits
// for a client while holding a lock other than that client's: a slow client
// costs its own queue and goroutines only. Each client's queue holds at most
// Config.SendQueue messages; beyond, its deltas are merged per entity
// into one pending delta (latest wins; partial items of a layer with
// Layer.Merge are merged field by field, see merge.go), and a client that
// stays behind for Config.MaxBehind is disconnected with 1008 and counted. Hub.Close (or the
// end of Run's context) closes every client with 1001 and waits for their
// goroutines.
//
// # Protocol
//
// One endpoint (mounted at /ws). Messages are JSON text frames.
// Coordinates are WGS84 [lon, lat] in degrees; times are RFC 3339 UTC.
//
// Connecting. Browsers may connect from the server's own origin or from an
// origin listed in Config.AllowedOrigins (otherwise 403). When Config.Token
// is set, the token is required as "Authorization: Bearer <token>" or
// ?token=<token> (otherwise 401). Beyond Config.MaxClients the answer is
// 503. The tenant is the NGSILD-Tenant header (or Fiware-Service), else the
// subscribe message's tenant, else "default".
//
// Client to server, at any time, replacing the previous subscription:
//
//	{"type":"subscribe",
//	 "layers":["noise","air","traffic","irrigation","district","road","alerts"],
//	 "bbox":[9.10,45.40,9.30,45.52],
//	 "tenant":"milano"}
//
// Its fields:
//
//   - type: required, "subscribe".
//   - layers: required array of layer names: the sensor layers noise, air,
//     traffic, irrigation and generic (sensors by domain); the feature
//     layers district, neighbourhood, road, greenarea and irrigationzone
//     (the city's features with their live indicators); alerts. [] stops
//     everything.
//   - bbox: optional [minLon, minLat, maxLon, maxLat]; null or absent means
//     the whole city. An item is inside when its bounding box meets the
//     bbox (edges included); items without a location are sent only to
//     subscriptions without a bbox. A sensor that moves out of the bbox is
//     not removed from the client (it is not sent any more).
//   - tenant: optional; when the connection has a tenant header it must be
//     equal to it.
//
// No other field is accepted. A message larger than Config.MaxMessageBytes
// closes the connection with 1009. Subscribes are processed at most 10 per
// second per connection; faster ones wait their turn.
//
// Server to client:
//
//	{"type":"snapshot","seq":41,"full":true,"tenant":"milano",
//	 "layers":["noise","road","alerts"],"bbox":[9.1,45.4,9.3,45.52],
//	 "sensors":[…],"features":[…],"alerts":[…]}
//
// answers every subscribe. With "full":true it is the whole state of the
// subscription: the client replaces what it holds. With "full":false (a
// change of layers or bbox within the same tenant) it holds only the items
// the previous subscription did not cover: the client first drops the items
// of layers it no longer subscribes to and those outside the new bbox, then
// adds these. seq is the number of the last delta the snapshot includes.
//
//	{"type":"delta","seq":42,"sensors":[…],"features":[…],"alerts":[…]}
//
// follows, at most once per Config.FlushInterval (200 ms by default), with
// every item that changed since the previous delta. (citytwin's feed sends
// a feature whose indicators changed at most once a second by default,
// serve -ws-feature-interval; its sensors at every delta.) Features and alerts
// are complete and replace the client's item with the same identity (a
// feature's id in its layer, an alert's id). A sensor item is merged into
// the client's sensor with the same id (see "Sensor items in deltas"). seq
// increases; a gap means that nothing in the subscription changed or that
// deltas were merged for a lagging client, never that a change was lost. A
// delta may repeat what the snapshot already had. After a subscribe, no
// delta of the previous subscription follows its snapshot.
//
//	{"type":"error","field":"layers[1]","message":"layers[1]: unknown layer \"nois\": want one of noise, …"}
//
// answers a client message that is not valid: field is the JSON path of the
// offending field (empty for the message as a whole) and message states
// the rule. The subscription stays as it was.
//
// With Config.Compression the server accepts permessage-deflate (RFC 7692)
// and compresses the messages that several clients share.
//
// Closing: 1001 when the server shuts down; 1008 with a reason for a client
// too slow ("client too slow: more than 10s behind the stream") or that did
// not answer pings; 1009 for a message too large. The server pings every
// Config.PingInterval; browsers answer by themselves.
//
// Items, as served by citytwin (stream/twinfeed); absent values are omitted.
// Names follow the NGSI-LD attributes of the entities (web/ngsild).
//
// Sensor (layers noise, air, traffic, irrigation, generic; a sensor's
// layer is its domain):
//
//	{"id":"urn:ngsi-ld:NoiseLevelObserved:n-17","type":"NoiseLevelObserved","domain":"noise",
//	 "lon":9.19,"lat":45.46,"stale":false,"lastSeen":"2025-06-01T12:00:00Z",
//	 "values":{"LAeq":{"value":61.2,"unitCode":"2N","observedAt":"2025-06-01T12:00:00Z"}},
//	 "links":{"district":"m-1","neighbourhood":"nil-12","road":"r-0042"}}
//
// A sensor located by a line has "geometry":{"type":"LineString",
// "coordinates":[[lon,lat],…]} instead of lon and lat; one never located has
// neither. links name the features it belongs to, by layer (district,
// neighbourhood, road, greenarea, irrigationzone).
//
// Sensor items in deltas. Snapshots carry complete sensor items. In a
// delta, a sensor item carries only what changed since the previous delta:
//
//	{"id":"urn:ngsi-ld:NoiseLevelObserved:n-17","domain":"noise","stale":false,
//	 "values":{"LAeq":{"value":61.4,"unitCode":"2N","observedAt":"2025-06-01T12:00:01.250113Z"}}}
//
// Its members:
//
//   - id, domain and stale: always.
//   - values: the attributes whose value, unitCode or observedAt changed,
//     each complete ({"value","unitCode" when it has one,"observedAt"});
//     absent when none did. The client replaces those attributes and keeps
//     the others.
//   - lastSeen: only when it is not the newest observedAt of the sensor's
//     values (an observation that carried no attribute). Otherwise the
//     client sets lastSeen to the newest of its lastSeen and the
//     observedAt of the values received.
//   - links: the whole object, when the sensor's links changed.
//   - type, lon/lat, geometry: never in a partial item. A sensor new to the
//     stream, one whose type or location changed, and every sensor of the
//     two deltas that follow the start of a snapshot (see below) come as a
//     complete item, as in a snapshot.
//
// The client merges every sensor item of a delta, complete or not, field by
// field: each member present replaces the client's, values merge per
// attribute, lon and lat drop a held geometry and a geometry drops held lon
// and lat; a sensor it does not hold yet is created from the item. Merging
// a complete item gives the complete item. A sensor whose item carries
// nothing new (an older observation, the same values again) is not sent.
//
// "Changed since the previous delta" is global: the server encodes each
// changed sensor once per flush for all clients. A lagging client whose
// deltas are conflated receives the merge of the items it missed (the same
// rules, applied by the hub), so what it holds after merging is the same.
// A client lags when its socket does not drain: each connection's kernel
// send buffer is kept small (Config.SendBuffer, 64 KiB), so that a slow
// client's backlog stays in the hub, where it is conflated, instead of
// megabytes of old deltas queued in the kernel.
// A snapshot reads the live state between two flushes, possibly ahead of
// the last delta; the two deltas after a snapshot starts carry complete
// sensor items, so that no change the snapshot saw and a later one undid
// within a flush (a sensor moved and back) is lost. stale is in every item
// because staleness follows the clock, not only the deltas.
//
// Values are not rounded: they are the numbers the devices sent (JSON's
// shortest round-trip form), as the NGSI-LD API serves them; rounding would
// make the map disagree with the API for little gain once compressed.
//
// citytwin serve -ws-full-deltas (twinfeed.Config.FullDeltas) sends
// complete sensor items in deltas, the former protocol, for comparisons.
//
// Feature (layers district, neighbourhood, road, greenarea, irrigationzone;
// the geometry comes from /api/v1/layers/{kind}):
//
//	{"kind":"neighbourhood","id":"nil-12","indicators":{"sensorCount":4,"staleSensorCount":0,
//	 "LAeq":63.1,"aqiBand":"fair","aqiPollutant":"pm10","pm25":9.5,"pm10":31,"no2":40,"o3":60,
//	 "congestionIndex":0.42,"intensity":120,"averageVehicleSpeed":31,
//	 "soilMoistureVwc":0.18,"waterDeficit":42,"needsWater":true}}
//
// The indicators (see twin.Indicators) carry the names of the feature's
// NGSI-LD attributes: sensorCount, staleSensorCount, LAeq (dB(A), energetic
// mean), aqiBand and aqiPollutant (European AQI), pm25, pm10, no2, o3
// (µg/m³), congestionIndex (0–1), intensity (vehicles per hour, see
// twin.Indicators.Flow), averageVehicleSpeed
// (km/h), soilMoistureVwc (m³/m³), waterDeficit (mm), needsWater. The city's
// features belong to every tenant and their indicators count every
// tenant's sensors, as in the NGSI-LD API.
//
// Alert (layer alerts): the JSON of twin.Alert, as served by
// /api/v1/alerts; "open":false closes it (the client removes it).
//
//	{"id":"noise-dpcm-iv/milano/neighbourhood/nil-12/1748779200","rule":"noise-dpcm-iv",
//	 "title":"…","attr":"LAeq","tenant":"milano","featureKind":"neighbourhood",
//	 "featureId":"nil-12","sensors":["n-17"],"sensorCount":1,"threshold":65,"value":67.2,
//	 "peak":68,"peakSensor":"n-17","peakTime":"…","start":"…","open":true,"window":"1h0m0s"}
package stream
