package sim_test

import (
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/sim"
)

func TestFleetOnCity(t *testing.T) {
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	fleet := sim.NewFleet(sim.FleetConfig{Count: 300, Seed: 3, City: city})
	for _, s := range fleet.Sensors() {
		p := orb.Point{s.Lon, s.Lat}
		switch s.Type {
		case sim.TypeTraffic:
			id := strings.TrimPrefix(s.RefRoadSegment, "urn:ngsi-ld:RoadSegment:")
			if _, ok := city.Feature(geo.KindRoad, id); !ok {
				t.Errorf("%s: refRoadSegment %s is not a road of the city", s.ID, s.RefRoadSegment)
			}
			line := orb.LineString{s.Road[0], s.Road[1]}
			if got := city.Link(line, map[string]string{"refRoadSegment": s.RefRoadSegment}, 50).Road; got != id {
				t.Errorf("%s links to road %s, want %s", s.ID, got, id)
			}
		case sim.TypeNoise, sim.TypeAir:
			if r, d := city.NearestRoad(p, 20); r == nil {
				t.Errorf("%s at %v is not within 20 m of a road (nearest %.0f m)", s.ID, p, d)
			}
		case sim.TypeSoil:
			id := strings.TrimPrefix(s.RefGreenspace, "urn:ngsi-ld:Greenspace:")
			if g := city.Containing(geo.KindGreenArea, p); g == nil || g.ID != id {
				t.Errorf("%s at %v is not inside its park %s", s.ID, p, id)
			}
		case sim.TypeWeather:
			if city.Containing(geo.KindGreenArea, p) == nil {
				t.Errorf("weather station %s at %v is not in a park", s.ID, p)
			}
		}
	}
	// Placement is deterministic for a seed.
	again := sim.NewFleet(sim.FleetConfig{Count: 300, Seed: 3, City: city})
	if a, b := fleet.Sensors()[7], again.Sensors()[7]; a.Lon != b.Lon || a.Lat != b.Lat {
		t.Errorf("same seed placed sensor 7 at %v,%v and %v,%v", a.Lon, a.Lat, b.Lon, b.Lat)
	}
}
