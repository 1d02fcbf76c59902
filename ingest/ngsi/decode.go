package ngsi

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/citytwin/citytwin/twin"
)

// Input is what the caller knows about a payload besides its bytes.
type Input struct {
	// Tenant is stamped on every observation. Empty means twin.DefaultTenant.
	Tenant string
	// Arrival is the time the payload arrived: the observation time when the
	// payload carries none, and the reference for the future-time rule
	// (twin.MaxFutureSkew). The zero value means time.Now().
	Arrival time.Time
}

// Format names the detected payload shape, for metrics and logs.
type Format string

// Formats Decode reports. An array reports the format of its first entity; a
// notification reports the notification format whatever its entities are.
const (
	FormatUnknown            Format = "unknown"
	FormatLDNormalized       Format = "ngsi-ld-normalized"
	FormatLDConcise          Format = "ngsi-ld-concise"
	FormatLDKeyValues        Format = "ngsi-ld-keyvalues"
	FormatV2Normalized       Format = "ngsi-v2-normalized"
	FormatV2KeyValues        Format = "ngsi-v2-keyvalues"
	FormatV2Notification     Format = "ngsi-v2-notification"
	FormatLDNotification     Format = "ngsi-ld-notification"
	maxPooledPayload                = 256 << 10
	maxStaticPrefixes               = 32
	notificationEntitiesPath        = "data"
)

// Formats lists every Format, for metrics pre-registration.
var Formats = []Format{
	FormatUnknown, FormatLDNormalized, FormatLDConcise, FormatLDKeyValues,
	FormatV2Normalized, FormatV2KeyValues, FormatV2Notification, FormatLDNotification,
}

var parsers fastjson.ParserPool

// Decode decodes one payload: a single entity, an array of entities, an NGSI-v2
// notification or an NGSI-LD notification.
//
// It returns the valid observations and one *twin.InputError per rejected
// entity, or a single error for the whole payload when it is not JSON or of no
// known shape. Every returned observation has passed twin.Validate with the
// JSON path of its entity ("[2].", "data[0].", or "" for a single entity) as
// field prefix. Attrs are sorted by name. Decode is safe for concurrent use and
// never panics.
func Decode(payload []byte, in Input) (Format, []twin.Observation, []*twin.InputError) {
	if in.Tenant == "" {
		in.Tenant = twin.DefaultTenant
	}
	if in.Arrival.IsZero() {
		in.Arrival = time.Now()
	}
	p := parsers.Get()
	// A parser keeps the memory of the largest payload it has seen; don't let
	// a rare huge payload pin that memory in the pool.
	if len(payload) <= maxPooledPayload {
		defer parsers.Put(p)
	}
	v, err := p.ParseBytes(payload)
	if err != nil {
		return FormatUnknown, nil, []*twin.InputError{notJSON(payload, err)}
	}
	d := decoder{in: in}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		if data := o.Get("data"); data != nil && data.Type() == fastjson.TypeArray && isNotification(o) {
			f := FormatV2Notification
			if stringIs(o.Get("type"), "Notification") || o.Get("notifiedAt") != nil {
				f = FormatLDNotification
			}
			arr, _ := data.Array()
			d.array(arr, notificationEntitiesPath)
			return f, d.obs, d.errs
		}
		if o.Get("id") == nil && o.Get("type") == nil {
			return FormatUnknown, nil, []*twin.InputError{twin.Errorf(twin.ReasonUnknownShape, "", "",
				"payload must be an NGSI entity (an object with id and type), an array of entities, or an NGSI-v2/NGSI-LD notification")}
		}
		d.obs = make([]twin.Observation, 0, 1)
		f := d.entity(o, "")
		return f, d.obs, d.errs
	case fastjson.TypeArray:
		arr, _ := v.Array()
		f := d.array(arr, "")
		return f, d.obs, d.errs
	}
	return FormatUnknown, nil, []*twin.InputError{twin.Errorf(twin.ReasonUnknownShape, "", "",
		"payload must be a JSON object or array, got %s", typeName(v))}
}

// isNotification tells an NGSI-v2 notification ({"subscriptionId","data"}) or
// an NGSI-LD notification ({"type":"Notification",…}) from an entity.
func isNotification(o *fastjson.Object) bool {
	return o.Get("subscriptionId") != nil || stringIs(o.Get("type"), "Notification")
}

// notJSON describes a parse failure. The position comes from encoding/json
// (this is the slow path); fastjson's own message is the fallback for the few
// inputs encoding/json accepts but fastjson does not (nesting deeper than
// fastjson.MaxDepth).
func notJSON(payload []byte, err error) *twin.InputError {
	var se *json.SyntaxError
	if e := json.Unmarshal(payload, new(json.RawMessage)); errors.As(e, &se) {
		return twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	if strings.Contains(err.Error(), "too big depth") {
		return twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON nested at most %d levels deep", fastjson.MaxDepth)
	}
	return twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON: %s", strings.ToValidUTF8(clip(err.Error()), "\uFFFD"))
}

// decoder accumulates the results of one Decode call.
type decoder struct {
	in   Input
	obs  []twin.Observation
	errs []*twin.InputError
}

// array decodes the entities of a JSON array found at path (empty for a
// top-level array) and returns the format of its first entity.
func (d *decoder) array(arr []*fastjson.Value, path string) Format {
	f := FormatUnknown
	if len(arr) == 0 {
		field := path
		d.errs = append(d.errs, twin.Errorf(twin.ReasonNoValues, "", field, "the payload holds no entities"))
		return f
	}
	d.obs = make([]twin.Observation, 0, len(arr))
	for i, ev := range arr {
		if ev.Type() != fastjson.TypeObject {
			d.errs = append(d.errs, twin.Errorf(twin.ReasonUnknownShape, "", path+"["+strconv.Itoa(i)+"]",
				"every element must be an NGSI entity object, got %s", typeName(ev)))
			continue
		}
		o, _ := ev.Object()
		ef := d.entity(o, elemPrefix(path, i))
		if f == FormatUnknown {
			f = ef
		}
	}
	return f
}

var (
	arrayPrefixes = makePrefixes("")
	dataPrefixes  = makePrefixes(notificationEntitiesPath)
)

func makePrefixes(path string) []string {
	p := make([]string, maxStaticPrefixes)
	for i := range p {
		p[i] = path + "[" + strconv.Itoa(i) + "]."
	}
	return p
}

// elemPrefix returns the field prefix of element i of the array at path,
// without allocating for the first few elements.
func elemPrefix(path string, i int) string {
	if i < maxStaticPrefixes {
		switch path {
		case "":
			return arrayPrefixes[i]
		case notificationEntitiesPath:
			return dataPrefixes[i]
		}
	}
	return path + "[" + strconv.Itoa(i) + "]."
}

func stringIs(v *fastjson.Value, s string) bool {
	if v == nil || v.Type() != fastjson.TypeString {
		return false
	}
	b, _ := v.StringBytes()
	return string(b) == s
}

// str returns v's string bytes (parser memory), nil when v is not a string.
func str(v *fastjson.Value) ([]byte, bool) {
	if v == nil || v.Type() != fastjson.TypeString {
		return nil, false
	}
	b, _ := v.StringBytes()
	return b, true
}
