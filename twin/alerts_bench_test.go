package twin_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// The alerts benchmark simulates a city of benchSensors sensors under the
// default rules, in observation-time order, one simulated minute at a time:
//
//	share  kind        interval  attributes                          rules
//	40 %   noise       1 min     LAeq, LAmax, LA90                    LAeq 1 h energetic
//	30 %   air         10 min    no2, pm10, pm25, o3, temperature     no2 1 h, pm10/pm25 24 h, o3 8 h
//	20 %   traffic     1 min     intensity, occupancy, speed          none (the cheap path)
//	10 %   soil        15 min    soilMoistureVwc, soilTemperature     latest value
//
// Values drift per sensor so that a few percent of the sensors exceed at any
// time. Before timing, 24 simulated hours are fed (the last hour only for
// the 1-minute sensors, whose windows are at most 1 h) so that every window
// is full: the heap then held per sensor is the steady state.
const (
	alertBenchWarmup = 24 * 60 // minutes
	alertBenchBatch  = 100
)

var benchGreen = ids("park-", 300)
var benchZones = ids("zone-", 1200)

type alertBenchSensor struct {
	obs      twin.Observation
	interval int // minutes
	kind     int // 0 noise, 1 air, 2 traffic, 3 soil
}

// hash01 returns a deterministic pseudo-random number in [0, 1).
func hash01(a, b int) float64 {
	x := uint64(a)*0x9E3779B97F4A7C15 ^ uint64(b)*0xC2B2AE3D27D4EB4F
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return float64(x>>11) / (1 << 53)
}

func alertBenchSensors() []alertBenchSensor {
	out := make([]alertBenchSensor, benchSensors)
	for i := range out {
		var typ string
		var names []string
		var links geo.Links
		nbh := benchNILs[i%len(benchNILs)]
		s := &out[i]
		switch r := i % 10; {
		case r < 4:
			s.kind, s.interval, typ, names = 0, 1, "NoiseLevelObserved", []string{"LAeq", "LAmax", "LA90"}
			links = geo.Links{Neighbourhood: nbh, District: benchDistricts[i%9], Road: benchRoads[i%len(benchRoads)]}
		case r < 7:
			s.kind, s.interval, typ, names = 1, 10, "AirQualityObserved", []string{"no2", "pm10", "pm25", "o3", "temperature"}
			links = geo.Links{Neighbourhood: nbh, District: benchDistricts[i%9]}
		case r < 9:
			s.kind, s.interval, typ, names = 2, 1, "TrafficFlowObserved", []string{"intensity", "occupancy", "averageVehicleSpeed"}
			links = geo.Links{Neighbourhood: nbh, District: benchDistricts[i%9], Road: benchRoads[i%len(benchRoads)]}
		default:
			z := i % len(benchZones)
			s.kind, s.interval, typ, names = 3, 15, "GreenspaceRecord", []string{"soilMoistureVwc", "soilTemperature"}
			links = geo.Links{Neighbourhood: nbh, GreenArea: benchGreen[z%len(benchGreen)], IrrigationZone: benchZones[z]}
		}
		attrs := make([]twin.Attr, len(names))
		for k := range attrs {
			attrs[k] = twin.Attr{Name: names[k], Kind: twin.KindNumber}
		}
		s.obs = twin.Observation{
			Tenant: twin.DefaultTenant, EntityID: fmt.Sprintf("urn:ngsi-ld:%s:sensor-%06d", typ, i),
			EntityType: typ, Domain: twin.DomainOf(typ),
			Location: orb.Point{9.1 + float64(i%1000)*1e-4, 45.4 + float64(i/1000)*1e-4},
			Attrs:    attrs, Links: links,
		}
	}
	return out
}

// set fills the observation of sensor i at simulated minute m.
func (s *alertBenchSensor) set(i, m int, base time.Time) *twin.Observation {
	o := &s.obs
	o.Time = base.Add(time.Duration(m)*time.Minute + time.Duration(i%60)*time.Second)
	// Each sensor has a level that drifts slowly (hourly) plus per-reading noise.
	level := hash01(i, m/60)
	jit := hash01(i, m) - 0.5
	a := o.Attrs
	switch s.kind {
	case 0:
		a[0].Num = 48 + 18*level + 4*jit // LAeq 46–68: ~10 % of the hours above 65
		a[1].Num = a[0].Num + 12
		a[2].Num = a[0].Num - 8
	case 1:
		a[0].Num = 20 + 190*level*level*level + 20*jit // no2: rarely above 200
		a[1].Num = 10 + 45*level + 10*jit              // pm10
		a[2].Num = 5 + 25*level + 5*jit                // pm25
		a[3].Num = 40 + 100*level + 20*jit             // o3
		a[4].Num = 20 + 10*jit
	case 2:
		a[0].Num, a[1].Num, a[2].Num = 10+30*level, 0.1+0.5*level, 20+30*jit
	case 3:
		a[0].Num = 0.17 + 0.15*level + 0.02*jit // soil VWC
		a[1].Num = 18 + 4*jit
	}
	return o
}

