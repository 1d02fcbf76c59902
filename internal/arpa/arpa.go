// Package arpa gives tests ARPA Lombardia's air-quality station table
// (Database_sensors.csv of the astroedo-air_quality_analysis project in
// shared/data/milano beside the repository; open data, read in place and
// used only as test input, never copied into the repository): one entry per
// station with its name, comune, UTM 32N and WGS84 coordinates.
//
// It is test support: Stations skips the calling test when the data is
// absent.
package arpa

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/internal/testenv"
)

// Station is one ARPA air-quality station.
type Station struct {
	ID, Name, Comune string
	// East and North are the table's UTM 32N (ETRS89) coordinates, metres.
	East, North float64
	// Point is the table's WGS84 longitude and latitude.
	Point orb.Point
}

// Path returns where the station table is looked for.
func Path(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "..", "shared", "data", "milano",
		"astroedo-air_quality_analysis", "data", "Database_sensors.csv")
}

// Stations reads the station table: one entry per station id (the table has
// a row per station and pollutant), in the table's order, leaving out
// stations without both coordinate pairs. The test is skipped when the file
// is absent and fails when it cannot be read.
func Stations(t testing.TB) []Station {
	t.Helper()
	path := Path(t)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("ARPA station table not found at %s (shared/data beside the repository): %v", path, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: no stations", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, name := range []string{"idstazione", "nomestazione", "comune", "utm_est", "utm_nord", "lng", "lat"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("%s: no column %q", path, name)
		}
	}
	seen := map[string]bool{}
	var out []Station
	for _, row := range rows[1:] {
		id := row[col["idstazione"]]
		if seen[id] {
			continue
		}
		num := func(name string) float64 {
			v, err := strconv.ParseFloat(row[col[name]], 64)
			if err != nil {
				return math.NaN()
			}
			return v
		}
		s := Station{ID: id, Name: row[col["nomestazione"]], Comune: row[col["comune"]],
			East: num("utm_est"), North: num("utm_nord"), Point: orb.Point{num("lng"), num("lat")}}
		if math.IsNaN(s.East + s.North + s.Point[0] + s.Point[1]) {
			continue
		}
		seen[id] = true
		out = append(out, s)
	}
	return out
}
