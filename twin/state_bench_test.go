package twin_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

const benchSensors = 100_000

// Shared feature ids, as geo.City.Link returns them (one string per feature).
var (
	benchDistricts = ids("mun-", 9)
	benchNILs      = ids("nil-", 88)
	benchRoads     = ids("road-", 2000)
)

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

// benchObs returns the observation of sensor i at time tm: a mix of noise,
// air and traffic sensors with five numeric attributes each.
func benchObs(i int, tm time.Time) twin.Observation {
	typ, names := "NoiseLevelObserved", [5]string{"LAeq", "LAmax", "LAmin", "LA90", "LA10"}
	switch i % 3 {
	case 1:
		typ, names = "AirQualityObserved", [5]string{"pm25", "pm10", "no2", "o3", "temperature"}
	case 2:
		typ, names = "TrafficFlowObserved", [5]string{"intensity", "occupancy", "averageVehicleSpeed", "averageVehicleLength", "averageHeadwayTime"}
	}
	attrs := make([]twin.Attr, 5)
	for k := range attrs {
		attrs[k] = twin.Attr{Name: names[k], Kind: twin.KindNumber, Num: float64(i%50 + k)}
	}
	return twin.Observation{
		Tenant: twin.DefaultTenant, EntityID: fmt.Sprintf("urn:ngsi-ld:%s:sensor-%06d", typ, i),
		EntityType: typ, Domain: twin.DomainOf(typ), Time: tm,
		Location: orb.Point{9.1 + float64(i%1000)*1e-4, 45.4 + float64(i/1000)*1e-4},
		Attrs:    attrs,
		Links: geo.Links{
			District: benchDistricts[i%len(benchDistricts)], Neighbourhood: benchNILs[i%len(benchNILs)],
			Road: benchRoads[i%len(benchRoads)], RoadDistance: 12,
		},
	}
}

// naive is the baseline: latest value per sensor and attribute in nested
// string-keyed maps, no metadata, no index.
type naive map[string]map[string]twin.Value

func (m naive) apply(obs []twin.Observation) {
	for i := range obs {
		o := &obs[i]
		key := o.Tenant + "\x00" + o.EntityID
		vals, ok := m[key]
		if !ok {
			vals = make(map[string]twin.Value, len(o.Attrs))
			m[key] = vals
		}
		for _, a := range o.Attrs {
			if old, ok := vals[a.Name]; ok && o.Time.Before(old.Time) {
				continue
			}
			vals[a.Name] = twin.Value{Num: a.Num, Bool: a.Bool, Str: a.Str, Kind: a.Kind, Time: o.Time, Unit: a.Unit}
		}
	}
}

type applier interface{ apply([]twin.Observation) }

type stateApplier struct{ *twin.State }

func (s stateApplier) apply(o []twin.Observation) { s.Apply(o) }

// BenchmarkApply measures one observation (five attributes) through a twin
// already holding 100,000 sensors: ns/op is per observation, in batches of
// 100 under one lock.
func BenchmarkApply(b *testing.B) {
	for _, c := range []struct {
		name string
		mk   func() applier
	}{
		{"twin", func() applier { return stateApplier{twin.NewState(nil, twin.StateConfig{})} }},
		{"naive", func() applier { return naive{} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			a := c.mk()
			all := make([]twin.Observation, benchSensors)
			for i := range all {
				all[i] = benchObs(i, t0)
			}
			for i := 0; i < len(all); i += 1000 {
				a.apply(all[i : i+1000])
			}
			const batch = 100
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				k := min(batch, b.N-i)
				j := i % benchSensors
				if j+k > benchSensors {
					j = 0
				}
				tm := t0.Add(time.Duration(i/benchSensors+1) * time.Minute)
				obs := all[j : j+k]
				for x := range obs {
					obs[x].Time = tm
				}
				a.apply(obs)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/obs")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory reports the live heap per sensor of a state holding
// 100,000 sensors with five attributes each (observations are generated in
// batches and dropped, so only what the state retains is counted).
func BenchmarkMemory(b *testing.B) {
	for _, c := range []struct {
		name string
		mk   func() applier
	}{
		{"twin", func() applier { return stateApplier{twin.NewState(nil, twin.StateConfig{})} }},
		{"naive", func() applier { return naive{} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var perSensor float64
			for range b.N {
				before := heapAlloc()
				a := c.mk()
				for i := 0; i < benchSensors; i += 1000 {
					batch := make([]twin.Observation, 1000)
					for k := range batch {
						batch[k] = benchObs(i+k, t0)
					}
					a.apply(batch)
				}
				after := heapAlloc()
				perSensor = float64(int64(after)-int64(before)) / benchSensors
				runtime.KeepAlive(a)
			}
			b.ReportMetric(perSensor, "B/sensor")
		})
	}
}

// BenchmarkIndicators measures one district's indicators over ~11,000
// sensors (100,000 sensors over 9 districts).
func BenchmarkIndicators(b *testing.B) {
	s := twin.NewState(nil, twin.StateConfig{})
	for i := 0; i < benchSensors; i += 1000 {
		batch := make([]twin.Observation, 1000)
		for k := range batch {
			batch[k] = benchObs(i+k, t0)
		}
		s.Apply(batch)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Indicators(geo.KindDistrict, benchDistricts[0], t0)
	}
}

// TestMemoryPerSensor guards the 2 KB per sensor budget at 20,000 sensors.
func TestMemoryPerSensor(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a large state")
	}
	const n = 20_000
	before := heapAlloc()
	s := twin.NewState(nil, twin.StateConfig{})
	for i := 0; i < n; i += 1000 {
		batch := make([]twin.Observation, 1000)
		for k := range batch {
			batch[k] = benchObs(i+k, t0)
		}
		s.Apply(batch)
	}
	per := float64(int64(heapAlloc())-int64(before)) / n
	runtime.KeepAlive(s)
	t.Logf("%.0f bytes/sensor", per)
	if per > 2048 {
		t.Errorf("%.0f bytes per sensor, budget 2048", per)
	}
}

// BenchmarkStaleSweep measures one sweep of the staleness of 100,000
// sensors: Staleness (no copies) against the former way, Sensors (a copy
// of every sensor, values included) and Stale.
func BenchmarkStaleSweep(b *testing.B) {
	s := twin.NewState(nil, twin.StateConfig{})
	all := make([]twin.Observation, benchSensors)
	for i := range all {
		all[i] = benchObs(i, t0)
	}
	s.Apply(all)
	now := t0.Add(time.Minute)
	b.Run("staleness", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			n := 0
			s.Staleness(now, func(_, _ string, stale bool) bool {
				if stale {
					n++
				}
				return true
			})
		}
	})
	b.Run("export", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			n := 0
			s.Sensors(func(sn twin.Sensor) bool {
				if s.Stale(now, sn) {
					n++
				}
				return true
			})
		}
	})
}
