package ngsi_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/twin"
)

// benchPayloads are typical bodies of each shape. The first is the hot-path
// reference: a ~250-byte NGSI-v2 keyValues body.
var benchPayloads = []struct {
	name    string
	payload string
}{
	{"v2-keyvalues", `{"id":"noise-sensor-042","type":"NoiseLevelObserved","LAeq":67.8,"LAmax":94.5,"LAS":91.6,"sonometerClass":"1","dateObserved":"2026-01-15T09:59:00Z","location":{"type":"Point","coordinates":[-3.7038,40.4168]},"refDevice":"device-noise-042"}`},
	{"v2-normalized", `{"id":"noise-sensor-042","type":"NoiseLevelObserved","LAeq":{"type":"Number","value":67.8,"metadata":{"unitCode":{"type":"Text","value":"2N"}}},"LAmax":{"type":"Number","value":94.5,"metadata":{"unitCode":{"type":"Text","value":"2N"}}},"LAS":{"type":"Number","value":91.6,"metadata":{}},"dateObserved":{"type":"DateTime","value":"2026-01-15T09:59:00.000Z"},"location":{"type":"geo:json","value":{"type":"Point","coordinates":[-3.7038,40.4168]}},"refDevice":{"type":"Relationship","value":"device-noise-042"}}`},
	{"ld-normalized", `{"id":"urn:ngsi-ld:NoiseLevelObserved:noise-sensor-042","type":"NoiseLevelObserved","LAeq":{"type":"Property","value":67.8,"unitCode":"2N","observedAt":"2026-01-15T09:59:00Z"},"LAmax":{"type":"Property","value":94.5,"unitCode":"2N","observedAt":"2026-01-15T09:59:00Z"},"LAS":{"type":"Property","value":91.6,"unitCode":"2N"},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[-3.7038,40.4168]}},"refDevice":{"type":"Relationship","object":"urn:ngsi-ld:Device:noise-042"},"@context":"https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"}`},
	{"ld-concise", `{"id":"urn:ngsi-ld:NoiseLevelObserved:noise-sensor-042","type":"NoiseLevelObserved","LAeq":{"value":67.8,"unitCode":"2N","observedAt":"2026-01-15T09:59:00Z"},"LAmax":{"value":94.5,"unitCode":"2N"},"LAS":91.6,"location":{"type":"Point","coordinates":[-3.7038,40.4168]},"refDevice":{"object":"urn:ngsi-ld:Device:noise-042"}}`},
	{"ld-keyvalues", `{"id":"urn:ngsi-ld:NoiseLevelObserved:noise-sensor-042","type":"NoiseLevelObserved","LAeq":67.8,"LAmax":94.5,"LAS":91.6,"dateObserved":"2026-01-15T09:59:00Z","location":{"type":"Point","coordinates":[-3.7038,40.4168]},"refDevice":"urn:ngsi-ld:Device:noise-042","@context":"https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"}`},
	{"v2-notification", `{"subscriptionId":"5aeb0ee97d4ef10a12a0562f","data":[{"id":"traffic-1","type":"TrafficFlowObserved","intensity":{"type":"Number","value":197,"metadata":{"TimeInstant":{"type":"DateTime","value":"2026-01-15T09:58:00.000Z"}}},"occupancy":{"type":"Number","value":0.76,"metadata":{"TimeInstant":{"type":"DateTime","value":"2026-01-15T09:58:00.000Z"}}},"congested":{"type":"Boolean","value":false},"location":{"type":"geo:json","value":{"type":"LineString","coordinates":[[-4.7373,41.6538],[-4.7341,41.66],[-4.7344,41.6595]]}}}]}`},
	{"ld-notification", `{"id":"urn:ngsi-ld:Notification:1","type":"Notification","subscriptionId":"urn:ngsi-ld:Subscription:air","notifiedAt":"2026-01-15T09:59:59Z","data":[{"id":"urn:ngsi-ld:AirQualityObserved:a1","type":"AirQualityObserved","no2":{"value":40.5,"unitCode":"GQ","observedAt":"2026-01-15T09:59:00Z"},"pm10":{"value":21,"unitCode":"GQ","observedAt":"2026-01-15T09:59:00Z"}},{"id":"urn:ngsi-ld:AirQualityObserved:a2","type":"AirQualityObserved","no2":{"value":38.1,"unitCode":"GQ","observedAt":"2026-01-15T09:59:00Z"},"pm10":{"value":19,"unitCode":"GQ","observedAt":"2026-01-15T09:59:00Z"}}]}`},
	{"array-10", "[" + strings.Repeat(`{"id":"noise-sensor-042","type":"NoiseLevelObserved","LAeq":67.8,"LAmax":94.5,"dateObserved":"2026-01-15T09:59:00Z"},`, 9) + `{"id":"noise-sensor-043","type":"NoiseLevelObserved","LAeq":67.8,"LAmax":94.5,"dateObserved":"2026-01-15T09:59:00Z"}]`},
}

