package twin

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// Kind is the type of an attribute value.
type Kind uint8

// Attribute value kinds. Numbers are always float64 so that a series never
// changes its storage type between integer and float readings.
const (
	KindNumber Kind = iota + 1
	KindBool
	KindString
)

// String returns the kind's name as used in error messages.
func (k Kind) String() string {
	switch k {
	case KindNumber:
		return "number"
	case KindBool:
		return "boolean"
	case KindString:
		return "text"
	}
	return "unknown"
}

// Attr is one measured attribute of an observation, named exactly as in the
// payload (LAeq, no2, intensity, soilMoistureVwc, …).
type Attr struct {
	Name string
	Kind Kind
	Num  float64
	Bool bool
	Str  string
	// Unit is the UN/CEFACT unit code sent with the value (NGSI-LD unitCode or
	// NGSI-v2 metadata unitCode), empty when none was sent.
	Unit string
}

// TimeSource tells where an observation's time came from.
type TimeSource uint8

// Time sources, in the order of precedence a decoder applies.
const (
	TimeArrival        TimeSource = iota // no time in the payload: arrival time
	TimeObservedAt                       // NGSI-LD observedAt
	TimeDateObserved                     // dateObserved (instant, or end of an ISO-8601 interval)
	TimeDateObservedTo                   // dateObservedTo
	TimeInstant                          // TimeInstant (IoT Agent convention)
)

// Observation is what one entity reported at one instant: the normalized form of
// every payload shape citytwin accepts.
type Observation struct {
	// Tenant is the NGSI tenant (Fiware-Service / NGSILD-Tenant / topic level);
	// DefaultTenant when the source names none.
	Tenant string
	// EntityID is kept exactly as sent (URN or not).
	EntityID string
	// EntityType is the NGSI type, e.g. NoiseLevelObserved.
	EntityType string
	// Domain is derived from EntityType (see DomainOf).
	Domain Domain
	// Time is the observation time in UTC.
	Time       time.Time
	TimeSource TimeSource
	// Location is an orb.Point or orb.LineString in WGS84, nil when absent.
	Location orb.Geometry
	// Attrs holds the measured values; names are unique within an observation.
	Attrs []Attr
	// Refs holds relationship attributes (refRoadSegment, refGreenspace,
	// refDevice, …) by name, each the referenced entity id.
	Refs map[string]string
	// Links are the city features the sensor is tied to, set at ingest from
	// its location and refs (zero when no cartography is loaded or the
	// observation has no location).
	Links geo.Links
	// Period, when set, is the observation period of the values (the
	// interval an intensity counts vehicles over); zero lets State infer it
	// from the sensor's previous reading (see Indicators.Flow). The replay
	// sets it from the live twin's usual interval, as it sees one reading.
	Period time.Duration
}

// DefaultTenant is the tenant of data whose source names none.
const DefaultTenant = "default"

// Attr returns the attribute with the given name.
func (o *Observation) Attr(name string) (Attr, bool) {
	for _, a := range o.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attr{}, false
}

// Reason classifies why input was rejected. Reasons are stable identifiers used
// as metric labels and in error-topic messages.
type Reason string

// Rejection reasons.
const (
	ReasonTooLarge       Reason = "too_large"
	ReasonNotJSON        Reason = "not_json"
	ReasonUnknownShape   Reason = "unknown_shape"
	ReasonMissingID      Reason = "missing_id"
	ReasonMissingType    Reason = "missing_type"
	ReasonBadValue       Reason = "bad_value"       // wrong kind, or not finite
	ReasonOutOfRange     Reason = "out_of_range"    // outside the plausible range of its attribute
	ReasonBadTime        Reason = "bad_time"        // unparseable timestamp
	ReasonFutureTime     Reason = "future_time"     // more than MaxFutureSkew ahead of arrival
	ReasonBadCoordinates Reason = "bad_coordinates" // not a Point/LineString, or lon/lat out of range
	ReasonNoValues       Reason = "no_values"       // nothing to store
	ReasonBadTopic       Reason = "bad_topic"       // the topic does not match any accepted grammar
	ReasonUnknownDevice  Reason = "unknown_device"  // IoT Agent topic naming an apikey or device not provisioned (and no autoprovision)
	ReasonTypeConflict   Reason = "type_conflict"   // attribute changed kind (number/text/boolean)
	ReasonStoreRejected  Reason = "store_rejected"  // InfluxDB refused the points (e.g. outside retention)
)

// Reasons lists every rejection reason, for metrics pre-registration and docs.
var Reasons = []Reason{
	ReasonTooLarge, ReasonNotJSON, ReasonUnknownShape, ReasonMissingID, ReasonMissingType,
	ReasonBadValue, ReasonOutOfRange, ReasonBadTime, ReasonFutureTime, ReasonBadCoordinates,
	ReasonNoValues, ReasonBadTopic, ReasonTypeConflict, ReasonStoreRejected, ReasonUnknownDevice,
}

// InputError says why a payload, or one entity in it, was rejected: which field
// broke which rule. It is data for the sender, not a failure of citytwin.
type InputError struct {
	Reason Reason
	// EntityID is the rejected entity, empty when the whole payload was rejected
	// before an entity could be identified.
	EntityID string
	// Field is a JSON path into the payload (e.g. "data[1].LAeq.value"), empty
	// for payload-level errors.
	Field string
	// Rule states what the field must be, in words.
	Rule string
}

func (e *InputError) Error() string {
	s := string(e.Reason)
	if e.EntityID != "" {
		s += ": entity " + e.EntityID
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Rule
}

// Errorf returns an InputError with a formatted rule.
func Errorf(reason Reason, entityID, field, format string, args ...any) *InputError {
	return &InputError{Reason: reason, EntityID: entityID, Field: field, Rule: fmt.Sprintf(format, args...)}
}