// alertBenchClock yields the due observations in time order.
type alertBenchClock struct {
	sensors []alertBenchSensor
	every   []int   // sensors reporting every minute
	byRes   [][]int // byRes[k] are the 10- and 15-minute sensors due when m%30 == k
	minute  int
	due     []int
	pos     int
	base    time.Time
}

func newAlertBenchClock(sensors []alertBenchSensor, base time.Time) *alertBenchClock {
	c := &alertBenchClock{sensors: sensors, base: base, byRes: make([][]int, 30)}
	for i := range sensors {
		if iv := sensors[i].interval; iv == 1 {
			c.every = append(c.every, i)
		} else {
			for k := i % iv; k < 30; k += iv {
				c.byRes[k] = append(c.byRes[k], i)
			}
		}
	}
	return c
}

// next fills batch with the next n observations and returns it; during the
// warm-up it stops at the end of the warm-up.
func (c *alertBenchClock) next(batch []twin.Observation, n int, warmup bool) []twin.Observation {
	batch = batch[:0]
	for len(batch) < n {
		if c.pos == len(c.due) {
			c.due = c.due[:0]
			if !warmup || c.minute >= alertBenchWarmup-60 {
				c.due = append(c.due, c.every...)
			}
			c.due = append(c.due, c.byRes[c.minute%30]...)
			c.pos = 0
			c.minute++
			if warmup && c.minute > alertBenchWarmup {
				return batch
			}
			continue
		}
		i := c.due[c.pos]
		c.pos++
		batch = append(batch, *c.sensors[i].set(i, c.minute-1, c.base))
	}
	return batch
}

type alertApplier interface {
	apply([]twin.Observation) int
}

type noopApplier struct{}

func (noopApplier) apply([]twin.Observation) int { return 0 }

type engineApplier struct{ *twin.Alerts }

func (e engineApplier) apply(o []twin.Observation) int { return len(e.Apply(o)) }

// naiveAlerts is the baseline: the same rules (day/night, hysteresis,
// grouping by the first scope the sensor is linked to) over windows that
// keep every observation in a slice, looked up by string keys.
type naiveAlerts struct {
	rules  []twin.Rule
	loc    *time.Location
	series map[string]*naiveSeries
	open   map[string]map[string]bool // alert key → exceeding series keys
}

type naivePoint struct {
	t int64
	v float64
}

type naiveSeries struct {
	pts       []naivePoint
	exceeding bool
	alert     string
}

func newNaiveAlerts(rules []twin.Rule) *naiveAlerts {
	return &naiveAlerts{rules: rules, loc: time.UTC, series: map[string]*naiveSeries{}, open: map[string]map[string]bool{}}
}

func (n *naiveAlerts) apply(obs []twin.Observation) int {
	changes := 0
	for oi := range obs {
		o := &obs[oi]
		t := o.Time.UnixNano()
		for ri := range n.rules {
			r := &n.rules[ri]
			if r.Domain != "" && r.Domain != o.Domain {
				continue
			}
			at, ok := o.Attr(r.Attr)
			if !ok || at.Kind != twin.KindNumber {
				continue
			}
			key := r.ID + "\x00" + o.Tenant + "\x00" + o.EntityID
			s := n.series[key]
			if s == nil {
				s = &naiveSeries{}
				n.series[key] = s
			}
			v := at.Num
			if r.Energetic {
				v = math.Pow(10, v/10)
			}
			if r.Window == 0 {
				if len(s.pts) > 0 && t < s.pts[0].t {
					continue
				}
				s.pts = append(s.pts[:0], naivePoint{t, v})
			} else {
				newest := t
				if len(s.pts) > 0 {
					newest = max(newest, s.pts[len(s.pts)-1].t)
				}
				if t <= newest-int64(r.Window) {
					continue
				}
				j, _ := slices.BinarySearchFunc(s.pts, t, func(p naivePoint, t int64) int { return int(p.t - t) })
				s.pts = slices.Insert(s.pts, j, naivePoint{t, v})
				k := 0
				for k < len(s.pts) && s.pts[k].t <= newest-int64(r.Window) {
					k++
				}
				s.pts = s.pts[k:]
			}
			var sum float64
			for _, p := range s.pts {
				sum += p.v
			}
			val := sum / float64(len(s.pts))
			if r.Energetic {
				val = 10 * math.Log10(val)
			}
			th := r.Threshold
			tl := s.pts[len(s.pts)-1].t
			if v, ok := r.PerFeature[o.EntityID]; ok {
				th = v
			}
			if r.NightThreshold != nil {
				if h := time.Unix(0, tl).In(n.loc).Hour(); h >= 22 || h < 6 {
					th = *r.NightThreshold
				}
			}
			over := val > th
			back := val <= th-r.Hysteresis
			if r.Below {
				over, back = val < th, val >= th+r.Hysteresis
			}
			switch {
			case !s.exceeding && over:
				kind, id := geo.Kind("sensor"), o.EntityID
				for _, k := range r.Scopes {
					if f := naiveLink(o.Links, k); f != "" {
						kind, id = k, f
						break
					}
				}
				s.alert = r.ID + "/" + o.Tenant + "/" + string(kind) + "/" + id
				s.exceeding = true
				m := n.open[s.alert]
				if m == nil {
					m = map[string]bool{}
					n.open[s.alert] = m
					changes++
				}
				m[key] = true
			case s.exceeding && back:
				s.exceeding = false
				m := n.open[s.alert]
				delete(m, key)
				if len(m) == 0 {
					delete(n.open, s.alert)
					changes++
				}
			}
		}
	}
	return changes
}

