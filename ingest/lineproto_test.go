package ingest

import (
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

func TestAppendLine(t *testing.T) {
	at := time.Unix(1700000000, 5).UTC()
	cases := []struct {
		name string
		o    twin.Observation
		want string
	}{
		{"point with links", twin.Observation{
			Tenant: "milano", EntityID: "urn:ngsi-ld:NoiseLevelObserved:n 1", EntityType: "NoiseLevelObserved",
			Domain: twin.DomainNoise, Time: at, Location: orb.Point{9.19, 45.464},
			Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: 61.5}, {Name: "note", Kind: twin.KindString, Str: `say "hi"`}},
			Links: geo.Links{District: "1", Neighbourhood: "nil-1", Road: "r,7"},
		}, `NoiseLevelObserved,district=1,domain=noise,entity_id=urn:ngsi-ld:NoiseLevelObserved:n\ 1,neighbourhood=nil-1,road=r\,7,tenant=milano LAeq=61.5,note="say \"hi\"",location="{\"type\":\"Point\",\"coordinates\":[9.19,45.464]}" 1700000000000000005` + "\n"},
		{"line string, no links", twin.Observation{
			Tenant: "default", EntityID: "t1", EntityType: "TrafficFlowObserved", Domain: twin.DomainTraffic, Time: at,
			Location: orb.LineString{{9, 45}, {9.001, 45.002}},
			Attrs:    []twin.Attr{{Name: "intensity", Kind: twin.KindNumber, Num: 12}, {Name: "congested", Kind: twin.KindBool, Bool: true}},
		}, `TrafficFlowObserved,domain=traffic,entity_id=t1,tenant=default intensity=12,congested=true,location="{\"type\":\"LineString\",\"coordinates\":[[9,45],[9.001,45.002]]}" 1700000000000000005` + "\n"},
		{"no location", twin.Observation{
			Tenant: "default", EntityID: "a", EntityType: "AirQualityObserved", Domain: twin.DomainAir, Time: at,
			Attrs: []twin.Attr{{Name: "no2", Kind: twin.KindNumber, Num: 40.25}},
		}, `AirQualityObserved,domain=air,entity_id=a,tenant=default no2=40.25 1700000000000000005` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(appendLine(nil, &c.o)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
