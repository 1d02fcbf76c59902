// Package rollup keeps hourly aggregates of every numeric attribute in
// InfluxDB, beside the raw points, so that analytics and scenarios over days
// and weeks read 60 times fewer points and never aggregate raw data at query
// time.
//
// Why: InfluxDB 2.x pushes aggregateWindow down to its storage, but the Flux
// of InfluxDB 1.8 does not (measured here: 2,000 sensors × 6 h of 1-minute
// points, 720,000 points, took 6–10 s to aggregate per hour, and 3.6 min for
// 24 h when the mean is energetic through map()). Only whole-range
// aggregates are pushed down on 1.8. So citytwin rolls up itself, like an
// InfluxDB task or continuous query would, and the same schema serves both
// versions.
//
// # Schema
//
// One measurement, history.HourlyMeasurement ("citytwin_hourly"), one point per
// entity and UTC hour (the point's time is the hour's start):
//
//	citytwin_hourly,district=…,domain=noise,entity_id=…,greenspace=…,neighbourhood=…,road=…,tenant=…,type=NoiseLevelObserved,zone=…
//	    LAeq=61.2,LAeq_min=55,LAeq_max=70.1,LAeq_n=60,LAeq_sum=3672 {hour start, ns}
//
// For each numeric attribute a of the hour: a is the mean — the energetic
// mean 10·lg(mean(10^(L/10))) for attributes in dB(A) (twin.KnownTypes
// units), the arithmetic mean otherwise; a_min, a_max; a_n the number of
// readings; a_sum the arithmetic sum (vehicles counted over the hour for
// intensity). All these fields are floats; location is the GeoJSON text of
// the entity's last location of the hour, as in the raw points, so that
// history needs no live state to place a sensor. Tags are the raw points' tags (the
// links of the entity's last reading of the hour) plus type, the entity
// type. Booleans and texts are not rolled up.
//
// # How the aggregates stay right
//
// Roller.Observe, fed by the pipeline after each durable batch, adds each
// reading to its hour's bucket in memory; Run writes every bucket that
// changed, whole, every Config.Interval (the current hour included, so its
// aggregate grows during the hour; a point with the same series and time
// overwrites the previous one). Buckets stay in memory for Config.Keep
// (3 h), so a late reading within that time rewrites its complete hour. A
// reading for an hour the process did not see from its start — an hour
// that began before the process started, or one older than Keep — cannot be
// added to an aggregate held in memory: its hour is marked dirty and, once
// the hour has ended and Config.Grace has passed, recomputed from the raw
// points in InfluxDB (Backfill). Backfill also rolls up history written by
// other means (`citytwin rollup -from … -to …`).
//
// # Concurrency
//
// Observe may be called from any goroutine; Run is one goroutine. A Roller
// holds one mutex, taken briefly by Observe and for a snapshot of the
// changed buckets by Run; writes and backfills happen outside it.
package rollup

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/twin"
)

