package twin

import (
	"math"
	"time"

	"github.com/citytwin/citytwin/geo"
)

// DefaultFreeFlowKmh is the free-flow speed assumed for the congestion index
// when the sensor's road has no known speed limit: the general urban limit in
// Italy and most of the EU.
const DefaultFreeFlowKmh = 50

// Indicators are the live indicators of one city feature, computed from the
// latest values of the non-stale sensors linked to it. A nil pointer or an
// empty string means no counted sensor provided the input.
//
// Which sensors belong to a feature: districts and neighbourhoods take the
// sensors whose Links name them; roads the sensors linked to the road (noise
// sensors linked to a road give the LAeq nearby); green areas the sensors
// linked to them, including those linked only to one of their irrigation
// zones; irrigation zones the sensors linked to them.
type Indicators struct {
	// Sensors counts the non-stale sensors that were used; StaleSensors the
	// linked sensors left out because they are stale.
	Sensors, StaleSensors int

	// LAeq is the energetic mean of the noise sensors' latest LAeq,
	// 10·lg(mean(10^(Lᵢ/10))) dB(A) (reference/domain.md §1).
	LAeq         *float64
	NoiseSensors int

	// AQIBand is the European Air Quality Index band (see aqi.go) of the
	// mean concentrations below; the worst pollutant decides, and
	// AQIPollutant names it.
	AQIBand      string
	AQIPollutant string
	// PM25, PM10, NO2 and O3 are means of the sensors' latest values, µg/m³.
	PM25, PM10, NO2, O3 *float64

	// Congestion is a 0–1 index: the mean over traffic sensors of
	// max(occupancy, 1 − speed/free-flow speed), each term clamped to 0–1,
	// with the free-flow speed the sensor's road speed limit if known, else
	// DefaultFreeFlowKmh. A sensor with only one of occupancy or speed uses
	// that term.
	Congestion *float64
	// Flow is the traffic, vehicles per hour: the sum over the sensors of
	// their latest intensity (the vehicles counted in its observation
	// period, as Smart Data Models' TrafficFlowObserved defines it) divided
	// by that period — the time since the sensor's previous intensity, or
	// its usual interval for its first one. A sensor whose period is not
	// known yet (its first reading since start) is left out.
	Flow *float64
	// Speed is the mean latest averageVehicleSpeed, km/h.
	Speed *float64

	// SoilMoisture is the mean latest soilMoistureVwc, m³/m³.
	SoilMoisture *float64
	// WaterDeficitMM is max(0, θFC − SoilMoisture)·1000·Zr, mm.
	WaterDeficitMM *float64
	// NeedsWater (green areas and irrigation zones only) reports
	// SoilMoisture ≤ the feature's refill threshold.
	NeedsWater *bool
}

type mean struct {
	sum float64
	n   int
}

func (m *mean) add(x float64) { m.sum += x; m.n++ }

func (m mean) ptr() *float64 {
	if m.n == 0 {
		return nil
	}
	v := m.sum / float64(m.n)
	return &v
}

// Indicators returns the indicators of one feature at now. A feature with no
// linked sensors has zero Indicators.
func (s *State) Indicators(kind geo.Kind, featureID string, now time.Time) Indicators {
	s.mu.RLock()
	defer s.mu.RUnlock()
	slot := slotOf(kind)
	if slot < 0 {
		return Indicators{}
	}
	return s.indicators(slot, featureID, now.UnixNano())
}

// AllIndicators returns the indicators of every feature of a kind: every
// feature of the city's layer (empty Indicators for those without sensors)
// and every feature id sensors are linked to.
func (s *State) AllIndicators(kind geo.Kind, now time.Time) map[string]Indicators {
	s.mu.RLock()
	defer s.mu.RUnlock()
	slot := slotOf(kind)
	if slot < 0 {
		return map[string]Indicators{}
	}
	out := make(map[string]Indicators, len(s.byFeature[slot]))
	t := now.UnixNano()
	if s.city != nil {
		for _, f := range s.city.Features(kind) {
			out[f.ID] = s.indicators(slot, f.ID, t)
		}
	}
	for id := range s.byFeature[slot] {
		if _, ok := out[id]; !ok {
			out[id] = s.indicators(slot, id, t)
		}
	}
	return out
}

