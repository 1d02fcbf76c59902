package planner

import (
	"context"
	"fmt"
	"time"
)

// FlowWindow is how far back MeasuredFlows looks by default: a week holds
// every weekday once.
const FlowWindow = 7 * 24 * time.Hour

// RoadFlows are the daily traffic flows the traffic sensors measured, by
// road segment id, in vehicles per day (dynamap.New's flows).
type RoadFlows struct {
	Flows map[string]float64
	// Sensors counts the traffic sensors that gave a flow; Hours the
	// sensor-hours read.
	Sensors, Hours int
}

// MeasuredFlows reads the hourly traffic volumes (TrafficFlowObserved
// intensity_sum rollups) of the tenants in [start, end) and returns each
// road's mean daily flow: for every sensor linked to a road, its mean hourly
// volume × 24; the sensors of one road (lanes, directions) add up, as in a
// scenario's baseline; a road measured by several tenants takes their mean.
// Sensors without a road link are left out. Hours without data do not
// count, so a sensor that reported for two days weighs its two days.
func MeasuredFlows(ctx context.Context, src HourlySource, tenants []string, start, end time.Time) (*RoadFlows, error) {
	out := &RoadFlows{Flows: map[string]float64{}}
	seen := map[string]int{} // road → tenants measuring it
	for _, tenant := range tenants {
		b, err := loadBaseline(ctx, src, tenant, start, end, []string{typeTraffic}, []string{fieldFlow})
		if err != nil {
			return nil, fmt.Errorf("planner: measured flows of %s: %w", tenant, err)
		}
		perRoad := map[string]float64{}
		for _, s := range b.Sensors {
			f := s.Fields[fieldFlow]
			if s.Links.Road == "" || len(f) == 0 {
				continue
			}
			var sum float64
			for _, v := range f {
				sum += v
			}
			perRoad[s.Links.Road] += sum / float64(len(f)) * 24
			out.Sensors++
			out.Hours += len(f)
		}
		for road, q := range perRoad {
			n := seen[road]
			out.Flows[road] = (out.Flows[road]*float64(n) + q) / float64(n+1)
			seen[road] = n + 1
		}
	}
	return out, nil
}
