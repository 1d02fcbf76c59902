package noise

import (
	"fmt"
	"math"
)

// Category is a CNOSSOS-EU vehicle category (Directive (EU) 2015/996
// Annex, Table 2.2.a).
type Category int

// The vehicle categories.
const (
	// Light: passenger cars, delivery vans ≤ 3.5 t, SUVs, MPVs (cat. 1).
	Light Category = iota
	// MediumHeavy: vans > 3.5 t, buses, two-axle lorries with twin rear
	// tyres (cat. 2).
	MediumHeavy
	// Heavy: lorries, buses and coaches with three or more axles (cat. 3).
	Heavy
	// TwoWheelerA: mopeds, tricycles and quads ≤ 50 cc (cat. 4a).
	TwoWheelerA
	// TwoWheelerB: motorcycles, tricycles and quads > 50 cc (cat. 4b).
	TwoWheelerB
	// NumCategories is the number of categories.
	NumCategories
)

var categoryNames = [NumCategories]string{"1", "2", "3", "4a", "4b"}

// String returns the category's CNOSSOS number: "1", "2", "3", "4a", "4b".
func (c Category) String() string {
	if c >= 0 && c < NumCategories {
		return categoryNames[c]
	}
	return fmt.Sprintf("Category(%d)", int(c))
}

// OctaveBands are the centre frequencies of the CNOSSOS-EU octave bands, Hz.
var OctaveBands = [8]float64{63, 125, 250, 500, 1000, 2000, 4000, 8000}

// AWeighting is the A-weighting of each octave band, dB (IEC 61672-1 at the
// nominal centre frequencies).
var AWeighting = [8]float64{-26.2, -16.1, -8.6, -3.2, 0, 1.2, 1.0, -1.1}

// Coefficients are one vehicle category's emission coefficients per octave
// band (index as OctaveBands): rolling noise A_R, B_R and propulsion noise
// A_P, B_P, in dB (sound power re 1 pW of one vehicle).
type Coefficients struct {
	AR, BR, AP, BP [8]float64
}

// CNOSSOS2015 are the road-vehicle coefficients of Directive (EU) 2015/996
// (its Annex's road traffic source table), the default. Values transcribed from
// NoiseModelling's RoadCnossos_2015.json
// (Universite-Gustave-Eiffel/NoiseModelling:noisemodelling-emission/src/main/resources/org/noise_planet/noisemodelling/emission/road/cnossos/RoadCnossos_2015.json,
// "the 2015 version coefficients"). NoiseModelling is GPL-3, but these
// numbers are the Directive's, facts of law, not NoiseModelling's
// expression; no code was taken. Categories 4a and 4b have no rolling
// noise (Eq. 2.2.3): their A_R, B_R are zero and unused.
var CNOSSOS2015 = [NumCategories]Coefficients{
	Light: {
		AR: [8]float64{79.7, 85.7, 84.5, 90.2, 97.3, 93.9, 84.1, 74.3},
		BR: [8]float64{30.0, 41.5, 38.9, 25.7, 32.5, 37.2, 39.0, 40.0},
		AP: [8]float64{94.5, 89.2, 88.0, 85.9, 84.2, 86.9, 83.3, 76.1},
		BP: [8]float64{-1.3, 7.2, 7.7, 8.0, 8.0, 8.0, 8.0, 8.0},
	},
	MediumHeavy: {
		AR: [8]float64{84.0, 88.7, 91.5, 96.7, 97.4, 90.9, 83.8, 80.5},
		BR: [8]float64{30.0, 35.8, 32.6, 23.8, 30.1, 36.2, 38.3, 40.1},
		AP: [8]float64{101.0, 96.5, 98.8, 96.8, 98.6, 95.2, 88.8, 82.7},
		BP: [8]float64{-1.9, 4.7, 6.4, 6.5, 6.5, 6.5, 6.5, 6.5},
	},
	Heavy: {
		AR: [8]float64{87.0, 91.7, 94.1, 100.7, 100.8, 94.3, 87.1, 82.5},
		BR: [8]float64{30.0, 33.5, 31.3, 25.4, 31.8, 37.1, 38.6, 40.6},
		AP: [8]float64{104.4, 100.6, 101.7, 101.0, 100.1, 95.9, 91.3, 85.3},
		BP: [8]float64{0.0, 3.0, 4.6, 5.0, 5.0, 5.0, 5.0, 5.0},
	},
	TwoWheelerA: {
		AP: [8]float64{88.0, 87.5, 89.5, 93.7, 96.6, 98.8, 93.9, 88.7},
		BP: [8]float64{4.2, 7.4, 9.8, 11.6, 15.7, 18.9, 20.3, 20.6},
	},
	TwoWheelerB: {
		AP: [8]float64{95.0, 97.2, 92.7, 92.9, 94.7, 93.2, 90.1, 86.5},
		BP: [8]float64{3.2, 5.9, 11.9, 11.6, 11.5, 12.6, 11.1, 12.0},
	},
}

