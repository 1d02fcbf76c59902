package geo_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/citytwin/citytwin/geo"
	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// The fixture city lives on a grid of 0.01° cells with its origin at
// 9° E 45° N; p(x, y) is grid point (x, y).
func p(x, y float64) orb.Point { return orb.Point{9 + x*0.01, 45 + y*0.01} }

func box(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1), p(x0, y0)}
}

// fixture builds this city:
//
//	y
//	10 +-------------------+-------------------+
//	   | D1                | D2                |
//	   |                   |   +-----------+   |     districts D1, D2 share x=10
//	 8 |+-----------N2-+   |   | N3 (part) |   |
//	   ||  +------+    |   |   +-----------+   |     N1 (1..6) has a hole h (3..4)
//	 5 ||==|==R1==|====|===|========|==========|==   R1: road along y=5
//	   ||  | N1 +-+    |   |        R2         |     R2: road along x=15
//	   ||  |    |h|    |   |        |          |     N2 (0..8) overlaps N1
//	   ||  |    +-+    |   |   +--+ |          |     N3 is a MultiPolygon (12..16 x 6..8
//	   ||  +------+    |   |   |N3| |          |        and 12..13 x 1..2)
//	 0 +-------------------+-------------------+
//	   0                   10                  20
//
//	G1 (green area) = 20..24 x 0..4 with irrigation zone Z1 = 20..22 x 0..2
//	(parent G1); G2 is a bow-tie (20..22 x 6..8) that MakeValid splits in
//	two triangles; G3 is flat (collinear) and G4 has two points: dropped.
//	R3 runs far away along y = 30.
func fixture() map[geo.Kind][]geo.Feature {
	return map[geo.Kind][]geo.Feature{
		geo.KindDistrict: {
			{ID: "D1", Name: "One", Geometry: orb.Polygon{box(0, 0, 10, 10)}},
			{ID: "D2", Name: "Two", Geometry: orb.Polygon{box(10, 0, 20, 10)}},
		},
		geo.KindNeighbourhood: {
			{ID: "N1", Parent: "D1", Geometry: orb.Polygon{box(1, 1, 6, 6), box(3, 3, 4, 4)}},
			{ID: "N2", Parent: "D1", Geometry: orb.Polygon{box(0, 0, 8, 8)}},
			{ID: "N3", Parent: "D2", Geometry: orb.MultiPolygon{{box(12, 6, 16, 8)}, {box(12, 1, 13, 2)}}},
		},
		geo.KindRoad: {
			{ID: "R1", Name: "Via Uno", RoadClass: "primary", Lanes: 2, SpeedLimit: 50, Geometry: orb.LineString{p(-1, 5), p(25, 5)}},
			{ID: "R2", Geometry: orb.LineString{p(15, 0), p(15, 10)}},
			{ID: "R3", Geometry: orb.LineString{p(0, 30), p(20, 30)}},
			{ID: "R4", Geometry: orb.LineString{p(1, 1), p(1, 1)}}, // one distinct point: dropped
		},
		geo.KindGreenArea: {
			{ID: "G1", Geometry: orb.Polygon{box(20, 0, 24, 4)}},
			{ID: "G2", Geometry: orb.Polygon{{p(20, 6), p(22, 8), p(22, 6), p(20, 8), p(20, 6)}}},
			{ID: "G3", Geometry: orb.Polygon{{p(20, 12), p(21, 12), p(22, 12), p(20, 12)}}},
			{ID: "G4", Geometry: orb.Polygon{{p(20, 14), p(21, 14)}}},
		},
		geo.KindIrrigationZone: {
			{ID: "Z1", Parent: "G1", Geometry: orb.Polygon{box(20, 0, 22, 2)}},
		},
	}
}

func fixtureCity(t testing.TB) (*geo.City, geo.Report) {
	t.Helper()
	c, rep, err := geo.NewCity(fixture())
	if err != nil {
		t.Fatal(err)
	}
	return c, rep
}

func id(f *geo.Feature) string {
	if f == nil {
		return ""
	}
	return f.ID
}

