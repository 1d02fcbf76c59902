package geo_test

import (
	"testing"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/internal/arpa"
	"github.com/paulmach/orb"
)

// Milan open data, read in place from ../shared/data/milano (never copied
// into the repository):
//
//   - NIL (Nuclei di Identità Locale, the 88 neighbourhoods of PGT Milano
//     2030): andrebomm-nil-explorer/data/nil.geojson, and the same layer as
//     published on the city's portal (dataset ds964) in
//     zunstraal-J-Co-Project/test-dataset/ds964.nil_wm.geojson;
//   - Municipi (9 districts): zunstraal-J-Co-Project/test-dataset/
//     ds379_municipi_label.geojson (polygons, despite "label" in its name);
//   - OSM highways around Politecnico Leonardo: michelebanfi-trees/data/
//     osm_transit.highways.geojson;
//   - parks: MattoMatteo-Progetto-Bike/.../Parchi_WGS84_Milano_1.geojson;
//   - ARPA Lombardia air-quality stations: astroedo-air_quality_analysis/
//     data/Database_sensors.csv.
func milanSources(t testing.TB) []geo.LayerSource {
	return []geo.LayerSource{
		{Kind: geo.KindNeighbourhood, Path: milanData(t, "andrebomm-nil-explorer/data/nil.geojson"), IDProp: "ID_NIL", NameProp: "NIL"},
		{Kind: geo.KindDistrict, Path: milanData(t, "zunstraal-J-Co-Project/test-dataset/ds379_municipi_label.geojson"), IDProp: "MUNICIPIO"},
	}
}

func loadMilan(t testing.TB, extra ...geo.LayerSource) (*geo.City, geo.Report) {
	t.Helper()
	c, rep, err := geo.Load(append(milanSources(t), extra...))
	if err != nil {
		t.Fatal(err)
	}
	return c, rep
}

func TestMilanLayersLoadWhole(t *testing.T) {
	c, rep := loadMilan(t,
		geo.LayerSource{Kind: geo.KindRoad, Path: milanData(t, "michelebanfi-trees/data/osm_transit.highways.geojson"),
			NameProp: "name", RoadClassProp: "highway", LanesProp: "lanes", SpeedProp: "maxspeed"},
		geo.LayerSource{Kind: geo.KindGreenArea, Path: milanData(t, "MattoMatteo-Progetto-Bike/Data/Raw/Punti_di_interesse/Parchi/Parchi_WGS84_Milano_1.geojson"),
			NameProp: "PARCO"},
	)
	t.Logf("report:\n%s", rep)
	for k, want := range map[geo.Kind]int{geo.KindNeighbourhood: 88, geo.KindDistrict: 9, geo.KindRoad: 5859, geo.KindGreenArea: 1065} {
		lr := rep.PerLayer[k]
		if lr.Read != want || lr.Loaded != want || lr.Dropped != 0 || len(c.Features(k)) != want {
			t.Errorf("%s: read %d, loaded %d, dropped %d, features %d; want all %d kept (%q)", k, lr.Read, lr.Loaded, lr.Dropped, len(c.Features(k)), want, lr.Problems)
		}
	}
	// The 88 NIL tile the city: every NIL's representative point lies in
	// exactly one Municipio.
	for _, n := range c.Features(geo.KindNeighbourhood) {
		if d := c.Containing(geo.KindDistrict, n.Geometry.Bound().Center()); d == nil && c.Containing(geo.KindNeighbourhood, n.Geometry.Bound().Center()) == n {
			t.Errorf("NIL %s %s: its centre is in no Municipio", n.ID, n.Name)
		}
	}
}

func TestMilanKnownPoints(t *testing.T) {
	c, _ := loadMilan(t)
	for _, tc := range []struct {
		name      string
		at        orb.Point
		municipio string
		nil       string // NIL name
	}{
		{"Duomo", orb.Point{9.1919, 45.4641}, "1", "DUOMO"},
		{"Stazione Centrale", orb.Point{9.2047, 45.4861}, "2", "STAZIONE CENTRALE - PONTE SEVESO"},
		{"Isola", orb.Point{9.1890, 45.4890}, "9", "ISOLA"},
		// The stadium has a NIL of its own, not the San Siro one.
		{"San Siro stadium", orb.Point{9.1240, 45.4781}, "7", "STADIO - IPPODROMI"},
		{"Bergamo, outside Milan", orb.Point{9.67, 45.69}, "", ""},
		{"Monza, just outside", orb.Point{9.2740, 45.5845}, "", ""},
	} {
		if got := id(c.Containing(geo.KindDistrict, tc.at)); got != tc.municipio {
			t.Errorf("%s: Municipio %q, want %q", tc.name, got, tc.municipio)
		}
		got := ""
		if n := c.Containing(geo.KindNeighbourhood, tc.at); n != nil {
			got = n.Name
		}
		if got != tc.nil {
			t.Errorf("%s: NIL %q, want %q", tc.name, got, tc.nil)
		}
	}
}

// TestMilanARPAStations links ARPA's air-quality stations. The station
// table says which comune each is in: those in Milano must land in a
// Municipio and a NIL, the others in neither. The NIL expected for the
// Milan stations were read off the city's NIL map and agree with the
// second publication of the layer (ds964), checked below.
func TestMilanARPAStations(t *testing.T) {
	c, _ := loadMilan(t)
	other, _, err := geo.Load([]geo.LayerSource{{Kind: geo.KindNeighbourhood, IDProp: "ID_NIL", NameProp: "NIL",
		Path: milanData(t, "zunstraal-J-Co-Project/test-dataset/ds964.nil_wm.geojson")}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // ARPA station name -> NIL
		"Milano v.Senato":            "GUASTALLA",
		"Milano Verziere":            "DUOMO",
		"Milano v.Marche":            "ISOLA",
		"Milano v.Juvara":            "BUENOS AIRES - PORTA VENEZIA - PORTA MONFORTE",
		"Milano Pascal Città Studi":  "CITTA' STUDI",
		"Milano P.zza Zavattari":     "SAN SIRO",
		"Milano v.Liguria":           "PORTA TICINESE - CONCHETTA",
		"Milano Parco Lambro":        "CIMIANO - ROTTOLE - Q.RE FELTRE",
		"Milano P.zza Abbiategrasso": "STADERA - CHIESA ROSSA - Q.RE TORRETTA - CONCA FALLATA",
	}
	seen := 0
	for _, s := range arpa.Stations(t) {
		ln := c.Link(s.Point, nil, 100)
		inMilan := s.Comune == "Milano"
		if inMilan != (ln.District != "") || inMilan != (ln.Neighbourhood != "") {
			t.Errorf("station %s (comune %s) at %v linked to %+v", s.Name, s.Comune, s.Point, ln)
			continue
		}
		if !inMilan {
			continue
		}
		n, _ := c.Feature(geo.KindNeighbourhood, ln.Neighbourhood)
		if w, ok := want[s.Name]; ok {
			seen++
			if n.Name != w {
				t.Errorf("station %s: NIL %q, want %q", s.Name, n.Name, w)
			}
		} else {
			t.Errorf("Milan station %s (NIL %s) missing from the table", s.Name, n.Name)
		}
		if o := other.Containing(geo.KindNeighbourhood, s.Point); o == nil || o.Name != n.Name {
			t.Errorf("station %s: NIL %q here, %v in ds964", s.Name, n.Name, o)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d expected Milan stations", seen, len(want))
	}
}
