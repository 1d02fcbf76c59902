package ngsi_test

import (
	"reflect"
	"testing"

	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/twin"
)

// TestEquivalentShapes checks that payloads carrying the same values in
// different shapes decode to the same observation: same id, type, attributes
// (and units where both shapes can carry them), refs, time and location.
func TestEquivalentShapes(t *testing.T) {
	type form struct {
		name    string
		units   bool // the shape carries unit codes
		payload string
	}
	groups := []struct {
		name  string
		forms []form
	}{
		{"noise", []form{
			{"v2-keyvalues", false, `{"id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":67.8,"LAmax":94,"congestion":"low","dateObserved":"2026-01-15T09:00:00Z/2026-01-15T09:15:00Z","location":{"type":"Point","coordinates":[-3.7038,40.4168]},"refDevice":"urn:ngsi-ld:Device:d1"}`},
			{"v2-normalized", true, `{"id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":{"type":"Number","value":67.8,"metadata":{"unitCode":{"type":"Text","value":"2N"}}},"LAmax":{"type":"Number","value":94,"metadata":{"unitCode":{"value":"2N"}}},"congestion":{"type":"Text","value":"low"},"dateObserved":{"type":"DateTime","value":"2026-01-15T09:00:00Z/2026-01-15T09:15:00Z"},"location":{"type":"geo:json","value":{"type":"Point","coordinates":[-3.7038,40.4168]}},"refDevice":{"type":"Relationship","value":"urn:ngsi-ld:Device:d1"}}`},
			{"ld-normalized", true, `{"@context":"https://smartdatamodels.org/context.jsonld","id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":{"type":"Property","value":67.8,"unitCode":"2N"},"LAmax":{"type":"Property","value":94,"unitCode":"2N"},"congestion":{"type":"Property","value":"low"},"dateObserved":{"type":"Property","value":{"@type":"DateTime","@value":"2026-01-15T09:15:00Z"}},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[-3.7038,40.4168]}},"refDevice":{"type":"Relationship","object":"urn:ngsi-ld:Device:d1"}}`},
			{"ld-concise-observedAt", true, `{"id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":{"value":67.8,"unitCode":"2N","observedAt":"2026-01-15T10:15:00+01:00"},"LAmax":{"value":94,"unitCode":"2N"},"congestion":"low","location":{"type":"Point","coordinates":[-3.7038,40.4168]},"refDevice":{"object":"urn:ngsi-ld:Device:d1"}}`},
			{"ld-keyvalues", false, `{"@context":["https://smartdatamodels.org/context.jsonld"],"id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":67.8,"LAmax":94.0,"congestion":"low","dateObservedTo":"2026-01-15T09:15:00","location":{"coordinates":[-3.7038,40.4168],"type":"Point"},"refDevice":"urn:ngsi-ld:Device:d1"}`},
			{"v2-notification", true, `{"subscriptionId":"s1","data":[{"id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":{"type":"Number","value":67.8,"metadata":{"unitCode":{"value":"2N"},"TimeInstant":{"type":"DateTime","value":"2026-01-15T09:15:00.000Z"}}},"LAmax":{"type":"Number","value":94,"metadata":{"unitCode":{"value":"2N"}}},"congestion":{"type":"Text","value":"low"},"location":{"type":"geo:point","value":"40.4168, -3.7038"},"refDevice":{"type":"Relationship","value":"urn:ngsi-ld:Device:d1"}}]}`},
			{"ld-notification", true, `{"id":"urn:ngsi-ld:Notification:1","type":"Notification","subscriptionId":"urn:ngsi-ld:Subscription:1","notifiedAt":"2026-01-15T09:16:00Z","data":[{"id":"urn:ngsi-ld:NoiseLevelObserved:n1","type":"NoiseLevelObserved","LAeq":{"type":"Property","value":67.8,"unitCode":"2N","observedAt":"2026-01-15T09:15:00Z"},"LAmax":{"type":"Property","value":94,"unitCode":"2N","observedAt":"2026-01-15T09:15:00Z"},"congestion":{"type":"Property","value":"low"},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[-3.7038,40.4168]}},"refDevice":{"type":"Relationship","object":"urn:ngsi-ld:Device:d1"}}]}`},
		}},
		{"traffic-linestring", []form{
			{"v2-keyvalues", false, `{"id":"t1","type":"TrafficFlowObserved","intensity":197,"congested":true,"dateObserved":"2026-01-15T09:15:00Z","location":{"type":"LineString","coordinates":[[-4.7373,41.6538],[-4.7341,41.66]]},"refRoadSegment":["rs1","rs2"]}`},
			{"v2-normalized", true, `{"id":"t1","type":"TrafficFlowObserved","intensity":{"type":"Number","value":197},"congested":{"type":"Boolean","value":true},"dateObserved":{"type":"DateTime","value":"2026-01-15T09:15:00.000Z"},"location":{"type":"geo:json","value":{"type":"LineString","coordinates":[[-4.7373,41.6538],[-4.7341,41.66]]}},"refRoadSegment":{"type":"Relationship","value":"rs1"}}`},
			{"ld-normalized", true, `{"id":"t1","type":"TrafficFlowObserved","intensity":{"type":"Property","value":197},"congested":{"type":"Property","value":true},"dateObserved":{"type":"Property","value":"2026-01-15T09:15:00Z"},"location":{"type":"GeoProperty","value":{"type":"LineString","coordinates":[[-4.7373,41.6538],[-4.7341,41.66]]}},"refRoadSegment":{"type":"Relationship","object":["rs1","rs2"]}}`},
			{"ld-concise", true, `{"id":"t1","type":"TrafficFlowObserved","intensity":{"value":197,"observedAt":"2026-01-15T09:15:00Z"},"congested":true,"location":{"type":"LineString","coordinates":[[-4.7373,41.6538],[-4.7341,41.66]]},"refRoadSegment":{"object":"rs1"}}`},
		}},
	}
	arrival := goldenArrival
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			var base, unitBase twin.Observation
			hasUnitBase := false
			for i, f := range g.forms {
				_, obs, errs := ngsi.Decode([]byte(f.payload), ngsi.Input{Tenant: "t", Arrival: arrival})
				if len(errs) != 0 || len(obs) != 1 {
					t.Fatalf("%s: got %d observations, errors %v", f.name, len(obs), errs)
				}
				o := obs[0]
				o.TimeSource = 0 // where the time came from differs by shape
				o.Period = 0     // only the interval forms state one (TestObservationPeriod)
				if f.units {
					if !hasUnitBase {
						unitBase, hasUnitBase = o, true
					} else if !reflect.DeepEqual(o, unitBase) {
						t.Errorf("%s decodes differently (units included) from the first shape with units:\ngot  %+v\nwant %+v", f.name, o, unitBase)
					}
				}
				if i == 0 {
					base = o
					continue
				}
				want := base
				if !f.units || !g.forms[0].units {
					o.Attrs = withoutUnits(o.Attrs)
					want.Attrs = withoutUnits(want.Attrs)
				}
				if !reflect.DeepEqual(o, want) {
					t.Errorf("%s decodes differently from %s:\ngot  %+v\nwant %+v", f.name, g.forms[0].name, o, want)
				}
			}
		})
	}
}

func withoutUnits(attrs []twin.Attr) []twin.Attr {
	out := make([]twin.Attr, len(attrs))
	for i, a := range attrs {
		a.Unit = ""
		out[i] = a
	}
	return out
}
