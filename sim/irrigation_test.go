package sim

import (
	"math"
	"testing"
	"time"
)

// TestIrrigationController checks a controller's soil: it follows the
// daily pattern until a valve opens, rises by 0.01 a minute while open (up
// to a little above field capacity), then drains and dries slowly.
func TestIrrigationController(t *testing.T) {
	f := NewFleet(FleetConfig{Count: 200, Seed: 4, Protocols: []Protocol{ProtocolUL}})
	ctl := -1
	for i, s := range f.sensors {
		if s.Controller {
			ctl = i
			break
		}
	}
	if ctl < 0 {
		t.Fatal("no controller")
	}
	p := &f.params[ctl]
	rome, _ := time.LoadLocation("Europe/Rome")
	t0 := time.Date(2025, 7, 1, 14, 0, 0, 0, rome) // mid-afternoon: drying fast
	ir := newIrrigation(f)
	vwc := func(tm time.Time) (float64, bool) {
		v := ir.values(ctl, tm)
		return v[0], v[2] != 0
	}

	// Closed, the first reading is the daily pattern's.
	if got, want := ir.values(ctl, t0), f.compute(ctl, t0); got != want {
		t.Errorf("first reading %v, pattern %v", got, want)
	}
	// It dries over an hour, by about the pattern's rate.
	start, _ := vwc(t0)
	later, open := vwc(t0.Add(time.Hour))
	patternDrop := f.compute(ctl, t0)[0] - f.compute(ctl, t0.Add(time.Hour))[0]
	if open || !(later < start) || math.Abs((start-later)-patternDrop) > 0.008 {
		t.Errorf("closed hour: %.3f → %.3f (open %v); the pattern drops %.3f", start, later, open, patternDrop)
	}

	// Opened for 10 minutes: +0.1, capped above field capacity.
	t1 := t0.Add(time.Hour)
	ir.open(ctl, t1, 10)
	mid, open := vwc(t1.Add(5 * time.Minute))
	if !open || math.Abs(mid-math.Min(later+0.05, p.wet+overCapacity)) > 0.008 {
		t.Errorf("5 min into watering: %.3f (open %v), from %.3f", mid, open, later)
	}
	end, _ := vwc(t1.Add(10 * time.Minute))
	if want := math.Min(later+0.1, p.wet+overCapacity); math.Abs(end-want) > 0.008 {
		t.Errorf("after 10 min: %.3f, want %.3f", end, want)
	}
	after, open := vwc(t1.Add(11 * time.Minute))
	if open || after > end {
		t.Errorf("valve still open or soil still rising after 10 min: %.3f (open %v)", after, open)
	}
	// Hours later it is drier again, but no drier than the dry floor.
	dry, _ := vwc(t1.Add(8 * time.Hour))
	if !(dry < after) || dry < minVWC {
		t.Errorf("8 h later: %.3f, after watering %.3f", dry, after)
	}

	// Opened for long, it saturates at field capacity + 0.03; 0 closes.
	t2 := t1.Add(9 * time.Hour)
	ir.open(ctl, t2, 120)
	full, _ := vwc(t2.Add(time.Hour))
	if math.Abs(full-(p.wet+overCapacity)) > 0.008 {
		t.Errorf("an hour of watering: %.3f, want ≈ %.3f", full, p.wet+overCapacity)
	}
	ir.open(ctl, t2.Add(time.Hour), 0)
	if _, open := vwc(t2.Add(time.Hour + time.Minute)); open {
		t.Error("open_valve 0 did not close the valve")
	}
	// Above field capacity the excess drains within the hour.
	if v, _ := vwc(t2.Add(2 * time.Hour)); v > p.wet {
		t.Errorf("an hour after closing: %.3f, above field capacity %.3f", v, p.wet)
	}

	// The 05:00 programme waters every controller.
	five := time.Date(2025, 7, 3, 5, 0, 0, 0, rome).Add(time.Duration(p.shift * float64(time.Hour)))
	before, _ := vwc(five.Add(-time.Minute))
	during, open := vwc(five.Add(10 * time.Minute))
	if !open || !(during > before) {
		t.Errorf("05:00 programme: %.3f → %.3f (open %v)", before, during, open)
	}
}
