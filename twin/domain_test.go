package twin_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/twin"
)

func TestValidate(t *testing.T) {
	arrival := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	ok := func() twin.Observation {
		return twin.Observation{
			Tenant: "milano", EntityID: "urn:ngsi-ld:NoiseLevelObserved:s1", EntityType: "NoiseLevelObserved",
			Domain: twin.DomainNoise, Time: arrival, Location: orb.Point{9.19, 45.46},
			Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: 61}},
		}
	}
	tests := []struct {
		name   string
		mutate func(*twin.Observation)
		reason twin.Reason
		field  string
	}{
		{"valid", func(*twin.Observation) {}, "", ""},
		{"missing id", func(o *twin.Observation) { o.EntityID = "" }, twin.ReasonMissingID, "id"},
		{"missing type", func(o *twin.Observation) { o.EntityType = "" }, twin.ReasonMissingType, "type"},
		{"control in id", func(o *twin.Observation) { o.EntityID = "a\nb" }, twin.ReasonBadValue, "id"},
		{"trailing backslash", func(o *twin.Observation) { o.EntityID = `a\` }, twin.ReasonBadValue, "id"},
		{"underscore type", func(o *twin.Observation) { o.EntityType = "_x" }, twin.ReasonBadValue, "type"},
		{"future", func(o *twin.Observation) { o.Time = arrival.Add(6 * time.Minute); o.TimeSource = twin.TimeDateObserved }, twin.ReasonFutureTime, "dateObserved"},
		{"slightly ahead is fine", func(o *twin.Observation) { o.Time = arrival.Add(4 * time.Minute) }, "", ""},
		{"lon out of range", func(o *twin.Observation) { o.Location = orb.Point{181, 45} }, twin.ReasonBadCoordinates, "location"},
		{"lat out of range", func(o *twin.Observation) { o.Location = orb.LineString{{9, 45}, {9, -91}} }, twin.ReasonBadCoordinates, "location"},
		{"short line", func(o *twin.Observation) { o.Location = orb.LineString{{9, 45}} }, twin.ReasonBadCoordinates, "location"},
		{"polygon", func(o *twin.Observation) { o.Location = orb.Polygon{} }, twin.ReasonBadCoordinates, "location"},
		{"NaN", func(o *twin.Observation) { o.Attrs[0].Num = math.NaN() }, twin.ReasonBadValue, "LAeq"},
		{"Inf", func(o *twin.Observation) { o.Attrs[0].Num = math.Inf(1) }, twin.ReasonBadValue, "LAeq"},
		{"LAeq above range", func(o *twin.Observation) { o.Attrs[0].Num = 200.1 }, twin.ReasonOutOfRange, "LAeq"},
		{"LAeq negative", func(o *twin.Observation) { o.Attrs[0].Num = -1 }, twin.ReasonOutOfRange, "LAeq"},
		{"LAeq as text", func(o *twin.Observation) { o.Attrs[0] = twin.Attr{Name: "LAeq", Kind: twin.KindString, Str: "61"} }, twin.ReasonBadValue, "LAeq"},
		{"time field name", func(o *twin.Observation) { o.Attrs = append(o.Attrs, twin.Attr{Name: "time", Kind: twin.KindNumber}) }, twin.ReasonBadValue, "time"},
		{"long text", func(o *twin.Observation) {
			o.Attrs = append(o.Attrs, twin.Attr{Name: "note", Kind: twin.KindString, Str: strings.Repeat("x", 257)})
		}, twin.ReasonBadValue, "note"},
		{"no values", func(o *twin.Observation) { o.Attrs = nil }, twin.ReasonNoValues, ""},
		{"unknown type any value", func(o *twin.Observation) {
			o.EntityType = "Thing"
			o.Attrs = []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: 9999}}
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok()
			tt.mutate(&o)
			err := twin.Validate(&o, arrival, "data[1].")
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %s", tt.reason)
			}
			if err.Reason != tt.reason || err.Field != "data[1]."+tt.field || err.Rule == "" {
				t.Errorf("Validate = %+v, want reason %s field data[1].%s", err, tt.reason, tt.field)
			}
		})
	}
}

func TestDomainOf(t *testing.T) {
	for typ, want := range map[string]twin.Domain{
		"NoiseLevelObserved": twin.DomainNoise, "AirQualityObserved": twin.DomainAir,
		"TrafficFlowObserved": twin.DomainTraffic, "GreenspaceRecord": twin.DomainIrrigation,
		"AgriParcelRecord": twin.DomainIrrigation, "WeatherObserved": twin.DomainIrrigation,
		"Streetlight": twin.DomainGeneric,
	} {
		if got := twin.DomainOf(typ); got != want {
			t.Errorf("DomainOf(%s) = %s, want %s", typ, got, want)
		}
	}
}
