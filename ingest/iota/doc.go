// Package iota implements the FIWARE IoT Agent device protocols for
// citytwin: Ultralight 2.0 and JSON over MQTT, the provisioning model of
// the IoT Agent north API (config groups and devices), and the mapping of
// device measures to NGSI-v2 entity updates and twin observations, exactly
// as telefonicaid/iotagent-ul, iotagent-json and iotagent-node-lib do it,
// except where a rule below says otherwise.
//
// The package is pure: no I/O, no goroutines, no clock. The registry of
// groups and devices, the provisioning HTTP API, broker authentication and
// the MQTT wiring live above it and call it.
//
// # Topics
//
// Devices publish on topics under their protocol prefix; the agent
// publishes on topics without one. Every form also comes without the
// leading slash, and device-to-agent topics also in the legacy prefix-less
// form "/{apikey}/{deviceId}/…", whose protocol comes from the device's
// provisioning (ProtocolOf) or else from the payload (DetectProtocol).
//
//	direction         topic                                          payload: Ultralight | JSON
//	device → agent    /{ul|json}/{apikey}/{deviceId}/attrs           h|70|t|15 | {"h":70,"t":15} or [{…},{…}]
//	device → agent    /{ul|json}/{apikey}/{deviceId}/attrs/{attr}    70 (raw value) | 70, "x", [{"timestamp","value"},…]
//	device → agent    /{ul|json}/{apikey}/{deviceId}/cmdexe          dev1@ping|ok | {"ping":"ok"}
//	device → agent    /{ul|json}/{apikey}/{deviceId}/configuration/commands
//	                                                                 configuration|a|b | {"type":"configuration","fields":["a","b"]}
//	agent → device    /{apikey}/{deviceId}/cmd                       dev1@ping|22, dev1@ping|k=v|… | {"ping":{"data":"22"}}
//	agent → device    /{apikey}/{deviceId}/configuration/values      dev1@configuration|a=1|dt=… | {"a":1,"dt":"…"}
//	citytwin → device /{apikey}/{deviceId}/errors                    why a payload was rejected (ErrorTopic)
//
// ParseTopic reads the device-to-agent forms; Subscriptions lists the
// filters that cover them; CommandTopic, ConfigValuesTopic and ErrorTopic
// build the others. citytwin publishes commands on the unprefixed
// "/{apikey}/{deviceId}/cmd", as both agents do.
//
// # Payloads
//
// Ultralight 2.0 (ParseUL): "k|v|k|v" pairs, '#' between groups (one NGSI
// update each), an optional leading timestamp field per group (a group
// with an odd number of fields), one leading '|' tolerated. Values are
// text, cast as the agents cast them with JSON.parse ("23" → 23, "true" →
// true, "None" stays text). Command results are "{deviceId}@{cmd}|{result}"
// (ParseULResult); commands are encoded by EncodeULCommand.
//
// JSON (ParseJSONMeasures): an object of measures, or an array of them
// (one update each). A single-measure topic carries a JSON value, or raw
// bytes the JSON agent stores hex-encoded (ParseJSONValue). Command results
// are {"{cmd}": result} (ParseJSONResults); commands {"{cmd}": value}
// (EncodeJSONCommand).
//
// ParseMeasures dispatches on the topic and protocol and returns Measures.
//
// # Provisioning
//
// Group and Device decode the IoT Agent north API's JSON (DecodeGroups,
// DecodeDevices) and Validate checks them, naming the field and the rule
// ("devices[0].device_id: required"). Beyond the agents' own rules,
// citytwin asks that:
//
//   - an apikey be 1-64 characters of [A-Za-z0-9_-], not "ul" or "json";
//   - a device_id and every object_id be usable as one MQTT topic level
//     (no /, +, #, control characters; object_ids also no | or #);
//   - entity names, types and attribute names pass twin.Validate (at most
//     256 bytes, no control characters; no attribute "time" or "_…");
//   - Fiware-Service and Fiware-ServicePath follow Orion's syntax;
//   - expressions compile (see below) and unitCode metadata be text;
//   - features citytwin does not implement be absent rather than ignored:
//     lazy attributes, multi-entity attributes (entity_name on an
//     attribute), and NGSI payloadType (ngsiv2, ngsild).
//
// Fields that only matter to an agent's own broker connection or to the
// HTTP transport (cbHost, cbroker, trust, endpoint, polling, timezone, …)
// are kept and have no effect. timezone only changes how an agent renders
// TimeInstant; citytwin keeps instants in UTC.
//
// # Mapping
//
// MapNGSI turns Measures into the NGSI-v2 updates the IoT Agent would send
// (its documentation lists the rules, and conformance_test.go replays the
// agents' own test cases against it); Map turns those into
// twin.Observation values (Entity.Observations lists the rules) and checks
// them with twin.Validate. The tenant is the Fiware-Service in lower case
// (TenantOf); the Fiware-ServicePath stays on the Entity, since
// twin.Observation has no field for it.
//
// Expressions (attribute expression, metadata expression, entityNameExp,
// explicitAttrs, command expression) are JEXL as the IoT Agent library
// writes them ("level * 0.897", "ts|toisodate", "{coordinates: [lon,lat],
// type: 'Point'}") or the legacy "${@level / 100}", run by
// github.com/expr-lang/expr with its builtins disabled, only the
// ExpressionFunctions, at most MaxExpressionLen bytes and a bounded syntax
// tree and memory budget. An expression sees the measures by name, the
// static attributes, the attributes computed before it, id, type, service,
// subservice, entity_name, and "value", the attribute's own measure. Mixing
// text and numbers with + needs tostring(), unlike JavaScript.
//
// # Concurrency and units
//
// Every function is safe for concurrent use: the only shared state is a
// bounded cache of compiled expressions and a pool of JSON parsers, and no
// result shares memory with its input. Values and arguments are never
// modified. Nothing reachable from a payload panics (the fuzz targets
// check this). Times are UTC; a time without a zone is read as UTC.
// Coordinates are GeoJSON [lon, lat] in degrees (a geo:point "lat, lon"
// text is swapped). Numbers are float64 in the device's unit, reported in
// twin.Attr.Unit when the attribute has a unitCode metadata; no unit
// conversion happens here.
package iota
