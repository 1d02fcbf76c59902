package geo_test

import (
	"os"
	"slices"
	"testing"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/internal/arpa"
	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// TestUTM32NControlPoints checks the inverse transverse Mercator against
// points whose geographic coordinates follow from the definition of UTM:
// on the central meridian (9° E) easting is 500 000 m and northing is
// k0 times the WGS84 meridian arc, which is 4 984 944.378 m from the
// equator to 45° N (a standard geodesy value).
func TestUTM32NControlPoints(t *testing.T) {
	for _, tc := range []struct {
		name       string
		e, n       float64
		lon, lat   float64
		toleranceM float64
	}{
		{"equator on the central meridian", 500000, 0, 9, 0, 0.001},
		{"45°N on the central meridian", 500000, 0.9996 * 4984944.378, 9, 45, 0.01},
		// ARPA Lombardia's Milano Verziere station, 300 m from the Duomo,
		// given by ARPA in both systems (UTM rounded to the metre).
		{"ARPA Milano Verziere", 515270, 5034443, 9.19532511, 45.46334886, 1.5},
		// ARPA Milano v.Marche, north of the centre.
		{"ARPA Milano v.Marche", 514918, 5038105, 9.19093444, 45.49631883, 1.5},
		// The issue quotes E 514 866 N 5 034 526 for the Duomo at
		// 45.4642 N 9.1900 E with an "≈": four decimals of a degree are
		// ±5 m and the pair is 16.5 m apart by this implementation, which
		// the ARPA stations above and below confirm to a metre. Kept as a
		// coarse sanity check only.
		{"Milan Duomo (issue #4, approximate)", 514866, 5034526, 9.1900, 45.4642, 25},
	} {
		lon, lat := geo.UTM32NToWGS84(tc.e, tc.n)
		d := orbgeo.Distance(orb.Point{lon, lat}, orb.Point{tc.lon, tc.lat})
		t.Logf("%s: %.3f m", tc.name, d)
		if d > tc.toleranceM {
			t.Errorf("%s: UTM32NToWGS84(%v, %v) = (%.7f, %.7f), %.3f m from (%v, %v)", tc.name, tc.e, tc.n, lon, lat, d, tc.lon, tc.lat)
		}
	}
}

// TestUTM32NAgainstARPA uses ARPA Lombardia's air-quality station table,
// which gives each station both in UTM 32N (whole metres) and in WGS84.
func TestUTM32NAgainstARPA(t *testing.T) {
	stations := arpa.Stations(t)
	if len(stations) < 5 {
		t.Fatalf("only %d stations with coordinates in %s", len(stations), arpa.Path(t))
	}
	// A handful of rows disagree with themselves by tens of metres to
	// kilometres (the two coordinate pairs were surveyed separately); a
	// projection error would move every station, not a few. Require the
	// bulk to agree to within the metre rounding of the UTM columns.
	var ds []float64
	for _, s := range stations {
		lon, lat := geo.UTM32NToWGS84(s.East, s.North)
		d := orbgeo.Distance(orb.Point{lon, lat}, s.Point)
		ds = append(ds, d)
		if d > 2 {
			t.Logf("outlier station %s: UTM (%v, %v) -> (%.7f, %.7f), %.1f m from ARPA's (%v, %v)", s.Name, s.East, s.North, lon, lat, d, s.Point[0], s.Point[1])
		}
	}
	slices.Sort(ds)
	median, p90 := ds[len(ds)/2], ds[len(ds)*9/10]
	t.Logf("%d ARPA stations: median disagreement %.2f m, 90th percentile %.2f m", len(ds), median, p90)
	if median > 1 || p90 > 2 {
		t.Errorf("UTM 32N inverse disagrees with ARPA: median %.2f m, 90th percentile %.2f m (want <= 1 m, <= 2 m)", median, p90)
	}
}

func milanData(t testing.TB, rel string) string {
	t.Helper()
	p := "../../shared/data/milano/" + rel
	if _, err := os.Stat(p); err != nil {
		t.Skipf("Milan open data not present (%s): %v", p, err)
	}
	return p
}
