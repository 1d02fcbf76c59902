package planner

import (
	"context"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
)

// HourlySource reads hourly rollups (history.Store does).
type HourlySource interface {
	Hourly(ctx context.Context, q history.HourlyQuery, fn func(*history.HourlyPoint) error) error
}

// series is one rollup field of one sensor: UTC hour start (Unix seconds) →
// value.
type series map[int64]float64

// sensorHist is what a baseline holds of one sensor.
type sensorHist struct {
	ID, Type string
	Links    geo.Links
	Location orb.Geometry // the newest location in the window, nil if none
	Fields   map[string]series
}

// baseline is the hourly history a scenario or an analysis starts from.
type baseline struct {
	Start, End time.Time
	Sensors    map[string]*sensorHist
	// Points counts the rollup values read; Influx is the time spent
	// waiting for and reading InfluxDB's answer.
	Points int
	Influx time.Duration
}

// loadBaseline reads the rollup fields of the given entity types of a
// tenant for the hours in [start, end).
func loadBaseline(ctx context.Context, src HourlySource, tenant string, start, end time.Time, types, fields []string) (*baseline, error) {
	b := &baseline{Start: start, End: end, Sensors: make(map[string]*sensorHist)}
	began := time.Now()
	fields = append(fields[:len(fields):len(fields)], history.LocationField)
	err := src.Hourly(ctx, history.HourlyQuery{Tenant: tenant, Types: types, Fields: fields, Start: start, Stop: end},
		func(p *history.HourlyPoint) error {
			s := b.Sensors[p.EntityID]
			if s == nil {
				s = &sensorHist{ID: p.EntityID, Type: p.Type, Fields: make(map[string]series, len(fields))}
				b.Sensors[p.EntityID] = s
			}
			s.Links = p.Links // the newest hour's links win as rows arrive in time order per series
			if p.Location != nil {
				s.Location = p.Location
				return nil
			}
			f := s.Fields[p.Field]
			if f == nil {
				f = make(series, int(end.Sub(start)/time.Hour))
				s.Fields[p.Field] = f
			}
			f[p.Hour.Unix()] = p.Value
			b.Points++
			return nil
		})
	b.Influx = time.Since(began)
	return b, err
}

// hours returns the Unix hour starts of [start, end).
func hours(start, end time.Time) []int64 {
	var out []int64
	for h := start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
		out = append(out, h.Unix())
	}
	return out
}