func naiveLink(l geo.Links, k geo.Kind) string {
	switch k {
	case geo.KindNeighbourhood:
		return l.Neighbourhood
	case geo.KindGreenArea:
		return l.GreenArea
	case geo.KindIrrigationZone:
		return l.IrrigationZone
	case geo.KindDistrict:
		return l.District
	}
	return ""
}

type alertBenchEnv struct {
	a         alertApplier
	clock     *alertBenchClock
	perSensor float64
	batch     []twin.Observation
}

var (
	alertBenchMu   sync.Mutex
	alertBenchEnvs = map[string]*alertBenchEnv{}
)

// alertEnv returns the warmed-up environment of a variant, built once per
// process so that repeated runs (-count, b.N ramp-up) continue the same
// simulation instead of warming up again.
func alertEnv(b *testing.B, name string, mk func() alertApplier) *alertBenchEnv {
	alertBenchMu.Lock()
	defer alertBenchMu.Unlock()
	if e := alertBenchEnvs[name]; e != nil {
		return e
	}
	sensors := alertBenchSensors()
	clock := newAlertBenchClock(sensors, t0)
	batch := make([]twin.Observation, 0, 1000)
	before := heapAlloc()
	a := mk()
	opened := 0
	for {
		batch = clock.next(batch, 1000, true)
		if len(batch) == 0 {
			break
		}
		opened += a.apply(batch)
	}
	perSensor := float64(int64(heapAlloc())-int64(before)) / benchSensors
	b.Logf("%s: warm-up to %d simulated minutes, %d alert changes, %.0f B/sensor", name, clock.minute, opened, perSensor)
	e := &alertBenchEnv{a: a, clock: clock, perSensor: perSensor, batch: make([]twin.Observation, 0, alertBenchBatch)}
	alertBenchEnvs[name] = e
	return e
}

// BenchmarkAlertsApply measures one observation of the realistic mix through
// 100,000 sensors' windows, in batches of 100 per Apply: ns/op is per
// observation. B/sensor is the live heap per sensor after 24 simulated hours
// (all windows full). "engine" is Alerts with the default rules, "naive" the
// slice-per-window baseline, "feed" the cost of generating the observations
// alone (included in the other two).
func BenchmarkAlertsApply(b *testing.B) {
	for _, c := range []struct {
		name string
		mk   func() alertApplier
	}{
		{"engine", func() alertApplier { return engineApplier{twin.NewAlerts(twin.AlertConfig{})} }},
		{"naive", func() alertApplier { return newNaiveAlerts(twin.DefaultRules()) }},
		// The harness alone (generating the observations), to subtract.
		{"feed", func() alertApplier { return noopApplier{} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := alertEnv(b, c.name, c.mk)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += alertBenchBatch {
				e.batch = e.clock.next(e.batch, min(alertBenchBatch, b.N-i), false)
				e.a.apply(e.batch)
			}
			b.StopTimer()
			runtime.KeepAlive(e)
			b.ReportMetric(e.perSensor, "B/sensor")
		})
	}
}

// BenchmarkAlertsNoMatch measures Apply of one observation no rule applies
// to (a traffic sensor under the default rules): a domain lookup.
func BenchmarkAlertsNoMatch(b *testing.B) {
	a := twin.NewAlerts(twin.AlertConfig{})
	o := []twin.Observation{benchObs(2, t0)}
	b.ReportAllocs()
	for b.Loop() {
		a.Apply(o)
	}
}
