package twinfeed_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/stream/twinfeed"
	"github.com/citytwin/citytwin/twin"
)

// BenchmarkPublish measures what the pipeline's Observe hook pays per
// observation to feed the stream (State.Apply excluded), against a naive
// baseline that encodes every observation at publish time and hands it to a
// bounded broadcast channel:
//
//	go test ./stream/twinfeed/ -run '^$' -bench Publish -benchmem -count 5
//
// ns/op and allocs/op are per batch of 500 observations over 1,000 sensors;
// ns/obs is per observation.
func BenchmarkPublish(b *testing.B) {
	city := demoCity(b)
	base := baseObservations(city, 1000)
	const batch = 500
	batches := make([][]twin.Observation, len(base)/batch)
	for i := range batches {
		batches[i] = base[i*batch : (i+1)*batch]
	}

	b.Run("feed", func(b *testing.B) {
		state := twin.NewState(city, twin.StateConfig{})
		f, err := twinfeed.New(twinfeed.Config{}, state, city, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			f.Publish(batches[i%len(batches)])
			if i%8 == 7 { // a flush every 4,000 observations (10,000/s, 200 ms ≈ 2,000)
				b.StopTimer()
				f.Changes(nil, time.Now())
				b.StartTimer()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/obs")
	})

	b.Run("naive-encode-at-publish", func(b *testing.B) {
		type value struct {
			Value      any       `json:"value"`
			UnitCode   string    `json:"unitCode,omitempty"`
			ObservedAt time.Time `json:"observedAt"`
		}
		type item struct {
			ID     string           `json:"id"`
			Type   string           `json:"type"`
			Domain twin.Domain      `json:"domain"`
			Values map[string]value `json:"values"`
		}
		ch := make(chan []byte, 4096)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			for _, o := range batches[i%len(batches)] {
				it := item{ID: o.EntityID, Type: o.EntityType, Domain: o.Domain, Values: make(map[string]value, len(o.Attrs))}
				for _, a := range o.Attrs {
					it.Values[a.Name] = value{Value: a.Num, UnitCode: a.Unit, ObservedAt: o.Time}
				}
				data, _ := json.Marshal(it)
				select {
				case ch <- data:
				default: // full: dropped
				}
			}
			if i%8 == 7 {
				b.StopTimer()
				for len(ch) > 0 {
					<-ch
				}
				b.StartTimer()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/obs")
	})
}

// BenchmarkChanges measures the flush side: reading 1,000 changed sensors
// from the State, recomputing the features they are linked to and encoding
// every item once.
func BenchmarkChanges(b *testing.B) {
	city := demoCity(b)
	base := baseObservations(city, 1000)
	now := time.Now()
	for i := range base {
		base[i].Time = now
	}
	state := twin.NewState(city, twin.StateConfig{})
	state.Apply(base)
	f, err := twinfeed.New(twinfeed.Config{StaleSweep: -1}, state, city, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var dst []stream.Item
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f.Publish(base)
		dst = f.Changes(dst[:0], now)
	}
	b.ReportMetric(float64(len(dst)), "items/op")
}

// BenchmarkFlushEncoding measures one flush's Changes (reading the changed
// sensors, recomputing their features' indicators, encoding) with partial
// items against complete ones (Config.FullDeltas, the former protocol), and
// reports the encoded bytes per flush by section; partial-features-1s
// recomputes the features at most once a second (Config.FeatureInterval,
// serve's default), at every tenth flush:
//
//	go test ./stream/twinfeed/ -run '^$' -bench FlushEncoding -benchmem -count 3
//
// A flush follows 1,000 observations (10,000/s over a 100 ms flush) of
// 5,000 sensors placed on the demo city, each with a new time and values.
func BenchmarkFlushEncoding(b *testing.B) {
	city := demoCity(b)
	base := baseObservations(city, 5000)
	for _, mode := range []struct {
		name     string
		full     bool
		features time.Duration
	}{{"partial", false, 0}, {"full", true, 0}, {"partial-features-1s", false, time.Second}} {
		b.Run(mode.name, func(b *testing.B) {
			state := twin.NewState(city, twin.StateConfig{})
			f, err := twinfeed.New(twinfeed.Config{FullDeltas: mode.full, StaleSweep: -1, FeatureInterval: mode.features}, state, city, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for i := range base {
				base[i].Time = now
			}
			state.Apply(base)
			f.Publish(base)
			f.Changes(nil, now)
			var items []stream.Item
			var sensorBytes, featureBytes, sensorItems, featureItems int
			next := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				now = now.Add(100 * time.Millisecond)
				obs := make([]twin.Observation, 1000)
				for j := range obs {
					o := base[next]
					next = (next + 1) % len(base)
					o.Time = now.Add(time.Duration(j) * time.Microsecond)
					o.Attrs = append([]twin.Attr(nil), o.Attrs...)
					for k := range o.Attrs {
						o.Attrs[k].Num += 0.1
					}
					obs[j] = o
				}
				state.Apply(obs)
				f.Publish(obs)
				b.StartTimer()
				items = f.Changes(items[:0], now)
				for _, it := range items {
					if it.Layer == "noise" || it.Layer == "air" || it.Layer == "traffic" || it.Layer == "irrigation" || it.Layer == "generic" {
						sensorBytes += len(it.JSON)
						sensorItems++
					} else {
						featureBytes += len(it.JSON)
						featureItems++
					}
				}
			}
			b.ReportMetric(float64(sensorBytes)/float64(b.N), "sensorB/flush")
			b.ReportMetric(float64(featureBytes)/float64(b.N), "featureB/flush")
			b.ReportMetric(float64(sensorBytes)/float64(max(1, sensorItems)), "B/sensor")
			b.ReportMetric(float64(featureBytes)/float64(max(1, featureItems)), "B/feature")
		})
	}
}
