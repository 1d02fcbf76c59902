package noise_test

import (
	"math"
	"testing"

	"github.com/citytwin/citytwin/twin/noise"
)

func light(q, v float64) noise.Traffic {
	var t noise.Traffic
	t.Flow[noise.Light] = q
	t.Speed = v
	return t
}

func scale(t noise.Traffic, r float64) noise.Traffic {
	for i := range t.Flow {
		t.Flow[i] *= r
	}
	return t
}

// mixes are traffic compositions for the invariance tests.
var mixes = map[string]noise.Traffic{
	"light 50":                 light(1000, 50),
	"light 130":                light(3000, 130),
	"light 10 (clamped to 20)": light(400, 10),
	"urban mix 50":             {Flow: [noise.NumCategories]float64{800, 50, 30, 20, 40}, Speed: 50},
	"per-category speeds": {
		Flow:          [noise.NumCategories]float64{1500, 120, 200, 0, 60},
		Speed:         90,
		CategorySpeed: [noise.NumCategories]float64{0, 80, 70, 0, 100},
	},
	"heavy only 30": {Flow: [noise.NumCategories]float64{0, 0, 10}, Speed: 30},
}

func TestDeltaLFlowOnly(t *testing.T) {
	// −30 % flow at unchanged speed and mix: 10·lg(0.7) = −1.549019599857432 dB,
	// whatever the speed, the mix and the coefficient table.
	want := 10 * math.Log10(0.7)
	near(t, "10·lg 0.7", want, -1.5490195998574319, 1e-15)
	for _, m := range []noise.Model{{}, {Coefficients: &noise.CNOSSOS2015}, {Coefficients: &noise.CNOSSOSAmended}} {
		for name, tr := range mixes {
			got, err := m.DeltaL(tr, scale(tr, 0.7))
			if err != nil {
				t.Fatal(err)
			}
			near(t, "ΔL −30 % "+name, got, want, 1e-9)
			got, _ = m.DeltaL(tr, scale(tr, 2))
			near(t, "ΔL ×2 "+name, got, 10*math.Log10(2), 1e-9)
		}
	}
}

// TestEmissionLight50 checks the A-weighted emission of 1000 light vehicles
// per hour at 50 km/h against a hand computation from CNOSSOS2015:
//
//	band  L_WR=A_R+B_R·lg(50/70)  L_WP=A_P+B_P·(50−70)/70  L_W′=L_W+10·lg(1000/50000)  +A
//	  63      75.316                  94.871                    77.930               51.730
//	 125      79.636                  87.143                    70.863               54.763
//	 250      78.816                  85.800                    69.603               61.003
//	 500      86.445                  83.614                    71.277               68.077
//	1000      92.551                  81.914                    75.921               75.921
//	2000      88.464                  84.614                    72.973               74.173
//	4000      78.401                  81.014                    65.922               66.922
//	8000      68.455                  73.814                    57.934               56.834
//
// Energetic sum of the last column: 78.963 dB(A) re 1 pW/m.
func TestEmissionLight50(t *testing.T) {
	got, err := noise.Emission(light(1000, 50))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "L_W′A light 1000 veh/h 50 km/h", got, 78.96345139085159, 1e-9)
}

// TestDeltaLSpeed: 1000 light vehicles per hour, 50 → 30 km/h.
//
//	band  L_WR(30)  L_WP(30)  L_W′(30)=L_W+10·lg(1000/30000)  +A
//	  63   68.661    95.243    80.481                        54.281
//	 125   70.429    85.086    70.461                        54.361
//	 250   70.186    83.600    69.022                        60.422
//	 500   80.743    81.329    69.285                        66.085
//	1000   85.341    79.629    71.602                        71.602
//	2000   80.211    82.329    69.637                        70.837
//	4000   69.749    78.729    64.475                        65.475
//	8000   59.581    71.529    57.026                        55.926
//
// Energetic sum 75.588 dB(A); ΔL = 75.588 − 78.963 = −3.375 dB. The slower
// flow is denser (+10·lg(50/30) = +2.2 dB) but each vehicle is quieter.
func TestDeltaLSpeed(t *testing.T) {
	got, err := noise.DeltaL(light(1000, 50), light(1000, 30))
	if err != nil {
		t.Fatal(err)
	}
	if got >= 0 {
		t.Fatalf("ΔL 50→30 km/h = %v, want a decrease", got)
	}
	near(t, "ΔL 50→30 km/h", got, -3.3754437502238943, 1e-9)
	// Faster is louder for light vehicles above 30 km/h.
	up, _ := noise.DeltaL(light(1000, 50), light(1000, 70))
	if up <= 0 {
		t.Errorf("ΔL 50→70 km/h = %v, want an increase", up)
	}
	// Below MinSpeed nothing changes.
	same, _ := noise.DeltaL(light(1000, 20), light(1000, 5))
	near(t, "ΔL 20→5 km/h (clamped)", same, 0, 1e-12)
}

