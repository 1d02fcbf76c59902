package dynamap_test

import (
	"math"
	"os"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/twin/dynamap"
)

var demo = sync.OnceValues(func() (*geo.City, error) {
	c, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	return c, err
})

func demoCity(t testing.TB) *geo.City {
	t.Helper()
	c, err := demo()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// milanRoads loads the OSM highways around Politecnico Leonardo from the
// shared Milan open data (see geo/milan_test.go), skipping when absent.
func milanRoads(t testing.TB) *geo.City {
	t.Helper()
	p := "../../../shared/data/milano/michelebanfi-trees/data/osm_transit.highways.geojson"
	if _, err := os.Stat(p); err != nil {
		t.Skipf("Milan open data not present (%s): %v", p, err)
	}
	c, _, err := geo.Load([]geo.LayerSource{{Kind: geo.KindRoad, Path: p, NameProp: "name",
		RoadClassProp: "highway", LanesProp: "lanes", SpeedProp: "maxspeed"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roadSensors puts a sensor on the first vertex of every step-th road that
// carries traffic, linked to it.
func roadSensors(m *dynamap.Model, city *geo.City, step int) []dynamap.Sensor {
	var out []dynamap.Sensor
	for i, f := range city.Features(geo.KindRoad) {
		if r, _ := m.Road(f.ID); i%step != 0 || r.Group < 0 {
			continue
		}
		var p orb.Point
		switch g := f.Geometry.(type) {
		case orb.LineString:
			p = g[0]
		case orb.MultiLineString:
			p = g[0][0]
		}
		out = append(out, dynamap.Sensor{ID: "noise-" + f.ID, Point: p, Road: f.ID})
	}
	return out
}

// synthLevels makes each sensor measure its reference plus a group shift
// (group − 2 dB) and a deterministic ±0.5 dB scatter.
func synthLevels(c *dynamap.Calibration) map[string]float64 {
	levels := map[string]float64{}
	for i, s := range c.Sensors() {
		levels[s.ID] = s.RefDB + float64(s.Group-2) + 0.5*math.Sin(float64(i))
	}
	return levels
}

func TestDemoCity(t *testing.T) {
	city := demoCity(t)
	m, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Grid()
	t.Logf("democity: %d roads, %d groups %+v, %d point sources, raster %d × %d", len(city.Features(geo.KindRoad)),
		len(m.Groups()), m.Groups(), m.Sources(), g.NX, g.NY)
	// 1,918 residential roads (x = lg 1,000 = 3), 400 secondary (x = 4), 288
	// primary with 4 lanes (x = lg 40,000 = 4.60). The quantile ranks
	// ⌊i·2606/6⌋ = 434, 868, 1303, 1737, 2171 hit x = 3, 3, 3, 3, 4; 3 is the
	// smallest x and merges away: two groups, residential and the rest.
	if gs := m.Groups(); len(gs) != 2 || gs[0].Roads != 1918 || gs[1].Roads != 688 {
		t.Errorf("groups %+v, want 1918 residential roads and 688 others", gs)
	}
	// The demo city spans about 12 km: about 120 × 120 cells of 100 m.
	if g.NX < 110 || g.NX > 130 || g.NY < 110 || g.NY > 130 {
		t.Errorf("raster %d × %d, want about 120 × 120", g.NX, g.NY)
	}
	c, err := m.Calibrate(roadSensors(m, city, 40))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sensors()) < 50 || len(c.Unused()) != 0 {
		t.Fatalf("%d sensors registered, %d unused; want ≥ 50 and 0", len(c.Sensors()), len(c.Unused()))
	}
	mp, err := c.Update(synthLevels(c), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(mp.Levels) != g.Len() || mp.Reporting != len(c.Sensors()) || mp.HeldOut.N != mp.Reporting {
		t.Fatalf("levels %d (want %d), reporting %d, held out %d (want %d)", len(mp.Levels), g.Len(), mp.Reporting, mp.HeldOut.N, len(c.Sensors()))
	}
	for _, gs := range mp.Groups {
		// δ_j is the group's shift (j − 2) up to the mean of the scatter.
		if gs.Reporting == 0 || math.Abs(gs.DeltaDB-float64(gs.Group-2)) > 0.5 {
			t.Errorf("group %+v: want sensors and δ ≈ %d", gs, gs.Group-2)
		}
	}
	t.Logf("held out: %+v", mp.HeldOut)
	// Every cell holding a road vertex has a level; a corner of the raster,
	// outside the city disc, has none.
	for _, f := range city.Features(geo.KindRoad) {
		p := f.Geometry.(orb.LineString)[0]
		if l, ok := mp.Level(p); !ok || l < 30 || l > 100 {
			t.Fatalf("road %s at %v: level %v, %v; want a plausible value", f.ID, p, l, ok)
		}
	}
	if l := mp.Levels[0]; !math.IsNaN(float64(l)) {
		t.Errorf("north-west corner cell: %v, want no value", l)
	}
	nan := 0
	for _, l := range mp.Levels {
		if math.IsNaN(float64(l)) {
			nan++
		}
	}
	t.Logf("%d of %d cells without a level; grid JSON %d bytes, GeoJSON %d bytes", nan, len(mp.Levels),
		len(mp.AppendJSON(nil)), len(mp.AppendGeoJSON(nil)))
}

func TestMilanRoads(t *testing.T) {
	city := milanRoads(t)
	m, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Grid()
	t.Logf("Milan OSM roads: %d roads, groups %+v, %d point sources, raster %d × %d", len(city.Features(geo.KindRoad)),
		m.Groups(), m.Sources(), g.NX, g.NY)
	if len(m.Groups()) < 4 {
		t.Errorf("%d groups: want several from the OSM classes and lanes", len(m.Groups()))
	}
	c, err := m.Calibrate(roadSensors(m, city, 25))
	if err != nil {
		t.Fatal(err)
	}
	mp, err := c.Update(synthLevels(c), t0)
	if err != nil {
		t.Fatal(err)
	}
	if mp.Reporting < 40 {
		t.Errorf("%d reporting sensors, want ≥ 40", mp.Reporting)
	}
	t.Logf("%d sensors, held out %+v", mp.Reporting, mp.HeldOut)
}
