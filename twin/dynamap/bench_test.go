package dynamap_test

import (
	"math"
	"testing"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin/dynamap"
)

// Reproduce with
//
//	go test ./twin/dynamap -run '^$' -bench . -benchtime 1s -count 3

func BenchmarkBuild(b *testing.B) {
	for _, tc := range []struct {
		name string
		city func(testing.TB) *geo.City
	}{{"democity", demoCity}, {"milan", milanRoads}} {
		b.Run(tc.name, func(b *testing.B) {
			city := tc.city(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dynamap.New(dynamap.Config{}, city, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdate compares Calibration.Update (stored energies, one pass of
// G multiply-adds and one logarithm per cell, plus δ and the leave-one-out)
// with a naive grid pass that keeps each group's reference level in dB and
// computes 10·lg Σ_j 10^((L_j + δ_j)/10) with math.Pow per group and cell.
func BenchmarkUpdate(b *testing.B) {
	for _, tc := range []struct {
		name string
		city func(testing.TB) *geo.City
	}{{"democity", demoCity}, {"milan", milanRoads}} {
		b.Run(tc.name, func(b *testing.B) {
			city := tc.city(b)
			m, err := dynamap.New(dynamap.Config{}, city, nil)
			if err != nil {
				b.Fatal(err)
			}
			c, err := m.Calibrate(roadSensors(m, city, 40))
			if err != nil {
				b.Fatal(err)
			}
			levels := synthLevels(c)
			G, n := len(m.Groups()), m.Grid().Len()
			b.Logf("%d cells, %d groups, %d sensors", n, G, len(levels))
			b.Run("dynamap", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Update(levels, t0); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("naive", func(b *testing.B) {
				ref := make([]float64, n*G) // L_j^ref(k), dB
				for k := range n {
					for j, e := range m.CellEnergy(k) {
						ref[k*G+j] = 10 * math.Log10(e)
					}
				}
				delta := make([]float64, G)
				mp, _ := c.Update(levels, t0)
				for j, gs := range mp.Groups {
					delta[j] = gs.DeltaDB
				}
				out := make([]float64, n)
				b.ReportAllocs()
				for b.Loop() {
					for k := range n {
						s := 0.0
						for j := range G {
							s += math.Pow(10, (ref[k*G+j]+delta[j])/10)
						}
						out[k] = 10 * math.Log10(s)
					}
				}
				// The two agree (NaN in one is -Inf in the other).
				for k, l := range mp.Levels {
					if d := float64(l) - out[k]; math.Abs(d) > 1e-3 && !math.IsNaN(float64(l)) {
						b.Fatalf("cell %d: dynamap %v, naive %v", k, l, out[k])
					}
				}
			})
		})
	}
}