func (s *State) indicators(slot int, featureID string, now int64) Indicators {
	var (
		ind                              Indicators
		energy                           float64
		pm25, pm10, no2, o3, speed, soil mean
		cong                             mean
		flow                             float64
		flowN                            int
	)
	pollutants := [...]*mean{&pm25, &pm10, &no2, &o3}
	for _, idx := range s.byFeature[slot][featureID] {
		sn := &s.sensors[idx]
		if s.stale(now, sn.lastSeen, sn.interval) {
			ind.StaleSensors++
			continue
		}
		ind.Sensors++
		var occ, spd float64
		hasOcc, hasSpd := false, false
		for _, v := range sn.vals {
			if v.kind != KindNumber {
				continue
			}
			switch s.strs.str(v.name) {
			case "LAeq":
				energy += math.Pow(10, v.num/10)
				ind.NoiseSensors++
			case "pm25":
				pollutants[0].add(v.num)
			case "pm10":
				pollutants[1].add(v.num)
			case "no2":
				pollutants[2].add(v.num)
			case "o3":
				pollutants[3].add(v.num)
			case "intensity":
				if sn.flowPeriod > 0 {
					flow += v.num * float64(time.Hour) / float64(sn.flowPeriod)
					flowN++
				}
			case "averageVehicleSpeed":
				speed.add(v.num)
				spd, hasSpd = v.num, true
			case "occupancy":
				occ, hasOcc = v.num, true
			case "soilMoistureVwc":
				soil.add(v.num)
			}
		}
		if hasOcc || hasSpd {
			c := 0.0
			if hasOcc {
				c = clamp01(occ)
			}
			if hasSpd {
				c = math.Max(c, clamp01(1-spd/s.freeFlow(sn)))
			}
			cong.add(c)
		}
	}
	if ind.NoiseSensors > 0 {
		l := 10 * math.Log10(energy/float64(ind.NoiseSensors))
		ind.LAeq = &l
	}
	ind.PM25, ind.PM10, ind.NO2, ind.O3 = pm25.ptr(), pm10.ptr(), no2.ptr(), o3.ptr()
	worst := -1
	for i, p := range AQIPollutants {
		if pollutants[i].n == 0 {
			continue
		}
		b, _ := AQIBandOf(p, pollutants[i].sum/float64(pollutants[i].n))
		if b > worst {
			worst, ind.AQIPollutant = b, p
		}
	}
	if worst >= 0 {
		ind.AQIBand = AQIBands[worst]
	}
	ind.Congestion = cong.ptr()
	if flowN > 0 {
		ind.Flow = &flow
	}
	ind.Speed = speed.ptr()
	if ind.SoilMoisture = soil.ptr(); ind.SoilMoisture != nil {
		d := math.Max(0, s.cfg.FieldCapacityVWC-*ind.SoilMoisture) * 1000 * s.cfg.RootDepthM
		ind.WaterDeficitMM = &d
		if slot == slotGreenArea || slot == slotIrrigationZone {
			nw := *ind.SoilMoisture <= s.refill(slot, featureID)
			ind.NeedsWater = &nw
		}
	}
	return ind
}

// freeFlow returns the free-flow speed (km/h) for a traffic sensor: its
// road's speed limit when known, else DefaultFreeFlowKmh.
func (s *State) freeFlow(sn *sensor) float64 {
	if s.city != nil && sn.links.Road != "" {
		if f, ok := s.city.Feature(geo.KindRoad, sn.links.Road); ok && f.SpeedLimit > 0 {
			return f.SpeedLimit
		}
	}
	return DefaultFreeFlowKmh
}

// refill returns the refill threshold of a green area or irrigation zone:
// its own override, else (zones) its green area's, else RefillVWC.
// RefillVWC returns the soil moisture (m³/m³) at or below which green area
// or irrigation zone id needs water: its RefillByFeature entry, an
// irrigation zone's green area's, else StateConfig.RefillVWC. The planner's
// threshold policy refills at the same point.
func (s *State) RefillVWC(k geo.Kind, id string) float64 {
	return s.refill(slotOf(k), id)
}

func (s *State) refill(slot int, id string) float64 {
	if v, ok := s.cfg.RefillByFeature[id]; ok {
		return v
	}
	if slot == slotIrrigationZone && s.city != nil {
		if z, ok := s.city.Feature(geo.KindIrrigationZone, id); ok && z.Parent != "" {
			if v, ok := s.cfg.RefillByFeature[z.Parent]; ok {
				return v
			}
		}
	}
	return s.cfg.RefillVWC
}

func clamp01(x float64) float64 {
	return math.Min(1, math.Max(0, x))
}