// CNOSSOSAmended are the revised road-vehicle coefficients that
// NoiseModelling uses by default, from its RoadCnossos_2020.json (same
// directory as CNOSSOS2015, "Updated Cnossos coefficients (amendments
// 2020)"); they are believed to be those of Commission Delegated Directive
// (EU) 2021/1226 amending Annex II of Directive 2002/49/EC, which was not
// re-read here. B_R and B_P are unchanged; A_R and A_P are higher.
var CNOSSOSAmended = [NumCategories]Coefficients{
	Light: {
		AR: [8]float64{83.1, 89.2, 87.7, 93.1, 100.1, 96.7, 86.8, 76.2},
		BR: [8]float64{30.0, 41.5, 38.9, 25.7, 32.5, 37.2, 39.0, 40.0},
		AP: [8]float64{97.9, 92.5, 90.7, 87.2, 84.7, 88.0, 84.4, 77.1},
		BP: [8]float64{-1.3, 7.2, 7.7, 8.0, 8.0, 8.0, 8.0, 8.0},
	},
	MediumHeavy: {
		AR: [8]float64{88.7, 93.2, 95.7, 100.9, 101.7, 95.1, 87.8, 83.6},
		BR: [8]float64{30.0, 35.8, 32.6, 23.8, 30.1, 36.2, 38.3, 40.1},
		AP: [8]float64{105.5, 100.2, 100.5, 98.7, 101.0, 97.8, 91.2, 85.0},
		BP: [8]float64{-1.9, 4.7, 6.4, 6.5, 6.5, 6.5, 6.5, 6.5},
	},
	Heavy: {
		AR: [8]float64{91.7, 96.2, 98.2, 104.9, 105.1, 98.5, 91.1, 85.6},
		BR: [8]float64{30.0, 33.5, 31.3, 25.4, 31.8, 37.1, 38.6, 40.6},
		AP: [8]float64{108.8, 104.2, 103.5, 102.9, 102.6, 98.5, 93.8, 87.5},
		BP: [8]float64{0.0, 3.0, 4.6, 5.0, 5.0, 5.0, 5.0, 5.0},
	},
	TwoWheelerA: {
		AP: [8]float64{93.0, 93.0, 93.5, 95.3, 97.2, 100.4, 95.8, 90.9},
		BP: [8]float64{4.2, 7.4, 9.8, 11.6, 15.7, 18.9, 20.3, 20.6},
	},
	TwoWheelerB: {
		AP: [8]float64{99.9, 101.9, 96.7, 94.4, 95.2, 94.7, 92.1, 88.6},
		BP: [8]float64{3.2, 5.9, 11.9, 11.6, 11.5, 12.6, 11.1, 12.0},
	},
}

// Reference speed and lowest modelled speed of CNOSSOS-EU, km/h.
const (
	RefSpeed = 70.0
	// MinSpeed: below 20 km/h a vehicle has the sound power of 20 km/h
	// (Directive (EU) 2015/996 Annex §2.2.1); as NoiseModelling does, the
	// clamped speed is also used in the line-source term.
	MinSpeed = 20.0
)

// Traffic is the traffic of one road (both directions together) as CNOSSOS
// needs it.
type Traffic struct {
	// Flow is the flow per category, vehicles per hour.
	Flow [NumCategories]float64
	// Speed is the speed of every category without its own, km/h.
	Speed float64
	// CategorySpeed overrides Speed per category where > 0, km/h.
	CategorySpeed [NumCategories]float64
}

// speed returns the speed of category c, km/h.
func (t Traffic) speed(c Category) float64 {
	if t.CategorySpeed[c] > 0 {
		return t.CategorySpeed[c]
	}
	return t.Speed
}

func (t Traffic) validate(name string) *FieldError {
	for c := Category(0); c < NumCategories; c++ {
		q := t.Flow[c]
		if math.IsNaN(q) || math.IsInf(q, 0) || q < 0 {
			return fieldErr(fmt.Sprintf("%s.Flow[%s]", name, c), "must be a finite flow ≥ 0 veh/h, got %v", q)
		}
		if cs := t.CategorySpeed[c]; math.IsNaN(cs) || math.IsInf(cs, 0) || cs < 0 {
			return fieldErr(fmt.Sprintf("%s.CategorySpeed[%s]", name, c), "must be a finite speed ≥ 0 km/h (0 = Speed), got %v", cs)
		}
		if v := t.speed(c); q > 0 && !(v > 0 && !math.IsInf(v, 0)) {
			return fieldErr(fmt.Sprintf("%s.Speed", name), "must be a finite speed > 0 km/h for category %s, which has flow %v veh/h; got %v", c, q, v)
		}
	}
	if math.IsNaN(t.Speed) || t.Speed < 0 {
		return fieldErr(name+".Speed", "must be ≥ 0 km/h, got %v", t.Speed)
	}
	return nil
}

