// Package planner answers the planners' questions on the twin: history
// analytics (Lden and hours above limit, air-quality exceedances, traffic
// volumes and congestion, soil moisture below the refill point) and what-if
// scenarios (a traffic change and its noise and NO2 response, the parks'
// water needs under irrigation policies), saved, listed, re-run, compared
// and exported.
//
// It reads the hourly rollups (package rollup, through history.Hourly):
// every figure over days or weeks starts from one value per sensor, field
// and hour, never from raw points. The formulas live in pure packages of
// twin: noise (dB arithmetic, Lden, DPCM limits, CNOSSOS-EU road emission),
// air (EU and WHO limits, the NO2 background + traffic increment
// assumption), fao56 (ET0, root-zone balance, policies) and dynamap (the
// reference propagation model whose per-road contributions re-sum a
// receiver's level when some roads change).
//
// # Traffic scenarios
//
// The roads acted on are those named plus every road segment meeting the
// chosen areas or polygon. Each road gets a flow ratio (1 + the change;
// 0 when closed; plus the diverted share of the closed roads' flow for
// diversion targets) and a speed ratio. Per road the emission change is
// CNOSSOS-EU's ΔL (noise.Model.DeltaL) at the road's baseline flow and speed
// (measured by traffic sensors linked to it where there are any, else the
// dynamap class table and the road's speed limit or 50 km/h) with the
// assumed vehicle mix (HeavyShare). Per noise sensor the hourly levels
// shift by ΔS = 10·lg(Σᵢ Eᵢ·10^(ΔLᵢ/10) / Σᵢ Eᵢ), Eᵢ the reference energy
// road i sends to the sensor in dynamap's propagation model: the sensor's
// level is assumed to be road traffic noise, of the modelled roads. Lden
// and hours above the DPCM limit follow from the shifted hours, per sensor
// and per neighbourhood and district (the energetic mean of their sensors'
// hourly levels). NO2 per air sensor: C′ = B + (C − B)·r (air.ProjectNO2),
// r the traffic ratio of the roads around it weighted by the same
// contributions, B the background share stated in every result.
//
// # Irrigation scenarios
//
// Per green area, FAO-56's daily water balance (twin/fao56) runs over the
// baseline days without irrigation, reset each day by the area's measured
// soil moisture, to find today's depletion; then over the horizon, whose
// weather is the baseline's last days replayed (no forecast source is
// assumed), under each policy side by side.
//
// # Concurrency
//
// A Planner is safe for concurrent use; runs share nothing but the
// immutable city, the dynamap model and the twin's locks.
package planner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
)

// Config configures a Planner; zero values take the documented defaults.
type Config struct {
	// HeavyShare is the share of heavy vehicles (CNOSSOS category 3)
	// assumed on every road for the speed response; default 0.05. A flow
	// change alone gives the same ΔL whatever the mix.
	HeavyShare float64
	// AirRoadMetres: an air sensor linked to a road within this distance
	// is a roadside station, else a background one (for the background
	// share estimate); default 50.
	AirRoadMetres float64
	// ElevationM is the city's elevation for FAO-56's radiation terms;
	// default 120 (Milan).
	ElevationM float64
	Logger     *slog.Logger
	Now        func() time.Time
}

// Planner runs analytics and scenarios.
type Planner struct {
	cfg   Config
	city  *geo.City
	state *twin.State
	hist  HourlySource
	model atomic.Pointer[dynamap.Model]
	cache baselineCache
}

// New returns a Planner over the city, the live twin (sensor locations),
// the rollups and the noise propagation model.
func New(cfg Config, city *geo.City, state *twin.State, hist HourlySource, model *dynamap.Model) (*Planner, error) {
	if city == nil || state == nil || hist == nil || model == nil {
		return nil, errors.New("planner: city, state, history and noise model are required")
	}
	if cfg.HeavyShare == 0 {
		cfg.HeavyShare = 0.05
	}
	if cfg.HeavyShare < 0 || cfg.HeavyShare > 1 {
		return nil, fmt.Errorf("planner: HeavyShare must be within 0..1, got %g", cfg.HeavyShare)
	}
	if cfg.AirRoadMetres <= 0 {
		cfg.AirRoadMetres = 50
	}
	if cfg.ElevationM == 0 {
		cfg.ElevationM = 120
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Planner{cfg: cfg, city: city, state: state, hist: hist}
	p.model.Store(model)
	return p, nil
}

// SetModel replaces the noise propagation model (e.g. one rebuilt with
// measured flows, see MeasuredFlows); runs already started keep theirs.
func (p *Planner) SetModel(m *dynamap.Model) {
	if m != nil {
		p.model.Store(m)
	}
}

// Progress receives a run's progress: a stage name and a fraction 0–1.
type Progress func(stage string, done float64)

// Run runs a scenario. progress may be nil.
func (p *Planner) Run(ctx context.Context, spec Spec, progress Progress) (*Result, error) {
	if progress == nil {
		progress = func(string, float64) {}
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	now := p.cfg.Now()
	start, end, err := spec.Baseline.Resolve(now)
	if err != nil {
		return nil, err
	}
	tenant := spec.Tenant
	if tenant == "" {
		tenant = twin.DefaultTenant
	}
	area, err := p.resolveArea(spec.Area)
	if err != nil {
		return nil, err
	}
	res := &Result{Name: spec.Name, Author: spec.Author, Tenant: tenant, Spec: spec, RanAt: now.UTC(),
		Baseline: Span{Start: start.UTC(), End: end.UTC()}}
	if spec.Traffic != nil {
		progress("traffic: reading the baseline", 0)
		tr, err := p.runTraffic(ctx, spec, tenant, area, start, end, progress)
		if err != nil {
			return nil, err
		}
		res.Traffic = tr
		res.Timing.InfluxMs += tr.influx.Seconds() * 1000
		res.Timing.Points += tr.points
		res.Timing.Cached = tr.cached
	}
	if spec.Irrigation != nil {
		progress("irrigation: reading the baseline", 0.5)
		ir, err := p.runIrrigation(ctx, spec, tenant, area, start, end)
		if err != nil {
			return nil, err
		}
		res.Irrigation = ir
		res.Timing.InfluxMs += ir.influx.Seconds() * 1000
		res.Timing.Points += ir.points
	}
	res.Assumptions = res.assumptions()
	res.Timing.TotalMs = time.Since(began).Seconds() * 1000
	progress("done", 1)
	return res, nil
}