// Config configures a Roller; the zero value gives the documented
// defaults.
type Config struct {
	// Measurement is where rollups are written; default
	// history.HourlyMeasurement, where history reads them.
	Measurement string
	// Interval is how often changed buckets are written; default 1 min.
	Interval time.Duration
	// Keep is how long a bucket stays in memory after its hour ends, so
	// that late readings rewrite the complete hour; default 3 h (memory:
	// one bucket per entity and hour held).
	Keep time.Duration
	// Grace is how long after a dirty hour's end its recomputation from raw
	// points waits for late readings; default 5 min.
	Grace time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Measurement == "" {
		c.Measurement = history.HourlyMeasurement
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.Keep <= 0 {
		c.Keep = 3 * time.Hour
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Writer writes line protocol (ingest.Influx does).
type Writer interface {
	Write(ctx context.Context, lines []byte) error
}

// RawSource streams the raw numeric points of a time range, in any order
// (history.Store does).
type RawSource interface {
	RawNumbers(ctx context.Context, start, stop time.Time, fn func([]twin.Observation) error) error
}

// Agg is the aggregate of one attribute over one hour.
type Agg struct {
	N, Sum, Min, Max float64
	// ESum is Σ10^(L/10) for attributes in dB(A), else 0.
	ESum float64
	DB   bool
}

func (a *Agg) add(v float64) {
	if a.N == 0 || v < a.Min {
		a.Min = v
	}
	if a.N == 0 || v > a.Max {
		a.Max = v
	}
	a.N++
	a.Sum += v
	if a.DB {
		a.ESum += math.Pow(10, v/10)
	}
}

// Mean is the hour's mean: energetic for dB(A) attributes.
func (a *Agg) Mean() float64 {
	if a.N == 0 {
		return math.NaN()
	}
	if a.DB {
		return 10 * math.Log10(a.ESum/a.N)
	}
	return a.Sum / a.N
}

type key struct {
	tenant, id string
	hour       int64 // unix seconds of the hour's start
}

type bucket struct {
	typ    string
	domain twin.Domain
	links  geo.Links
	loc    orb.Geometry // the last location of the hour
	attrs  map[string]*Agg
	dirty  bool // changed since written
}

// Roller accumulates hourly aggregates and writes them.
type Roller struct {
	cfg   Config
	w     Writer
	raw   RawSource
	start int64 // first hour the process saw from its beginning

	mu      sync.Mutex
	buckets map[key]*bucket
	stale   map[int64]bool // hours to recompute from raw points
}

// New returns a Roller; started is when the process began to ingest: hours
// that began earlier are recomputed from raw points, not accumulated, and
// so is the hour in progress at started once it has ended.
func New(cfg Config, w Writer, raw RawSource, started time.Time) *Roller {
	cfg.defaults()
	r := &Roller{
		cfg: cfg, w: w, raw: raw,
		start:   hourOf(started),
		buckets: make(map[key]*bucket),
		stale:   make(map[int64]bool),
	}
	// The hour in progress at start is accumulated (so that it shows at
	// once) but misses what came before the start: it is recomputed from
	// the raw points once it has ended.
	r.stale[r.start] = true
	return r
}

func hourOf(t time.Time) int64 { return t.Unix() - mod(t.Unix(), 3600) }

func mod(a, b int64) int64 { return ((a % b) + b) % b }

// dbAttr reports whether an attribute of a type is in dB(A).
func dbAttr(typ, name string) bool {
	spec, ok := twin.KnownTypes[typ]
	if !ok {
		return false
	}
	return spec.Attrs[name].Unit == "dB(A)"
}

// Observe adds stored observations to their hours.
func (r *Roller) Observe(obs []twin.Observation) {
	oldest := hourOf(r.cfg.Now().Add(-r.cfg.Keep))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range obs {
		o := &obs[i]
		h := hourOf(o.Time)
		if h < r.start || h < oldest {
			r.stale[h] = true
			continue
		}
		r.addLocked(o, h)
	}
}

func (r *Roller) addLocked(o *twin.Observation, h int64) *bucket {
	k := key{o.Tenant, o.EntityID, h}
	b := r.buckets[k]
	if b == nil {
		b = &bucket{attrs: make(map[string]*Agg, len(o.Attrs))}
		r.buckets[k] = b
	}
	b.typ, b.domain, b.links = o.EntityType, o.Domain, o.Links
	if o.Location != nil {
		b.loc = o.Location
	}
	for _, a := range o.Attrs {
		if a.Kind != twin.KindNumber || math.IsNaN(a.Num) || math.IsInf(a.Num, 0) {
			continue
		}
		ag := b.attrs[a.Name]
		if ag == nil {
			ag = &Agg{DB: dbAttr(o.EntityType, a.Name)}
			b.attrs[a.Name] = ag
		}
		ag.add(a.Num)
		b.dirty = true
	}
	return b
}

// Run writes changed buckets every Interval, drops buckets older than Keep
// and recomputes dirty hours, until ctx ends; it then writes once more.
func (r *Roller) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := r.Flush(wctx)
			cancel()
			return err
		case <-t.C:
			if err := r.Flush(ctx); err != nil {
				r.cfg.Logger.Warn("rollup write failed; will retry", "err", err)
			}
			r.recomputeStale(ctx)
		}
	}
}

// Flush writes every bucket that changed since it was last written and
// forgets buckets older than Keep. A failed write leaves them changed.
func (r *Roller) Flush(ctx context.Context) error {
	oldest := hourOf(r.cfg.Now().Add(-r.cfg.Keep))
	var buf strings.Builder
	var written []*bucket
	r.mu.Lock()
	for k, b := range r.buckets {
		if b.dirty {
			r.appendLine(&buf, k, b)
			written = append(written, b)
			b.dirty = false
		}
		if k.hour < oldest {
			delete(r.buckets, k)
		}
	}
	r.mu.Unlock()
	if buf.Len() == 0 {
		return nil
	}
	if err := r.w.Write(ctx, []byte(buf.String())); err != nil {
		r.mu.Lock()
		for _, b := range written {
			b.dirty = true
		}
		r.mu.Unlock()
		return fmt.Errorf("rollup: write %d hourly points: %w", len(written), err)
	}
	return nil
}

