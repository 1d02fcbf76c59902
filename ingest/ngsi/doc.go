// Package ngsi decodes NGSI-LD and NGSI-v2 payloads into twin.Observation values.
//
// Decode accepts one payload: a single entity, an array of entities, an Orion
// NGSI-v2 notification ({"subscriptionId", "data": [...]}) or an NGSI-LD
// notification ({"id", "type": "Notification", "subscriptionId", "notifiedAt",
// "data": [...]}, ETSI GS CIM 009 clause 5.3.1). Each entity is detected on its
// own, and each attribute is unwrapped on its own, so an array may mix NGSI-LD
// normalized, concise and keyValues entities with NGSI-v2 normalized and
// keyValues ones. A bad entity never costs the good ones beside it: it yields
// one *twin.InputError naming the JSON path of the field that broke a rule
// ("data[1].LAeq"), and the others still decode.
//
// Mapping rules, in short:
//
//   - Numbers, booleans and text of at most twin.MaxTextLen bytes become Attrs,
//     sorted by name; objects, arrays, null, empty text and date-time text are
//     not readings and are skipped. Numeric text stays text.
//   - NGSI-LD unitCode and NGSI-v2 metadata unitCode become Attr.Unit.
//   - Relationships (NGSI-LD "object", NGSI-v2 type "Relationship"), attributes
//     named refXxx or hasXxx holding ids, and text holding an NGSI-LD URN become
//     Observation.Refs (the first id of a list).
//   - "location" (or else the first GeoProperty / geo:json attribute) becomes
//     Observation.Location when it is a Point or LineString; other geometries
//     are ignored; malformed positions reject the entity.
//   - The time is the latest property observedAt, else dateObserved (the end of
//     an ISO 8601 interval), else dateObservedTo, else TimeInstant (attribute,
//     then the latest metadata TimeInstant), else the arrival time.
//   - The period the values cover (a count's interval), when the entity states
//     one — dateObserved as an interval start/end, else dateObservedFrom to
//     dateObservedTo, up to a day — becomes Observation.Period.
//
// The package does no I/O and keeps no state between calls besides a pool of
// JSON parsers and a read-only table of well-known names: Decode is safe for
// concurrent use, and the observations it returns share no memory with the
// payload or the parser. No input makes it panic (FuzzDecode checks this and
// more).
//
// Units and conventions: coordinates are GeoJSON WGS84 [lon, lat] in degrees
// (Orion's "geo:point" strings are "lat, lon" and are swapped on the way in);
// times are UTC, and a time without a zone is read as UTC; numbers are float64
// in the unit the sender used, reported in Attr.Unit when the payload carries a
// UN/CEFACT unitCode. No unit conversion happens here.
package ngsi