func TestReportRepairsAndDrops(t *testing.T) {
	_, rep := fixtureCity(t)
	want := map[geo.Kind][4]int{ // read, loaded, repaired, dropped
		geo.KindDistrict:       {2, 2, 0, 0},
		geo.KindNeighbourhood:  {3, 3, 0, 0},
		geo.KindRoad:           {4, 3, 0, 1},
		geo.KindGreenArea:      {4, 2, 1, 2},
		geo.KindIrrigationZone: {1, 1, 0, 0},
	}
	for k, w := range want {
		lr := rep.PerLayer[k]
		if got := [4]int{lr.Read, lr.Loaded, lr.Repaired, lr.Dropped}; got != w {
			t.Errorf("%s: read/loaded/repaired/dropped = %v, want %v; problems %q", k, got, w, lr.Problems)
		}
	}
	problems := strings.Join(rep.PerLayer[geo.KindGreenArea].Problems, "\n")
	for _, s := range []string{`"G2": repaired: MakeValid: Self-intersection`, `"G3": dropped: invalid (Self-intersection`, `"G4": dropped: degenerate`} {
		if !strings.Contains(problems, s) {
			t.Errorf("green area problems lack %q:\n%s", s, problems)
		}
	}
	if !strings.Contains(strings.Join(rep.PerLayer[geo.KindRoad].Problems, "\n"), `"R4": dropped: degenerate`) {
		t.Errorf("road problems: %q", rep.PerLayer[geo.KindRoad].Problems)
	}
	t.Logf("report:\n%s", rep)
}

func TestContaining(t *testing.T) {
	c, _ := fixtureCity(t)
	for _, tc := range []struct {
		name string
		k    geo.Kind
		at   orb.Point
		want string
	}{
		{"inside D1", geo.KindDistrict, p(5, 5), "D1"},
		{"inside D2", geo.KindDistrict, p(15, 5), "D2"},
		{"on the shared border: equal areas, first loaded", geo.KindDistrict, p(10, 5), "D1"},
		{"outside every district", geo.KindDistrict, p(25, 5), ""},
		{"N1 and N2 overlap: the smaller wins", geo.KindNeighbourhood, p(2, 2), "N1"},
		{"in N1's hole: only N2", geo.KindNeighbourhood, p(3.5, 3.5), "N2"},
		{"N2 outside N1", geo.KindNeighbourhood, p(7, 7), "N2"},
		{"first part of MultiPolygon N3", geo.KindNeighbourhood, p(14, 7), "N3"},
		{"second part of MultiPolygon N3", geo.KindNeighbourhood, p(12.5, 1.5), "N3"},
		{"between N3's parts", geo.KindNeighbourhood, p(14, 4), ""},
		{"repaired bow-tie, left triangle", geo.KindGreenArea, p(20.5, 7), "G2"},
		{"repaired bow-tie, right triangle", geo.KindGreenArea, p(21.5, 7), "G2"},
		{"repaired bow-tie, outside both triangles", geo.KindGreenArea, p(21, 6.5), ""},
		{"irrigation zone", geo.KindIrrigationZone, p(21, 1), "Z1"},
		{"roads are not areas", geo.KindRoad, p(5, 5), ""},
	} {
		if got := id(c.Containing(tc.k, tc.at)); got != tc.want {
			t.Errorf("%s: Containing(%s, %v) = %q, want %q", tc.name, tc.k, tc.at, got, tc.want)
		}
	}
}

func TestNearestRoad(t *testing.T) {
	c, _ := fixtureCity(t)
	for _, tc := range []struct {
		name string
		at   orb.Point
		max  float64
		want string
		foot orb.Point // nearest point on the road, to check the distance
	}{
		{"0.001° north of R1", p(5, 5.1), 200, "R1", p(5, 5)},
		{"same, but too far for 50 m", p(5, 5.1), 50, "", orb.Point{}},
		{"closer to R2 than R1", p(15.05, 8), 1000, "R2", p(15, 8)},
		{"beyond R1's end", p(26, 5), 1000, "R1", p(25, 5)},
		{"nothing within 1 km", p(5, 20), 1000, "", orb.Point{}},
	} {
		f, d := c.NearestRoad(tc.at, tc.max)
		if id(f) != tc.want {
			t.Errorf("%s: NearestRoad = %q, want %q", tc.name, id(f), tc.want)
			continue
		}
		if f == nil {
			if !math.IsInf(d, 1) {
				t.Errorf("%s: distance %v with no road, want +Inf", tc.name, d)
			}
			continue
		}
		if ref := orbgeo.Distance(tc.at, tc.foot); math.Abs(d-ref) > 0.01*ref {
			t.Errorf("%s: distance %.2f m, haversine says %.2f m", tc.name, d, ref)
		}
	}
	r1, _ := c.Feature(geo.KindRoad, "R1")
	if r1.Name != "Via Uno" || r1.RoadClass != "primary" || r1.Lanes != 2 || r1.SpeedLimit != 50 {
		t.Errorf("R1 attributes lost: %+v", r1)
	}
}

