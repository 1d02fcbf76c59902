package dynamap

import (
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb"
)

// GroupState is one group's part in a Map.
type GroupState struct {
	Group int
	// Roads counts the group's roads; Sensors its registered sensors;
	// Reporting those with a level in this update.
	Roads, Sensors, Reporting int
	// DeltaDB is δ_j, the mean of L_meas − L_ref over the reporting sensors;
	// 0 when none reports.
	DeltaDB float64
	// Reference is true when no sensor of the group reported: the group
	// keeps its reference map (δ = 0).
	Reference bool
}

// HeldOut is the leave-one-out error over the reporting sensors: for each,
// its group's δ is recomputed without it (0 when it is the group's only
// reporting sensor) and the level predicted at its point is compared with
// its measurement; error = predicted − measured, dB.
type HeldOut struct {
	N int
	// BiasDB is the mean error; MAEDB the mean absolute error; RMSEDB the
	// root mean square error; Within3DB the share of |error| ≤ 3 dB (0…1).
	// All are 0 when N is 0.
	BiasDB, MAEDB, RMSEDB, Within3DB float64
}

// Map is the noise map at one time.
type Map struct {
	Time time.Time
	Grid Grid
	// Levels are the LAeq of each cell (Grid's order), dB(A); NaN where no
	// road within the cutoff contributes.
	Levels []float32
	Groups []GroupState
	// Reporting counts the registered sensors with a level; Ignored the
	// levels of sensors not registered or not used by Calibrate; Unused the
	// sensors Calibrate could not place.
	Reporting, Ignored, Unused int
	HeldOut                    HeldOut
}

// Level returns the level of the cell containing p, false outside the raster
// or where no road contributes.
func (mp *Map) Level(p orb.Point) (float64, bool) {
	i, ok := mp.Grid.Cell(p)
	if !ok || math.IsNaN(float64(mp.Levels[i])) {
		return 0, false
	}
	return float64(mp.Levels[i]), true
}

// Update computes the map at time at from the sensors' current levels
// (LAeq, dB(A), by sensor id); see the package doc for the formulas. Levels
// of unknown sensors are counted in Map.Ignored. A level must be a finite
// number from 0 to 200 dB.
func (c *Calibration) Update(levels map[string]float64, at time.Time) (*Map, error) {
	m := c.m
	G := len(m.groups)
	mp := &Map{Time: at, Grid: m.grid, Groups: make([]GroupState, G), Unused: len(c.unused)}
	sums := make([]float64, G)
	resid := make([]float64, len(c.sensors))
	reports := make([]bool, len(c.sensors))
	for j, g := range m.groups {
		mp.Groups[j] = GroupState{Group: j, Roads: g.Roads}
	}
	for _, s := range c.sensors {
		mp.Groups[s.Group].Sensors++
	}
	for id, l := range levels {
		if !inRange(l, 0, 200) {
			return nil, fmt.Errorf("update noise map: levels[%q] = %g: must be a finite LAeq from 0 to 200 dB(A)", id, l)
		}
		i, ok := c.byID[id]
		if !ok {
			mp.Ignored++
			continue
		}
		s := &c.sensors[i]
		resid[i], reports[i] = l-s.RefDB, true
		sums[s.Group] += resid[i]
		mp.Groups[s.Group].Reporting++
		mp.Reporting++
	}
	delta := make([]float64, G)
	for j := range mp.Groups {
		gs := &mp.Groups[j]
		if gs.Reporting == 0 {
			gs.Reference = true
			continue
		}
		delta[j] = sums[j] / float64(gs.Reporting)
		gs.DeltaDB = delta[j]
	}
	mp.HeldOut = c.heldOut(mp.Groups, sums, resid, reports, delta)
	mp.Levels = m.levels(delta, nil)
	return mp, nil
}

// heldOut is the leave-one-out error: with the per-group sums of residuals,
// each sensor's own group δ without it is (S_j − r_s)/(n_j − 1), O(G) per
// sensor.
func (c *Calibration) heldOut(gs []GroupState, sums, resid []float64, reports []bool, delta []float64) HeldOut {
	var h HeldOut
	var se, sa, ss float64
	for i, s := range c.sensors {
		if !reports[i] {
			continue
		}
		n := gs[s.Group].Reporting
		dOwn := 0.0
		if n > 1 {
			dOwn = (sums[s.Group] - resid[i]) / float64(n-1)
		}
		e := 0.0
		for j, ej := range s.e {
			d := delta[j]
			if j == s.Group {
				d = dOwn
			}
			e += ej * math.Pow(10, d/10)
		}
		// measured = RefDB + resid.
		err := 10*math.Log10(e) - (s.RefDB + resid[i])
		h.N++
		se += err
		sa += math.Abs(err)
		ss += err * err
		if math.Abs(err) <= 3 {
			h.Within3DB++
		}
	}
	if h.N > 0 {
		n := float64(h.N)
		h.BiasDB, h.MAEDB, h.RMSEDB, h.Within3DB = se/n, sa/n, math.Sqrt(ss/n), h.Within3DB/n
	}
	return h
}

// levels computes L(k) = 10·lg Σ_j E_j(k)·10^(δ_j/10) for every cell into
// dst (grown as needed): one pass of G multiply-adds and one logarithm per
// cell.
func (m *Model) levels(delta []float64, dst []float32) []float32 {
	G := len(m.groups)
	n := m.grid.Len()
	dst = slices32(dst, n)
	f := make([]float32, G)
	for j, d := range delta {
		f[j] = float32(math.Pow(10, d/10))
	}
	nan := float32(math.NaN())
	e := m.energy
	for k := range n {
		row := e[k*G : k*G+G : k*G+G]
		var s float32
		for j, v := range row {
			s += v * f[j]
		}
		dst[k] = level(s, nan)
	}
	return dst
}

func level(s, nan float32) float32 {
	if s <= 0 {
		return nan
	}
	return float32(10 * math.Log10(float64(s)))
}

func slices32(dst []float32, n int) []float32 {
	if cap(dst) < n {
		return make([]float32, n)
	}
	return dst[:n]
}