func (r *Roller) appendLine(buf *strings.Builder, k key, b *bucket) {
	tags := map[string]string{"entity_id": k.id, "tenant": k.tenant, "type": b.typ}
	for name, v := range map[string]string{
		"domain": string(b.domain), "district": b.links.District, "neighbourhood": b.links.Neighbourhood,
		"road": b.links.Road, "greenspace": b.links.GreenArea, "zone": b.links.IrrigationZone,
	} {
		if v != "" {
			tags[name] = v
		}
	}
	fields := make(map[string]any, 5*len(b.attrs))
	for name, a := range b.attrs {
		fields[name] = a.Mean()
		fields[name+"_min"] = a.Min
		fields[name+"_max"] = a.Max
		fields[name+"_n"] = a.N
		fields[name+"_sum"] = a.Sum
	}
	if len(fields) == 0 {
		return
	}
	if b.loc != nil {
		if gj, err := geojson.NewGeometry(b.loc).MarshalJSON(); err == nil {
			fields[history.LocationField] = string(gj)
		}
	}
	p := write.NewPoint(r.cfg.Measurement, tags, fields, time.Unix(k.hour, 0))
	write.PointToLineProtocolBuffer(p, buf, time.Nanosecond)
}

// recomputeStale backfills the dirty hours whose end is Grace in the past.
func (r *Roller) recomputeStale(ctx context.Context) {
	ready := r.cfg.Now().Add(-r.cfg.Grace).Unix() - 3600
	r.mu.Lock()
	var hours []int64
	for h := range r.stale {
		if h <= ready {
			hours = append(hours, h)
			delete(r.stale, h)
		}
	}
	r.mu.Unlock()
	slices.Sort(hours)
	for _, h := range hours {
		t := time.Unix(h, 0)
		if err := r.Backfill(ctx, t, t.Add(time.Hour), nil); err != nil {
			r.cfg.Logger.Warn("rollup: recomputing an hour from raw points failed; will retry", "hour", t.UTC(), "err", err)
			r.mu.Lock()
			r.stale[h] = true
			r.mu.Unlock()
			return
		}
	}
}

// Backfill recomputes the rollups of every hour in [from, to) from the raw
// points and writes them, one hour at a time; progress, when not nil, is
// called after each hour with the hours done and the total. Hours are
// rounded outwards to whole UTC hours.
func (r *Roller) Backfill(ctx context.Context, from, to time.Time, progress func(done, total int)) error {
	if !from.Before(to) {
		return fmt.Errorf("rollup: backfill: from (%s) must be before to (%s)", from, to)
	}
	first, last := hourOf(from), hourOf(to.Add(-time.Nanosecond))
	total := int((last-first)/3600) + 1
	for i, h := 0, first; h <= last; i, h = i+1, h+3600 {
		if err := r.backfillHour(ctx, h); err != nil {
			return err
		}
		if progress != nil {
			progress(i+1, total)
		}
	}
	return nil
}

func (r *Roller) backfillHour(ctx context.Context, h int64) error {
	local := &Roller{cfg: r.cfg, buckets: make(map[key]*bucket)}
	start := time.Unix(h, 0)
	err := r.raw.RawNumbers(ctx, start, start.Add(time.Hour), func(obs []twin.Observation) error {
		for i := range obs {
			local.addLocked(&obs[i], h)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rollup: read raw points of %s: %w", start.UTC().Format(time.RFC3339), err)
	}
	var buf strings.Builder
	n := 0
	for k, b := range local.buckets {
		r.appendLine(&buf, k, b)
		if n++; buf.Len() > 4<<20 {
			if err := r.w.Write(ctx, []byte(buf.String())); err != nil {
				return fmt.Errorf("rollup: write hour %s: %w", start.UTC().Format(time.RFC3339), err)
			}
			buf.Reset()
		}
	}
	if buf.Len() > 0 {
		if err := r.w.Write(ctx, []byte(buf.String())); err != nil {
			return fmt.Errorf("rollup: write hour %s: %w", start.UTC().Format(time.RFC3339), err)
		}
	}
	r.cfg.Logger.Debug("rollup: hour recomputed from raw points", "hour", start.UTC(), "entities", n)
	return nil
}

// Pending reports the hours waiting to be recomputed from raw points.
func (r *Roller) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.stale)
}
