package air

import (
	"fmt"
	"math"
)

// DefaultBackgroundShare is the background share b = B/C of NO2 used when
// nothing better is known: 0.5, a design assumption of citytwin, not a
// sourced value (reference/domain.md §6 found no closed-form traffic → NO2
// relationship).
const DefaultBackgroundShare = 0.5

// ShareOrigin says how a background share was obtained.
type ShareOrigin string

// Share origins.
const (
	// ShareDefault: DefaultBackgroundShare, an assumption.
	ShareDefault ShareOrigin = "default"
	// ShareGiven: set by the caller (a planner's or a study's value).
	ShareGiven ShareOrigin = "given"
	// ShareStations: C_background / C_roadside from two stations.
	ShareStations ShareOrigin = "stations"
)

// Background is the assumption that splits a concentration C into a
// background B = b·C, not from the roads considered, and a traffic increment
// I = (1 − b)·C. The zero value is the default assumption
// (DefaultBackgroundShare). Results carry it so that they can state it.
type Background struct {
	// Share is b = B/C, 0–1.
	Share float64 `json:"share"`
	// Origin says how Share was obtained; "" means ShareDefault (and Share
	// is then ignored).
	Origin ShareOrigin `json:"origin"`
	// BackgroundStation and RoadsideStation are the two stations' mean
	// concentrations, µg/m³, when Origin is ShareStations.
	BackgroundStation float64 `json:"backgroundStation,omitempty"`
	RoadsideStation   float64 `json:"roadsideStation,omitempty"`
	// Clamped reports that the stations' ratio fell outside 0–1 and was
	// clamped (a background above the roadside gives b = 1: no traffic
	// increment).
	Clamped bool `json:"clamped,omitempty"`
}

// GivenShare returns a Background with the caller's share b, 0–1.
func GivenShare(b float64) (Background, error) {
	if math.IsNaN(b) || b < 0 || b > 1 {
		return Background{}, fmt.Errorf("air: background share: %w", fieldErr("share", "must be within 0..1, got %v", b))
	}
	return Background{Share: b, Origin: ShareGiven}, nil
}

// StationShare estimates the share from a background station and a roadside
// station over the same period: b = C_background / C_roadside clamped to
// 0–1 (µg/m³ both; the roadside mean must be > 0).
func StationShare(background, roadside float64) (Background, error) {
	if math.IsNaN(background) || math.IsInf(background, 0) || background < 0 {
		return Background{}, fmt.Errorf("air: background share: %w", fieldErr("background", "must be a finite concentration ≥ 0 µg/m³, got %v", background))
	}
	if math.IsNaN(roadside) || math.IsInf(roadside, 0) || roadside <= 0 {
		return Background{}, fmt.Errorf("air: background share: %w", fieldErr("roadside", "must be a finite concentration > 0 µg/m³, got %v", roadside))
	}
	b := background / roadside
	bg := Background{Share: min(b, 1), Origin: ShareStations, BackgroundStation: background, RoadsideStation: roadside}
	bg.Clamped = b > 1
	return bg, nil
}

func (b Background) withDefaults() Background {
	if b.Origin == "" {
		return Background{Share: DefaultBackgroundShare, Origin: ShareDefault}
	}
	return b
}

// String states the assumption in words, for results.
func (b Background) String() string {
	b = b.withDefaults()
	switch b.Origin {
	case ShareDefault:
		return fmt.Sprintf("background share %.2f (default assumption, not a sourced value)", b.Share)
	case ShareStations:
		s := fmt.Sprintf("background share %.2f = background station %.1f / roadside station %.1f µg/m³", b.Share, b.BackgroundStation, b.RoadsideStation)
		if b.Clamped {
			s += " (ratio above 1, clamped)"
		}
		return s
	}
	return fmt.Sprintf("background share %.2f (%s)", b.Share, b.Origin)
}

// NO2Change is the NO2 scenario result.
type NO2Change struct {
	// Before, After and Delta (After − Before) are concentrations, µg/m³.
	Before, After, Delta float64
	// Ratio is the traffic ratio applied.
	Ratio float64
	// Background is the assumption used, defaults resolved.
	Background Background
}

// ProjectNO2 applies a traffic change by ratio r (0.7 = −30 %) on the roads
// that matter to an NO2 concentration c (µg/m³, any averaging period):
//
//	C = B + I,  B = b·C,  I = (1 − b)·C,  C′ = B + I·r = C·(b + (1 − b)·r)
//
// The background B is unchanged and the traffic increment scales linearly
// with traffic. This is a design assumption, not a sourced formula
// (reference/domain.md §6): NO2 chemistry (NO/O3 titration) and weather are
// ignored.
func ProjectNO2(c, r float64, bg Background) (NO2Change, error) {
	if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
		return NO2Change{}, fmt.Errorf("air: project NO2: %w", fieldErr("concentration", "must be a finite concentration ≥ 0 µg/m³, got %v", c))
	}
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		return NO2Change{}, fmt.Errorf("air: project NO2: %w", fieldErr("ratio", "must be a finite traffic ratio ≥ 0, got %v", r))
	}
	bg = bg.withDefaults()
	if math.IsNaN(bg.Share) || bg.Share < 0 || bg.Share > 1 {
		return NO2Change{}, fmt.Errorf("air: project NO2: %w", fieldErr("background.Share", "must be within 0..1, got %v", bg.Share))
	}
	after := c * (bg.Share + (1-bg.Share)*r)
	return NO2Change{Before: c, After: after, Delta: after - c, Ratio: r, Background: bg}, nil
}