// BenchmarkDecode compares Decode with a naive encoding/json decoder building
// the same observations, per payload shape. Compare the impl=fastjson and
// impl=encoding-json lines (benchstat -col /impl).
func BenchmarkDecode(b *testing.B) {
	in := ngsi.Input{Tenant: twin.DefaultTenant, Arrival: goldenArrival}
	for _, p := range benchPayloads {
		payload := []byte(p.payload)
		b.Run("shape="+p.name+"/impl=fastjson", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				_, obs, errs := ngsi.Decode(payload, in)
				if len(obs) == 0 || len(errs) != 0 {
					b.Fatal(errs)
				}
			}
		})
		b.Run("shape="+p.name+"/impl=encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				obs, errs := naiveDecode(payload, in)
				if len(obs) == 0 || len(errs) != 0 {
					b.Fatal(errs)
				}
			}
		})
	}
}

// TestNaiveBaseline keeps the benchmark honest: the baseline must build the
// same observations as Decode for every benchmark payload.
func TestNaiveBaseline(t *testing.T) {
	in := ngsi.Input{Tenant: twin.DefaultTenant, Arrival: goldenArrival}
	for _, p := range benchPayloads {
		_, want, errs := ngsi.Decode([]byte(p.payload), in)
		if len(errs) != 0 {
			t.Fatalf("%s: %v", p.name, errs)
		}
		got, errs := naiveDecode([]byte(p.payload), in)
		if len(errs) != 0 {
			t.Fatalf("%s: naive: %v", p.name, errs)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: naive baseline differs:\ngot  %+v\nwant %+v", p.name, got, want)
		}
	}
}

// naiveDecode is the straightforward decoder: encoding/json into map[string]any,
// then the same rules as Decode (for well-formed input; it is a baseline, not
// a second implementation of every rejection).
func naiveDecode(payload []byte, in ngsi.Input) ([]twin.Observation, []*twin.InputError) {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, []*twin.InputError{twin.Errorf(twin.ReasonNotJSON, "", "", "%v", err)}
	}
	var ents []any
	switch x := v.(type) {
	case map[string]any:
		if data, ok := x["data"].([]any); ok {
			ents = data
		} else {
			ents = []any{x}
		}
	case []any:
		ents = x
	}
	var obs []twin.Observation
	var errs []*twin.InputError
	for _, e := range ents {
		m, ok := e.(map[string]any)
		if !ok {
			errs = append(errs, twin.Errorf(twin.ReasonUnknownShape, "", "", "not an object"))
			continue
		}
		o, err := naiveEntity(m, in)
		if err == nil {
			err = twin.Validate(&o, in.Arrival, "")
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		obs = append(obs, o)
	}
	return obs, errs
}