// TestEmissionTwoWheeler: category 4a has propulsion noise only (Eq. 2.2.3).
// At 70 km/h L_WP = A_P, so with A-weighting the bands are 61.8, 71.4, 80.9,
// 90.5, 96.6, 100.0, 94.9, 87.6 dB(A): energetic sum 102.90; 100 veh/h add
// 10·lg(100/70000) = −28.45 → 74.449 dB(A).
func TestEmissionTwoWheeler(t *testing.T) {
	var tr noise.Traffic
	tr.Flow[noise.TwoWheelerA] = 100
	tr.Speed = 70
	got, err := noise.Emission(tr)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "L_W′A 4a 100 veh/h 70 km/h", got, 74.44869306201922, 1e-9)
}

func TestEmissionOrdering(t *testing.T) {
	// Per vehicle at 50 km/h: heavy > medium heavy > light.
	var prev float64
	for i, c := range []noise.Category{noise.Light, noise.MediumHeavy, noise.Heavy} {
		var tr noise.Traffic
		tr.Flow[c] = 100
		tr.Speed = 50
		l, err := noise.Emission(tr)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && l <= prev {
			t.Errorf("category %v emits %v, not more than the previous %v", c, l, prev)
		}
		prev = l
	}
	// The amended table is louder than the 2015 one for the same traffic.
	l15, _ := noise.Emission(mixes["urban mix 50"])
	lam, _ := noise.Model{Coefficients: &noise.CNOSSOSAmended}.Emission(mixes["urban mix 50"])
	if lam <= l15 {
		t.Errorf("amended %v ≤ 2015 %v", lam, l15)
	}
	// No traffic is silence; closing the road is −Inf.
	if l, err := noise.Emission(noise.Traffic{}); err != nil || !math.IsInf(l, -1) {
		t.Errorf("no traffic: %v, %v; want -Inf", l, err)
	}
	if d, err := noise.DeltaL(light(100, 50), noise.Traffic{}); err != nil || !math.IsInf(d, -1) {
		t.Errorf("road closed: %v, %v; want -Inf", d, err)
	}
}

func TestTrafficValidate(t *testing.T) {
	neg := light(100, 50)
	neg.Flow[noise.TwoWheelerB] = -1
	_, err := noise.Emission(neg)
	wantField(t, err, "traffic.Flow[4b]", "≥ 0")

	_, err = noise.DeltaL(light(100, 0), light(100, 50))
	wantField(t, err, "before.Speed", "> 0 km/h for category 1")

	bad := light(100, 50)
	bad.CategorySpeed[noise.Heavy] = math.NaN()
	_, err = noise.DeltaL(light(100, 50), bad)
	wantField(t, err, "after.CategorySpeed[3]", "finite")

	_, err = noise.DeltaL(noise.Traffic{Speed: 50}, light(100, 50))
	wantField(t, err, "before.Flow", "some traffic")

	// A category without flow needs no speed.
	if _, err := noise.Emission(noise.Traffic{}); err != nil {
		t.Errorf("empty traffic: %v", err)
	}
}

func TestReSum(t *testing.T) {
	// Two roads give 60 dB each; the first loses 30 % of its flow:
	// after = 10·lg(0.7·10^6 + 10^6) = 10·lg(1.7·10^6) = 62.3045;
	// change = 10·lg(1.7/2) = −0.7058.
	after, change, err := noise.ReSum([]float64{60, 60}, []float64{10 * math.Log10(0.7), 0})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "after", after, 62.304489213782745, 1e-9)
	near(t, "change", change, -0.7058107428570727, 1e-9)

	// Removing one of two equal contributions: −3.0103.
	after, change, _ = noise.ReSum([]float64{60, 60}, []float64{math.Inf(-1), 0})
	near(t, "after removal", after, 60, 1e-12)
	near(t, "change removal", change, -10*math.Log10(2), 1e-12)

	// The same ΔL on every contribution shifts the total by ΔL.
	_, change, _ = noise.ReSum([]float64{48, 55.5, 61}, []float64{-2, -2, -2})
	near(t, "uniform change", change, -2, 1e-12)

	_, _, err = noise.ReSum([]float64{60}, []float64{0, 1})
	wantField(t, err, "deltas", "one delta per level")
	_, _, err = noise.ReSum(nil, nil)
	wantField(t, err, "levels", "at least one")
	_, _, err = noise.ReSum([]float64{60, math.NaN()}, []float64{0, 0})
	wantField(t, err, "levels[1]", "finite")
	_, _, err = noise.ReSum([]float64{60}, []float64{math.Inf(1)})
	wantField(t, err, "deltas[0]", "finite or -Inf")
}