func TestWithinAndIntersecting(t *testing.T) {
	c, _ := fixtureCity(t)
	ids := func(fs []*geo.Feature) []string {
		out := []string{}
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		k    geo.Kind
		g    orb.Geometry
		want []string
	}{
		{"bbox inside N1's hole", geo.KindNeighbourhood, orb.Bound{Min: p(3.2, 3.2), Max: p(3.8, 3.8)}, []string{"N2"}},
		{"bbox over both districts", geo.KindDistrict, orb.Bound{Min: p(9, 9), Max: p(11, 11)}, []string{"D1", "D2"}},
		{"bbox between N3's parts", geo.KindNeighbourhood, orb.Bound{Min: p(13.5, 3), Max: p(15, 5)}, []string{}},
		{"bbox across R1 only", geo.KindRoad, orb.Bound{Min: p(2, 4), Max: p(3, 6)}, []string{"R1"}},
		{"bbox with R2 and R1's corner", geo.KindRoad, orb.Bound{Min: p(14, 4), Max: p(16, 5)}, []string{"R1", "R2"}},
		// The bbox of the diagonal line overlaps R2's, but the line
		// itself passes beside R2's end.
		{"diagonal line missing R2", geo.KindRoad, orb.LineString{p(14, 11), p(16, 10.5)}, []string{}},
		{"line crossing R1", geo.KindRoad, orb.LineString{p(2, 4), p(3, 6)}, []string{"R1"}},
		{"triangle over the bow-tie", geo.KindGreenArea, orb.Polygon{{p(19, 7), p(20.2, 7.5), p(19, 8), p(19, 7)}}, []string{"G2"}},
		{"polygon around N3's small part", geo.KindNeighbourhood, orb.Polygon{box(11.5, 0.5, 13.5, 2.5)}, []string{"N3"}},
	} {
		var got []string
		if b, ok := tc.g.(orb.Bound); ok {
			got = ids(c.Within(tc.k, b))
		} else {
			got = ids(c.Intersecting(tc.k, tc.g))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLink(t *testing.T) {
	c, _ := fixtureCity(t)
	for _, tc := range []struct {
		name string
		g    orb.Geometry
		refs map[string]string
		want geo.Links // RoadDistance checked only for being finite
	}{
		{"traffic sensor on R1 in N1", p(2, 5.01), nil,
			geo.Links{District: "D1", Neighbourhood: "N1", Road: "R1"}},
		{"soil moisture sensor in Z1", p(21, 1), nil,
			geo.Links{GreenArea: "G1", IrrigationZone: "Z1"}},
		{"ref URN overrides the nearest road", p(2, 5.01), map[string]string{"refRoadSegment": "urn:ngsi-ld:RoadSegment:R3"},
			geo.Links{District: "D1", Neighbourhood: "N1", Road: "R3"}},
		{"plain id ref", p(2, 5.01), map[string]string{"refRoadSegment": "R2"},
			geo.Links{District: "D1", Neighbourhood: "N1", Road: "R2"}},
		{"unknown ref falls back to geometry", p(2, 5.01), map[string]string{"refRoadSegment": "urn:ngsi-ld:RoadSegment:nope"},
			geo.Links{District: "D1", Neighbourhood: "N1", Road: "R1"}},
		{"refGreenspace names a green area", p(5, 5.01), map[string]string{"refGreenspace": "urn:ngsi-ld:Greenspace:G2"},
			geo.Links{District: "D1", Neighbourhood: "N1", Road: "R1", GreenArea: "G2"}},
		{"refGreenspace names an irrigation zone", p(25, 25), map[string]string{"refGreenspace": "Z1"},
			geo.Links{GreenArea: "G1", IrrigationZone: "Z1"}},
		// Midpoint of the line is (14, 3): D2, no neighbourhood; the
		// line itself crosses R2.
		{"traffic loop as a line", orb.LineString{p(13, 3), p(15, 3)}, nil,
			geo.Links{District: "D2", Road: "R2"}},
	} {
		got := c.Link(tc.g, tc.refs, 100)
		if tc.want.Road != "" && math.IsInf(got.RoadDistance, 0) {
			t.Errorf("%s: road %q with infinite distance", tc.name, got.Road)
		}
		if tc.want.Road == "" && !math.IsInf(got.RoadDistance, 1) {
			t.Errorf("%s: no road but distance %v", tc.name, got.RoadDistance)
		}
		got.RoadDistance = 0
		if got != tc.want {
			t.Errorf("%s: Link = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if ln := c.Link(orb.LineString{p(13, 3), p(15, 3)}, nil, 100); ln.RoadDistance != 0 {
		t.Errorf("line crossing R2 at distance %v, want 0", ln.RoadDistance)
	}
}

func TestConcurrentReads(t *testing.T) {
	c, _ := fixtureCity(t)
	want := c.Link(p(2, 5.01), nil, 100)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := c.Link(p(2, 5.01), nil, 100); got != want {
					t.Errorf("concurrent Link = %+v, want %+v", got, want)
					return
				}
				c.Within(geo.KindRoad, c.Bound())
			}
		})
	}
	wg.Wait()
}

// TestLoadDir reads a layer configuration and GeoJSON files, one of them
// in UTM 32N announced by a legacy crs member, with string attributes.
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("city.json", `{"layers": [
		{"kind": "district", "path": "districts.geojson", "id_prop": "MUNICIPIO", "name_prop": "NOME"},
		{"kind": "road", "path": "roads.geojson", "name_prop": "name", "road_class_prop": "highway", "lanes_prop": "lanes", "speed_prop": "maxspeed"}
	]}`)
	// A 200 m square around ARPA's Milano Verziere station (E 515270,
	// N 5034443), in UTM 32N.
	write("districts.geojson", `{"type": "FeatureCollection",
		"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32632"}},
		"features": [
		{"type": "Feature", "properties": {"MUNICIPIO": 1, "NOME": "Centro"}, "geometry": {"type": "Polygon",
			"coordinates": [[[515170, 5034343], [515370, 5034343], [515370, 5034543], [515170, 5034543], [515170, 5034343]]]}},
		{"type": "Feature", "properties": {"MUNICIPIO": 2}, "geometry": null},
		{"type": "Feature", "properties": {"MUNICIPIO": 3}, "geometry": {"type": "Polygon", "coordinates": [[[1, 2]]]}}
	]}`)
	write("roads.geojson", `{"type": "FeatureCollection", "features": [
		{"type": "Feature", "id": "way/1", "properties": {"name": "Corso", "highway": "secondary", "lanes": "2;1", "maxspeed": "30 mph"},
		 "geometry": {"type": "LineString", "coordinates": [[9.19, 45.463], [9.20, 45.463, 120]]}},
		{"type": "Feature", "properties": {"name": "no id"},
		 "geometry": {"type": "LineString", "coordinates": [[9.19, 45.464], [9.20, 45.464]]}}
	]}`)
	c, rep, err := geo.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", rep)
	if lr := rep.PerLayer[geo.KindDistrict]; lr.Read != 3 || lr.Loaded != 1 || lr.Dropped != 2 {
		t.Errorf("district report %+v, want 3 read, 1 loaded, 2 dropped", lr)
	}
	d := c.Containing(geo.KindDistrict, orb.Point{9.19532511, 45.46334886})
	if id(d) != "1" || d.Name != "Centro" {
		t.Fatalf("Verziere in district %+v, want 1 Centro", d)
	}
	if b := d.Geometry.Bound(); math.Abs(orbgeo.Distance(b.Min, orb.Point{b.Max[0], b.Min[1]})-200) > 1 {
		t.Errorf("reprojected square is %.2f m wide, want 200", orbgeo.Distance(b.Min, orb.Point{b.Max[0], b.Min[1]}))
	}
	r, ok := c.Feature(geo.KindRoad, "way/1")
	if !ok || r.Name != "Corso" || r.RoadClass != "secondary" || r.Lanes != 2 || math.Abs(r.SpeedLimit-48.28) > 0.01 {
		t.Errorf("road way/1 = %+v", r)
	}
	if r, ok := c.Feature(geo.KindRoad, "1"); !ok || r.Name != "no id" {
		t.Errorf("road without id should be keyed by its index 1: %+v", r)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	gauss := filepath.Join(dir, "gb.geojson")
	// Gauss-Boaga (EPSG:3003) eastings start near 1 500 000: not UTM.
	os.WriteFile(gauss, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[1514000,5034000],[1515000,5034000],[1515000,5035000],[1514000,5034000]]]}}]}`), 0o644)
	for _, tc := range []struct {
		name string
		src  geo.LayerSource
		want string
	}{
		{"missing file", geo.LayerSource{Kind: geo.KindDistrict, Path: filepath.Join(dir, "nope.geojson")}, "read layer"},
		{"unknown kind", geo.LayerSource{Kind: "lake", Path: gauss}, "unknown kind"},
		{"unknown CRS", geo.LayerSource{Kind: geo.KindDistrict, Path: gauss, CRS: "EPSG:3003"}, "unsupported CRS"},
		{"projected, not UTM", geo.LayerSource{Kind: geo.KindDistrict, Path: gauss}, "unknown CRS"},
	} {
		_, _, err := geo.Load([]geo.LayerSource{tc.src})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}