func naiveEntity(m map[string]any, in ngsi.Input) (twin.Observation, *twin.InputError) {
	id, _ := m["id"].(string)
	typ, _ := m["type"].(string)
	o := twin.Observation{Tenant: in.Tenant, EntityID: id, EntityType: typ, Domain: twin.DomainOf(typ)}
	var observedAt, timeInstant, metaInstant time.Time
	var dateObserved, dateObservedTo string
	parse := func(s string) time.Time {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC()
			}
		}
		return time.Time{}
	}
	for k, val := range m {
		switch k {
		case "id", "type", "@context":
			continue
		}
		inner, unit, rel := val, "", false
		if w, ok := val.(map[string]any); ok {
			t, _ := w["type"].(string)
			switch {
			case w["object"] != nil:
				inner, rel = w["object"], true
			case t == "Relationship":
				inner, rel = w["value"], true
			case w["value"] != nil:
				inner = w["value"]
				unit, _ = w["unitCode"].(string)
				if md, ok := w["metadata"].(map[string]any); ok {
					if uc, ok := md["unitCode"].(map[string]any); ok {
						unit, _ = uc["value"].(string)
					}
					if ti, ok := md["TimeInstant"].(map[string]any); ok {
						if s, ok := ti["value"].(string); ok {
							if t := parse(s); t.After(metaInstant) {
								metaInstant = t
							}
						}
					}
				}
				if s, ok := w["observedAt"].(string); ok {
					if t := parse(s); t.After(observedAt) {
						observedAt = t
					}
				}
			}
		}
		if w, ok := inner.(map[string]any); ok && w["@value"] != nil {
			inner = w["@value"]
		}
		switch k {
		case "location":
			if g, ok := inner.(map[string]any); ok {
				coords, _ := g["coordinates"].([]any)
				switch g["type"] {
				case "Point":
					o.Location = naivePoint(coords)
				case "LineString":
					ls := orb.LineString{}
					for _, c := range coords {
						p, _ := c.([]any)
						ls = append(ls, naivePoint(p))
					}
					o.Location = ls
				}
			}
			continue
		case "dateObserved":
			dateObserved, _ = inner.(string)
			if i := strings.LastIndexByte(dateObserved, '/'); i >= 0 {
				dateObserved = dateObserved[i+1:]
			}
			continue
		case "dateObservedTo":
			dateObservedTo, _ = inner.(string)
			continue
		case "TimeInstant":
			s, _ := inner.(string)
			timeInstant = parse(s)
			continue
		case "dateObservedFrom", "observedAt", "dateCreated", "dateModified", "createdAt", "modifiedAt", "address":
			continue
		}
		if a, ok := inner.([]any); ok && len(a) > 0 {
			inner = a[0]
		}
		if s, ok := inner.(string); ok && (rel || strings.HasPrefix(k, "ref") || strings.HasPrefix(s, "urn:ngsi-ld:")) {
			if o.Refs == nil {
				o.Refs = map[string]string{}
			}
			o.Refs[k] = s
			continue
		}
		switch x := inner.(type) {
		case float64:
			o.Attrs = append(o.Attrs, twin.Attr{Name: k, Kind: twin.KindNumber, Num: x, Unit: unit})
		case bool:
			o.Attrs = append(o.Attrs, twin.Attr{Name: k, Kind: twin.KindBool, Bool: x, Unit: unit})
		case string:
			if x != "" && len(x) <= twin.MaxTextLen {
				o.Attrs = append(o.Attrs, twin.Attr{Name: k, Kind: twin.KindString, Str: x, Unit: unit})
			}
		}
	}
	switch {
	case !observedAt.IsZero():
		o.Time, o.TimeSource = observedAt, twin.TimeObservedAt
	case dateObserved != "":
		o.Time, o.TimeSource = parse(dateObserved), twin.TimeDateObserved
	case dateObservedTo != "":
		o.Time, o.TimeSource = parse(dateObservedTo), twin.TimeDateObservedTo
	case !timeInstant.IsZero():
		o.Time, o.TimeSource = timeInstant, twin.TimeInstant
	case !metaInstant.IsZero():
		o.Time, o.TimeSource = metaInstant, twin.TimeInstant
	default:
		o.Time, o.TimeSource = in.Arrival.UTC(), twin.TimeArrival
	}
	slices.SortFunc(o.Attrs, func(a, b twin.Attr) int { return strings.Compare(a.Name, b.Name) })
	return o, nil
}

func naivePoint(c []any) orb.Point {
	if len(c) < 2 {
		return orb.Point{}
	}
	lon, _ := c[0].(float64)
	lat, _ := c[1].(float64)
	return orb.Point{lon, lat}
}
