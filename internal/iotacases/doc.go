// Package iotacases gives the conformance tests the FIWARE IoT Agents' own
// test cases: the MQTT and HTTP cases of telefonicaid/iotagent-ul and
// iotagent-json extracted into shared/data/iotagent beside the repository
// (AGPL test data, read in place and used only as test input, never copied
// into the repository), and which of them test features citytwin does not
// implement, with the reason.
//
// Two tests replay the cases: ingest/iota's conformance test runs the codec
// in memory and compares the NGSI-v2 requests it would send (OutOfScope
// says which cases it skips); cmd/citytwin's runs each case through the
// real binary, Mosquitto and InfluxDB and compares what is stored
// (OutOfScopeEndToEnd adds what the service does not do).
//
// It is test support: Load skips the calling test when the data is absent.
// Its functions are pure apart from Load, and safe for concurrent use.
package iotacases
