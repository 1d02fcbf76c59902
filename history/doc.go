// Package history reads citytwin's history back from InfluxDB: the temporal
// queries of NGSI-LD (raw values, last N, aggregates per period) for one
// entity, and the newest value of every series to rebuild the live twin
// after a restart.
//
// It relies on the schema that ingest writes (see ingest/lineproto.go): one
// measurement per entity type; tags district, domain, entity_id,
// greenspace, neighbourhood, road, tenant and zone; one field per attribute,
// named as sent (numbers as floats, booleans, text); and a text field
// location holding the GeoJSON Point or LineString of the sensor.
//
// Every computation runs in InfluxDB, in Flux: filtering by tenant, entity
// and attribute, last N (tail), aggregates per bucket (window with mean, min,
// max, sum, count) and the newest value of each entity's fields (group,
// sort, unique). Store merges and sorts what comes back, no more. The programs use only what the
// Flux 0.65 of InfluxDB 1.8.10 offers (/api/v2/query, bucket
// "database/retention-policy") and run unchanged on InfluxDB 2.x. 1.8 takes
// no query parameters, so user strings are written into the program as
// escaped string literals.
//
// Concurrency: a Store is safe for concurrent use; it starts no goroutines
// of its own (the HTTP client keeps idle connections until Close). Latest
// calls its callback on the caller's goroutine.
//
// Units: times are UTC with nanosecond precision; ranges include their
// start and exclude their end; aggregate buckets are [Start, End); numbers
// are float64 in the unit the attribute was sent in; coordinates are WGS84
// [lon, lat].
package history
