// Package ngsild serves the twin through the NGSI-LD context API (ETSI GS
// CIM 009), the subset cities and OASC integrations use:
//
//	GET /ngsi-ld/v1/entities                 query: type, id, idPattern, q, attrs, georel, limit/offset/count, options
//	GET /ngsi-ld/v1/entities/{id}            one entity
//	GET /ngsi-ld/v1/temporal/entities/{id}   its history from InfluxDB, raw or aggregated
//	GET /ngsi-ld/v1/types                    the entity types with their counts
//
// The entities are the sensors of the live twin (their latest values, with
// observedAt and unitCode, location and Relationships to the features they
// are linked to) and the city's features with their live indicators:
// AdministrativeArea (adminLevel district or neighbourhood), RoadSegment,
// Greenspace and IrrigationZone. Tenancy follows the NGSILD-Tenant header,
// or Fiware-Service, defaulting to the ingest default tenant; the city's
// features belong to every tenant, their indicators to all tenants' sensors.
//
// JSON-LD contexts are not expanded: attribute and type names are served as
// the sensors sent them, and responses link the NGSI-LD core context.
// Errors are NGSI-LD ProblemDetails.
package ngsild
