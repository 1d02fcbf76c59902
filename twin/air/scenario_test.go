package air_test

import (
	"math"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/twin/air"
)

func TestProjectNO2(t *testing.T) {
	given03, _ := air.GivenShare(0.3)
	stations, err := air.StationShare(24, 60)
	if err != nil {
		t.Fatal(err)
	}
	clamped, _ := air.StationShare(70, 60)
	for _, c := range []struct {
		name      string
		c, r      float64
		bg        air.Background
		after     float64
		share     float64
		origin    air.ShareOrigin
		statement string
	}{
		// C′ = C·(b + (1 − b)·r).
		// 60·(0.5 + 0.5·0.7) = 60·0.85 = 51.
		{"default", 60, 0.7, air.Background{}, 51, 0.5, air.ShareDefault, "default assumption, not a sourced value"},
		// 60·(0.3 + 0.7·0.7) = 60·0.79 = 47.4.
		{"given 0.3", 60, 0.7, given03, 47.4, 0.3, air.ShareGiven, "(given)"},
		// b = 24/60 = 0.4: 60·(0.4 + 0.6·0.7) = 60·0.82 = 49.2.
		{"stations", 60, 0.7, stations, 49.2, 0.4, air.ShareStations, "background station 24.0 / roadside station 60.0"},
		// Background above roadside: b = 1, nothing changes.
		{"clamped", 60, 0.7, clamped, 60, 1, air.ShareStations, "clamped"},
		// Traffic removed: only the background is left, 40·0.5 = 20.
		{"no traffic", 40, 0, air.Background{}, 20, 0.5, air.ShareDefault, "default"},
		// +20 % traffic: 40·(0.5 + 0.5·1.2) = 44.
		{"more traffic", 40, 1.2, air.Background{}, 44, 0.5, air.ShareDefault, "default"},
	} {
		got, err := air.ProjectNO2(c.c, c.r, c.bg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		near(t, c.name+" after", got.After, c.after, 1e-9)
		near(t, c.name+" delta", got.Delta, c.after-c.c, 1e-9)
		if got.Before != c.c || got.Ratio != c.r || got.Background.Share != c.share || got.Background.Origin != c.origin {
			t.Errorf("%s: %+v", c.name, got)
		}
		if s := got.Background.String(); !strings.Contains(s, c.statement) {
			t.Errorf("%s: statement %q lacks %q", c.name, s, c.statement)
		}
	}
	if !clamped.Clamped || stations.Clamped {
		t.Errorf("clamped flags: %+v %+v", clamped, stations)
	}
}

func TestProjectNO2Errors(t *testing.T) {
	_, err := air.ProjectNO2(-1, 0.7, air.Background{})
	wantField(t, err, "concentration", "≥ 0")
	_, err = air.ProjectNO2(40, math.NaN(), air.Background{})
	wantField(t, err, "ratio", "finite")
	_, err = air.ProjectNO2(40, -0.1, air.Background{})
	wantField(t, err, "ratio", "≥ 0")
	_, err = air.ProjectNO2(40, 0.7, air.Background{Share: 1.5, Origin: air.ShareGiven})
	wantField(t, err, "background.Share", "0..1")
	_, err = air.GivenShare(-0.1)
	wantField(t, err, "share", "0..1")
	_, err = air.StationShare(20, 0)
	wantField(t, err, "roadside", "> 0")
	_, err = air.StationShare(-2, 40)
	wantField(t, err, "background", "≥ 0")
}
