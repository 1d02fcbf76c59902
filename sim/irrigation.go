package sim

import (
	"math"
	"sync"
	"time"
)

// Irrigation controllers. A controller's soil water content is a state,
// not a function of the time of day: it rises while the valve is open and
// dries otherwise, so an operator's open_valve command shows in the
// readings. The daily 05:00 programme of the other soil probes still runs.
const (
	// wetPerHour is how fast watering raises the volumetric water content
	// (m³/m³ per hour): 0.01 a minute, so the programme's 15 minutes make
	// up for a summer day's drying.
	wetPerHour = 0.6
	// overCapacity is how far above field capacity watering can push the
	// soil; the excess drains at drainPerHour once the valve closes.
	overCapacity = 0.03
	drainPerHour = 0.2
	// minVWC is the driest a controller's soil gets (the wilting point of
	// turf is higher: the soil-refill alert fires long before).
	minVWC = 0.05
	// stepMillis is the integration step.
	stepMillis = 60_000
	// resetMillis: after a gap this long the state restarts from the daily
	// pattern rather than being integrated over it.
	resetMillis = 48 * 3600_000
)

// etNorm normalises the evapotranspiration bell of soilAt over a day.
var etNorm = normCDF((29.0-13)/3) - normCDF((5.0-13)/3)

// dryPerHour is the drying rate (m³/m³ per hour) of a sensor's soil at
// shifted local hour h: the derivative of soilAt's drying curve, a third
// steady and two thirds following the midday bell.
func dryPerHour(p *params, h float64) float64 {
	if h < 5 {
		h += 24 // soilAt's day runs from 05:00 to 05:00
	}
	x := (h - 13) / 3
	pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
	return p.dry * (1.0/24 + 2*pdf/(3*etNorm)) / 3
}

// irrigation is the live state of a fleet's irrigation controllers during
// a Run. It is safe for concurrent use.
type irrigation struct {
	f      *Fleet
	mu     sync.Mutex
	valves map[int]*valve
}

// valve is one controller's state.
type valve struct {
	vwc       float64 // water content without the sensor's noise
	at        int64   // Unix ms of vwc
	openUntil int64   // Unix ms the valve closes; 0: closed
}

func newIrrigation(f *Fleet) *irrigation {
	return &irrigation{f: f, valves: map[int]*valve{}}
}

// advance returns controller i's state brought forward to ms. Times before
// the state's are not integrated (readings of a sensor go forward).
// Callers hold mu.
func (ir *irrigation) advance(i int, ms int64) *valve {
	p := &ir.f.params[i]
	v := ir.valves[i]
	if v == nil || ms-v.at > resetMillis {
		h := wrapHours(localHours(time.UnixMilli(ms)) - p.shift)
		vwc, _ := soilAt(p, h, ms)
		v = &valve{vwc: vwc - 0.003*smooth(p.salt, 1, ms), at: ms}
		ir.valves[i] = v
		return v
	}
	for v.at < ms {
		step := min(int64(stepMillis), ms-v.at)
		mid := v.at + step/2
		h := wrapHours(localHours(time.UnixMilli(mid)) - p.shift)
		dt := float64(step) / 3600_000
		if mid < v.openUntil || wrapHours(h-5) < 0.25 {
			v.vwc = math.Min(v.vwc+wetPerHour*dt, p.wet+overCapacity)
		} else {
			if v.vwc > p.wet {
				v.vwc = math.Max(p.wet, v.vwc-drainPerHour*dt)
			}
			v.vwc = math.Max(minVWC, v.vwc-dryPerHour(p, h)*dt)
		}
		v.at += step
	}
	return v
}

// open opens controller i's valve at now for minutes (0 closes it).
func (ir *irrigation) open(i int, now time.Time, minutes float64) {
	ms := now.UnixMilli()
	ir.mu.Lock()
	defer ir.mu.Unlock()
	v := ir.advance(i, ms)
	v.openUntil = 0
	if minutes > 0 {
		v.openUntil = ms + int64(minutes*60_000)
	}
}

// values returns controller i's reading at t: the daily pattern's values
// with the soil water content and valve of the state.
func (ir *irrigation) values(i int, t time.Time) [maxAttrs]float64 {
	vals := ir.f.compute(i, t)
	p := &ir.f.params[i]
	ms := t.UnixMilli()
	h := wrapHours(localHours(t) - p.shift)
	ir.mu.Lock()
	v := ir.advance(i, ms)
	vwc, open := v.vwc, ms < v.openUntil
	ir.mu.Unlock()
	vals[0] = round(clamp(vwc+0.003*smooth(p.salt, 1, ms), 0, 1), 3)
	vals[2] = 0
	if open || wrapHours(h-5) < 0.25 {
		vals[2] = 1
	}
	return vals
}
