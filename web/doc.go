// Package web serves citytwin over HTTP: operations endpoints (/healthz,
// /readyz, /metrics) now, and the APIs and dashboard of later parts.
//
// Server.Run owns the listener and returns when its context ends, after a
// graceful shutdown bounded by Config.ShutdownTimeout. Readiness checks run
// on each /readyz request with a short timeout; SetDraining makes /readyz
// answer 503 from the first step of shutdown on.
package web
