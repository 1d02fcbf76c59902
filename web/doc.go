// Package web serves citytwin over HTTP: operations endpoints (/healthz,
// /readyz, /metrics, optional pprof), the GeoJSON layers with live
// indicators (Layers), alerts (AlertsAPI), the dashboard at / with its
// configuration (UI, assets embedded with the build tag ui) and the map as
// it was at a past time (Replay, from InfluxDB). The NGSI-LD API is in
// web/ngsild, the IoT Agent provisioning API in web/provision, the live
// map's WebSocket hub in package stream.
//
// Server.Run owns the listener and returns when its context ends, after a
// graceful shutdown bounded by Config.ShutdownTimeout. Readiness checks run
// on each /readyz request with a short timeout; SetDraining makes /readyz
// answer 503 from the first step of shutdown on.
package web