// Model computes road emission with a coefficient table.
type Model struct {
	// Coefficients is the table to use; nil means CNOSSOS2015.
	Coefficients *[NumCategories]Coefficients
}

// Emission returns the A-weighted sound power per metre of a road's
// traffic, L_W′ in dB(A) re 1 pW/m, summed energetically over octave bands
// and vehicle categories (reference/domain.md §3):
//
//	L_WR = A_R + B_R·lg(v/70)           rolling (categories 1–3)
//	L_WP = A_P + B_P·(v − 70)/70        propulsion
//	L_W  = 10·lg(10^(L_WR/10) + 10^(L_WP/10))
//	L_W′ = L_W + 10·lg(Q/(1000·v))      per band and category
//	L_W′A = 10·lg Σ_m Σ_i 10^((L_W′,i,m + A_i)/10)
//
// with v clamped to at least MinSpeed. Not applied: road-surface, air
// temperature, studded-tyre, gradient and acceleration (junction)
// corrections; the result is for the reference surface at 20 °C on a flat
// road away from junctions. No traffic gives -Inf.
func (m Model) Emission(t Traffic) (float64, error) {
	if err := t.validate("traffic"); err != nil {
		return 0, fmt.Errorf("noise: road emission: %w", err)
	}
	return Level(m.energy(t)), nil
}

// energy returns the A-weighted relative energy of t's emission.
func (m Model) energy(t Traffic) float64 {
	tab := m.Coefficients
	if tab == nil {
		tab = &CNOSSOS2015
	}
	var total float64
	for c := Category(0); c < NumCategories; c++ {
		q := t.Flow[c]
		if q == 0 {
			continue
		}
		v := max(t.speed(c), MinSpeed)
		k := &tab[c]
		lgv := math.Log10(v / RefSpeed)
		dv := (v - RefSpeed) / RefSpeed
		var e float64 // Σ over bands of 10^((L_W,i + A_i)/10)
		for i := range OctaveBands {
			ep := Energy(k.AP[i] + k.BP[i]*dv + AWeighting[i])
			if c <= Heavy {
				ep += Energy(k.AR[i] + k.BR[i]*lgv + AWeighting[i])
			}
			e += ep
		}
		total += e * q / (1000 * v)
	}
	return total
}

// DeltaL returns the change L_W′A(after) − L_W′A(before) of a road's
// A-weighted emission in dB, which is also the change of that road's
// contribution at every receiver (propagation is linear in power,
// reference/domain.md §3). A flow change by ratio r at unchanged speeds and
// mix gives exactly 10·lg(r); closing the road gives -Inf. before must have
// traffic.
func (m Model) DeltaL(before, after Traffic) (float64, error) {
	if err := before.validate("before"); err != nil {
		return 0, fmt.Errorf("noise: emission change: %w", err)
	}
	if err := after.validate("after"); err != nil {
		return 0, fmt.Errorf("noise: emission change: %w", err)
	}
	e0 := m.energy(before)
	if e0 == 0 {
		return 0, fmt.Errorf("noise: emission change: %w", fieldErr("before.Flow", "must have some traffic (all flows are 0)"))
	}
	return Level(m.energy(after) / e0), nil
}

// Emission is Model{}.Emission: CNOSSOS2015 coefficients.
func Emission(t Traffic) (float64, error) { return Model{}.Emission(t) }

// DeltaL is Model{}.DeltaL: CNOSSOS2015 coefficients.
func DeltaL(before, after Traffic) (float64, error) { return Model{}.DeltaL(before, after) }

// ReSum returns a receiver's level after its contributions change: the
// contributions levels[i] (dB) shifted by deltas[i] (dB, -Inf for a removed
// source) summed energetically, 10·lg Σ 10^((Lᵢ+ΔLᵢ)/10), and the change
// from the level before, 10·lg Σ 10^(Lᵢ/10) (reference/domain.md §3–§4).
func ReSum(levels, deltas []float64) (after, change float64, err error) {
	if len(levels) != len(deltas) {
		return 0, 0, fmt.Errorf("noise: re-sum: %w", fieldErr("deltas", "must have one delta per level: %d levels, %d deltas", len(levels), len(deltas)))
	}
	if len(levels) == 0 {
		return 0, 0, fmt.Errorf("noise: re-sum: %w", fieldErr("levels", "must have at least one contribution"))
	}
	var e0, e1 float64
	for i, l := range levels {
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return 0, 0, fmt.Errorf("noise: re-sum: %w", fieldErr(fmt.Sprintf("levels[%d]", i), "must be a finite level in dB, got %v", l))
		}
		d := deltas[i]
		if math.IsNaN(d) || math.IsInf(d, 1) {
			return 0, 0, fmt.Errorf("noise: re-sum: %w", fieldErr(fmt.Sprintf("deltas[%d]", i), "must be finite or -Inf (source removed), got %v", d))
		}
		e0 += Energy(l)
		e1 += Energy(l + d)
	}
	return Level(e1), Level(e1 / e0), nil
}
