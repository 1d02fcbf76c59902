package planner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
)

// HourlySource reads hourly rollups (history.Store does).
type HourlySource interface {
	Hourly(ctx context.Context, q history.HourlyQuery, fn func(*history.HourlyPoint) error) error
	HourlyEntities(ctx context.Context, q history.HourlyQuery) (map[string]*history.HourlyEntity, error)
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
	// waiting for and reading InfluxDB's answers (they run concurrently:
	// the wall time from the first request to the last answer).
	Points int
	Influx time.Duration
	// Cached says the baseline came from the planner's cache.
	Cached bool
}

// loadBaseline reads the rollup fields of the given entity types of a
// tenant for the hours in [start, end): the entities (type, links,
// location) and each type's values in concurrent queries — InfluxDB runs
// each Flux query on one core.
func loadBaseline(ctx context.Context, src HourlySource, tenant string, start, end time.Time, types, fields []string) (*baseline, error) {
	b := &baseline{Start: start, End: end, Sensors: make(map[string]*sensorHist)}
	began := time.Now()
	q := history.HourlyQuery{Tenant: tenant, Types: types, Fields: fields, Start: start, Stop: end}
	var (
		wg       sync.WaitGroup
		entities map[string]*history.HourlyEntity
		errs     = make([]error, len(types)+1)
		parts    = make([]map[string]map[string]series, len(types))
		points   = make([]int, len(types))
	)
	wg.Go(func() {
		entities, errs[len(types)] = src.HourlyEntities(ctx, q)
	})
	for i, typ := range types {
		wg.Go(func() {
			tq := q
			tq.Types = []string{typ}
			part := make(map[string]map[string]series)
			errs[i] = src.Hourly(ctx, tq, func(p *history.HourlyPoint) error {
				fs := part[p.EntityID]
				if fs == nil {
					fs = make(map[string]series, len(fields))
					part[p.EntityID] = fs
				}
				f := fs[p.Field]
				if f == nil {
					f = make(series, int(end.Sub(start)/time.Hour))
					fs[p.Field] = f
				}
				f[p.Hour.Unix()] = p.Value
				points[i]++
				return nil
			})
			parts[i] = part
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Influx = time.Since(began)
		return b, err
	}
	// Sensors with values but no stored location (linked by their
	// payloads' references): their type and links from their newest value.
	var missing []string
	for _, part := range parts {
		for id := range part {
			if entities[id] == nil {
				missing = append(missing, id)
			}
		}
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	for len(missing) > 0 {
		n := min(len(missing), 500)
		mq := q
		mq.Entities = missing[:n]
		more, err := src.HourlyEntities(ctx, mq)
		if err != nil {
			b.Influx = time.Since(began)
			return b, err
		}
		maps.Copy(entities, more)
		missing = missing[n:]
	}
	b.Influx = time.Since(began)
	for id, e := range entities {
		b.Sensors[id] = &sensorHist{ID: id, Type: e.Type, Links: e.Links, Location: e.Location, Fields: map[string]series{}}
	}
	for i, part := range parts {
		b.Points += points[i]
		for id, fs := range part {
			s := b.Sensors[id]
			if s == nil { // values newer than the entities query saw
				s = &sensorHist{ID: id, Type: types[i], Fields: map[string]series{}}
				b.Sensors[id] = s
			}
			for f, v := range fs {
				s.Fields[f] = v
			}
		}
	}
	return b, nil
}

// hours returns the Unix hour starts of [start, end).
func hours(start, end time.Time) []int64 {
	var out []int64
	for h := start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
		out = append(out, h.Unix())
	}
	return out
}

// baselineCache keeps the last few baselines read, so that a planner who
// runs variants of a scenario on the same window reads InfluxDB once. Only
// windows of closed hours are cached, for CacheTTL: their rollups change
// only through late readings and recomputations, which a run after the TTL
// sees.
type baselineCache struct {
	mu      sync.Mutex
	entries []cacheEntry
}

type cacheEntry struct {
	key  string
	at   time.Time
	base *baseline
}

// CacheTTL is how long a baseline read from InfluxDB is reused.
const CacheTTL = 5 * time.Minute

const cacheEntries = 4

func baselineKey(tenant string, start, end time.Time, types, fields []string) string {
	return fmt.Sprint(tenant, "|", start.UnixNano(), "|", end.UnixNano(), "|", types, "|", fields)
}

// baseline returns the cached baseline for the query or reads it. A hit
// reports Influx 0 and Points 0 (nothing was read).
func (p *Planner) baseline(ctx context.Context, tenant string, start, end time.Time, types, fields []string) (*baseline, error) {
	// A window reaching into the hour in progress changes from minute to
	// minute: never cached.
	if end.After(p.cfg.Now().Truncate(time.Hour)) {
		return loadBaseline(ctx, p.hist, tenant, start, end, types, fields)
	}
	key := baselineKey(tenant, start, end, types, fields)
	now := time.Now()
	c := &p.cache
	c.mu.Lock()
	for _, e := range c.entries {
		if e.key == key && now.Sub(e.at) < CacheTTL {
			c.mu.Unlock()
			hit := *e.base
			hit.Influx, hit.Points, hit.Cached = 0, 0, true
			return &hit, nil
		}
	}
	c.mu.Unlock()
	b, err := loadBaseline(ctx, p.hist, tenant, start, end, types, fields)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries = append(c.entries, cacheEntry{key: key, at: now, base: b})
	if len(c.entries) > cacheEntries {
		c.entries = c.entries[1:]
	}
	c.mu.Unlock()
	return b, nil
}
