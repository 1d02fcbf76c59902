package democity_test

import (
	"testing"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
)

// TestLoadsAsCity: the demo city, written as a CITYTWIN_CITY folder, loads
// through geo.LoadDir without losing or repairing a feature, and links a
// point in its centre.
func TestLoadsAsCity(t *testing.T) {
	layers := democity.Generate(democity.Config{})
	dir := t.TempDir()
	if err := democity.WriteGeoJSON(dir, layers); err != nil {
		t.Fatal(err)
	}
	city, report, err := geo.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range geo.Kinds {
		lr := report.PerLayer[k]
		if lr.Loaded != len(layers[k]) || lr.Repaired != 0 || lr.Dropped != 0 {
			t.Errorf("%s: %+v, want all %d loaded as they are", k, lr, len(layers[k]))
		}
	}
	centre := orb.Point{democity.DefaultLon, democity.DefaultLat}
	links := city.Link(centre, nil, 200)
	if links.District == "" || links.Neighbourhood == "" || links.Road == "" {
		t.Errorf("centre links %+v: want a district, a neighbourhood and a road within 200 m", links)
	}
	n, ok := city.Feature(geo.KindNeighbourhood, links.Neighbourhood)
	if !ok || n.Parent != links.District {
		t.Errorf("neighbourhood %s has parent %q, want %s (parent_prop read from city.json)", links.Neighbourhood, n.Parent, links.District)
	}
	r, _ := city.Feature(geo.KindRoad, links.Road)
	if r.RoadClass == "" || r.Lanes == 0 || r.SpeedLimit == 0 || r.Name == "" {
		t.Errorf("road %+v: class, lanes, speed and name should come through city.json", r)
	}
}
