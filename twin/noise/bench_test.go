package noise_test

import (
	"math"
	"testing"

	"github.com/citytwin/citytwin/twin/noise"
)

// yearHours is 2025 in Rome with a daily pattern between 45 and 70 dB(A).
func yearHours() []noise.Hour {
	return series(local(2025, 1, 1, 0), 8760, func(h int) float64 {
		return 45 + 25*math.Sin(float64(h)*math.Pi/24)
	})
}

// BenchmarkCompute: Lday, Levening, Lnight and Lden of a year of hours.
func BenchmarkCompute(b *testing.B) {
	hours := yearHours()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := noise.EU.Compute(hours); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComputeBaseline is the floor for BenchmarkCompute: one energetic
// mean of the same levels (noise.Energy per hour), without validation, time
// zones or periods.
func BenchmarkComputeBaseline(b *testing.B) {
	hours := yearHours()
	b.ReportAllocs()
	for b.Loop() {
		var e float64
		for _, h := range hours {
			e += noise.Energy(h.LAeq)
		}
		_ = 10 * math.Log10(e/float64(len(hours)))
	}
}

// BenchmarkDaily: per-day Lden over a year.
func BenchmarkDaily(b *testing.B) {
	hours := yearHours()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := noise.EU.Daily(hours); err != nil {
			b.Fatal(err)
		}
	}
}

var benchMix = noise.Traffic{Flow: [noise.NumCategories]float64{800, 50, 30, 20, 40}, Speed: 50}

// BenchmarkEmission: CNOSSOS emission of a five-category mix, computed in
// the energy domain (one power of ten per band and source).
func BenchmarkEmission(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := noise.Emission(benchMix); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmissionBaseline computes the same emission as the Directive
// writes it (and NoiseModelling codes it): a level per term in dB, energetic
// sums in dB per band and category, then over bands and categories.
func BenchmarkEmissionBaseline(b *testing.B) {
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		var total float64
		for c := noise.Category(0); c < noise.NumCategories; c++ {
			q, v := benchMix.Flow[c], max(benchMix.Speed, noise.MinSpeed)
			if q == 0 {
				continue
			}
			k := noise.CNOSSOS2015[c]
			for i := range noise.OctaveBands {
				lwp := k.AP[i] + k.BP[i]*(v-70)/70
				lw := lwp
				if c <= noise.Heavy {
					lwr := k.AR[i] + k.BR[i]*math.Log10(v/70)
					lw = 10 * math.Log10(math.Pow(10, lwr/10)+math.Pow(10, lwp/10))
				}
				line := lw + 10*math.Log10(q/(1000*v)) + noise.AWeighting[i]
				total += math.Pow(10, line/10)
			}
		}
		sink = 10 * math.Log10(total)
	}
	if got, _ := noise.Emission(benchMix); math.Abs(got-sink) > 1e-9 {
		b.Fatalf("baseline %v differs from Emission %v", sink, got)
	}
}
