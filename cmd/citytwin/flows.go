package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
)

// noiseModelUser takes a rebuilt noise model (web.NoiseMap, planner.Planner).
type noiseModelUser interface{ SetModel(*dynamap.Model) }

// refreshNoiseModel rebuilds the noise model with the daily flows measured
// over the last week (planner.MeasuredFlows over the rollups of every tenant
// with traffic sensors) and hands it to users. Roads without a sensor keep
// their class flow. Nothing changes when no flow was measured.
func refreshNoiseModel(ctx context.Context, src planner.HourlySource, city *geo.City, state *twin.State, now time.Time, log *slog.Logger, users ...noiseModelUser) {
	var tenants []string
	state.Sensors(func(s twin.Sensor) bool {
		if s.Domain == twin.DomainTraffic && !slices.Contains(tenants, s.Tenant) {
			tenants = append(tenants, s.Tenant)
		}
		return true
	})
	if len(tenants) == 0 {
		return
	}
	slices.Sort(tenants)
	began := time.Now()
	flows, err := planner.MeasuredFlows(ctx, src, tenants, now.Add(-planner.FlowWindow), now)
	if err != nil {
		log.Warn("noise model: measured flows not read; keeping the current model", "error", err)
		return
	}
	if len(flows.Flows) == 0 {
		return
	}
	m, err := dynamap.New(dynamap.Config{}, city, flows.Flows)
	if err != nil {
		log.Warn("noise model not rebuilt", "error", err)
		return
	}
	for _, u := range users {
		u.SetModel(m)
	}
	log.Info("noise model rebuilt with measured flows", "roads", len(flows.Flows), "sensors", flows.Sensors,
		"sensorHours", flows.Hours, "tenants", len(tenants), "took", time.Since(began).Round(time.Millisecond))
}
