// Package twinfeed streams the live twin: it is the stream.Source of
// citytwin's WebSocket hub, so that package stream itself does not depend
// on the twin (it moves encoded items and stays benchmarkable on its own).
//
// The pipeline calls Feed.Publish after every stored batch (after
// State.Apply) and Feed.PublishAlerts with the alert changes. Both only
// record the ids that changed, in maps bounded by Config.MaxPending and
// Config.MaxPendingAlerts, under a mutex that the hub's flush holds only to
// swap the maps: they never wait for clients and do O(batch) work.
//
// At each flush the hub calls Changes from its single flush goroutine: the
// feed reads each changed sensor once from the State, recomputes the
// indicators of each feature linked to the changed sensors once (and of the
// features a moved sensor left), checks staleness every Config.StaleSweep,
// and encodes every item once: a sensor already streamed as a partial item
// holding what differs from what it last sent (Config.FullDeltas: complete
// items), see the stream package's PROTOCOL. Snapshot may run concurrently
// with Changes: it only reads the State, the City (immutable) and the
// Alerts.
//
// Item formats are documented in the stream package (PROTOCOL). Coordinates
// are WGS84 [lon, lat] in degrees; times RFC 3339 UTC; indicator units as
// in twin.Indicators.
package twinfeed
