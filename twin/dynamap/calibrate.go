package dynamap

import (
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// Sensor is a noise sensor to register.
type Sensor struct {
	ID    string
	Point orb.Point
	// Road is the id of the road segment the sensor is linked to (its
	// refRoadSegment or the nearest road found at ingest), empty if none.
	Road string
}

// SensorInfo is what Calibrate made of a registered sensor.
type SensorInfo struct {
	ID string
	// Road is the road whose group the sensor represents: its linked road
	// when that road emits, else the nearest emitting road.
	Road string
	// RoadMetres is the distance from the sensor to Road.
	RoadMetres float64
	Group      int
	// RefDB is the reference level at the sensor's point, all groups:
	// L_ref,s = 10·lg Σ_j E_j(s).
	RefDB float64
	// OwnDB is the reference level of its own group alone. RefDB − OwnDB
	// near 0 means the sensor hears mostly its own group, as the method
	// assumes.
	OwnDB float64
}

// Calibration is a model with its registered sensors. It is immutable and
// safe for concurrent use.
type Calibration struct {
	m       *Model
	sensors []calSensor
	byID    map[string]int
	unused  []string
}

type calSensor struct {
	SensorInfo
	e []float64 // E_j at the sensor's point
}

// Calibrate registers the noise sensors: each gets the group of its linked
// road if that road is in the model and emits, otherwise of the nearest
// emitting road within Config.SensorRoadMetres; sensors with neither, or
// beyond the cutoff of their linked road, are not used (Calibration.Unused). Each sensor's reference level is computed at its
// exact point. Ids must be unique and non-empty, points valid [lon, lat].
func (m *Model) Calibrate(sensors []Sensor) (*Calibration, error) {
	c := &Calibration{m: m, byID: make(map[string]int, len(sensors))}
	seen := make(map[string]bool, len(sensors))
	for i, s := range sensors {
		switch {
		case s.ID == "":
			return nil, fmt.Errorf("calibrate: sensors[%d].ID is empty: every sensor needs an id", i)
		case seen[s.ID]:
			return nil, fmt.Errorf("calibrate: sensors[%d].ID %q is a duplicate: ids must be unique", i, s.ID)
		case !inRange(s.Point[0], -180, 180) || !inRange(s.Point[1], -90, 90):
			return nil, fmt.Errorf("calibrate: sensors[%d].Point %v (id %q): must be [lon, lat] with lon in ±180, lat in ±90", i, s.Point, s.ID)
		}
		seen[s.ID] = true
		road, dist := m.sensorRoad(s)
		if road < 0 {
			c.unused = append(c.unused, s.ID)
			continue
		}
		cs := calSensor{e: m.ReferenceEnergy(s.Point)}
		r := m.roads[road]
		if cs.e[r.Group] <= 0 {
			// A linked road beyond the cutoff: the sensor cannot tell its
			// group's level.
			c.unused = append(c.unused, s.ID)
			continue
		}
		cs.SensorInfo = SensorInfo{ID: s.ID, Road: r.ID, RoadMetres: dist, Group: r.Group,
			RefDB: 10 * math.Log10(sum(cs.e)), OwnDB: 10 * math.Log10(cs.e[r.Group])}
		c.byID[s.ID] = len(c.sensors)
		c.sensors = append(c.sensors, cs)
	}
	slices.Sort(c.unused)
	return c, nil
}

// sensorRoad returns the index of the road a sensor represents and its
// distance, or −1.
func (m *Model) sensorRoad(s Sensor) (int, float64) {
	if i, ok := m.roadIx[s.Road]; ok && m.roads[i].Group >= 0 {
		f, _ := m.city.Feature(geo.KindRoad, s.Road)
		return i, geo.DistanceMetres(s.Point, f.Geometry)
	}
	lim := m.cfg.SensorRoadMetres
	// The model's frame scale is exact at its centre; 2 % slack covers the
	// change of cos(lat) over a few tens of kilometres.
	dx, dy := 1.02*lim/m.frame.kx, 1.02*lim/m.frame.ky
	b := orb.Bound{Min: orb.Point{s.Point[0] - dx, s.Point[1] - dy}, Max: orb.Point{s.Point[0] + dx, s.Point[1] + dy}}
	best, bestD := -1, math.Inf(1)
	for _, f := range m.city.Within(geo.KindRoad, b) {
		i := m.roadIx[f.ID]
		if m.roads[i].Group < 0 {
			continue
		}
		if d := geo.DistanceMetres(s.Point, f.Geometry); d <= lim && (d < bestD || d == bestD && f.ID < m.roads[best].ID) {
			best, bestD = i, d
		}
	}
	return best, bestD
}

func sum(e []float64) float64 {
	s := 0.0
	for _, v := range e {
		s += v
	}
	return s
}

// Model returns the calibrated model.
func (c *Calibration) Model() *Model { return c.m }

// Sensors returns the registered sensors, in registration order.
func (c *Calibration) Sensors() []SensorInfo {
	out := make([]SensorInfo, len(c.sensors))
	for i, s := range c.sensors {
		out[i] = s.SensorInfo
	}
	return out
}

// Sensor returns one registered sensor.
func (c *Calibration) Sensor(id string) (SensorInfo, bool) {
	i, ok := c.byID[id]
	if !ok {
		return SensorInfo{}, false
	}
	return c.sensors[i].SensorInfo, true
}

// Unused returns the ids of the sensors not used: no emitting road linked
// or within Config.SensorRoadMetres. Sorted.
func (c *Calibration) Unused() []string { return slices.Clone(c.unused) }
