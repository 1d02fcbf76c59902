package history

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/twin"
)

// Config configures a Store. It names the same InfluxDB as ingest's
// InfluxConfig: InfluxDB 2.x (Org, Bucket, Token), or 1.8 with Flux enabled
// ([http] flux-enabled = true), where Bucket is "database/retention-policy",
// Token "user:password" or any text when authentication is off, and Org is
// ignored.
type Config struct {
	URL    string
	Token  string
	Org    string
	Bucket string
	// Timeout bounds one Temporal call (all its queries); default 30 s.
	// Latest is bounded by its context only: it streams for as long as the
	// data lasts.
	Timeout time.Duration
	// Logger receives warnings (unreadable stored locations); nil discards
	// them.
	Logger *slog.Logger
	// Dialect is the query language of the hourly rollup reads (Hourly,
	// HourlyEntities): DialectAuto (default: InfluxQL on InfluxDB 1.x,
	// whose Flux is slow, Flux on 2.x), DialectFlux or DialectInfluxQL.
	// Every other read is Flux.
	Dialect string
}

// Store reads citytwin's history from InfluxDB with Flux, through
// influxdb-client-go's QueryAPI. Safe for concurrent use.
type Store struct {
	cfg    Config
	client influxdb2.Client
	http   *http.Client // InfluxQL and the version probe
	log    *slog.Logger
	probe  dialectProbe
}

// New validates cfg and returns a Store. It does not contact InfluxDB.
func New(cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("history: URL is required (CITYTWIN_INFLUX_URL)")
	}
	if _, err := url.ParseRequestURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("history: URL %q: %w", cfg.URL, err)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("history: bucket is required (CITYTWIN_INFLUX_BUCKET; for InfluxDB 1.8 use database/retention-policy)")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("history: timeout %s must not be negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	switch cfg.Dialect {
	case DialectAuto, DialectFlux, DialectInfluxQL:
	default:
		return nil, fmt.Errorf("history: dialect %q: want %q, %q or empty (auto)", cfg.Dialect, DialectFlux, DialectInfluxQL)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// No client-wide request timeout: it would also bound reading the body,
	// and Latest streams for as long as the data lasts. Contexts bound each
	// call instead.
	opts := influxdb2.DefaultOptions().SetHTTPRequestTimeout(0)
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	return &Store{
		cfg:    cfg,
		client: c,
		http:   &http.Client{},
		log:    log.With("component", "history"),
	}, nil
}

// Close releases the client's idle connections. It is idempotent.
func (s *Store) Close() {
	s.client.Close()
	s.http.CloseIdleConnections()
}

// Ranges of temporal queries that do not give both bounds.
const (
	// DefaultRange is how far back a query without timerel looks: its range
	// is [now − DefaultRange, now + twin.MaxFutureSkew).
	DefaultRange = 7 * 24 * time.Hour
	// BeforeRange is how far back timerel=before looks: its range is
	// [timeAt − BeforeRange, timeAt). It bounds the points InfluxDB reads
	// for an open-ended question (lastN before a time, typically).
	BeforeRange = 30 * 24 * time.Hour
)

// TemporalQuery asks for the history of one entity, with the semantics of
// NGSI-LD's GET /ngsi-ld/v1/temporal/entities/{id} (ETSI GS CIM 009): the
// parameters keep their NGSI-LD names in errors. Only observedAt is stored,
// so it is the time property of every query.
type TemporalQuery struct {
	// Tenant is the NGSI-LD tenant; empty means twin.DefaultTenant.
	Tenant string
	// EntityID is the entity's id, exactly as stored.
	EntityID string
	// Attrs names the attributes wanted; empty means every attribute
	// (location is stored as a field but is not an attribute of the
	// history; name it to get its GeoJSON text).
	Attrs []string
	// TimeRel is "", "before", "after" or "between". "" asks for the last
	// DefaultRange; before for [TimeAt − BeforeRange, TimeAt); after for
	// [TimeAt, now + twin.MaxFutureSkew); between for [TimeAt, EndTimeAt).
	TimeRel string
	// TimeAt and EndTimeAt bound the range as TimeRel says; each must be
	// zero when TimeRel does not use it.
	TimeAt, EndTimeAt time.Time
	// LastN, when positive, keeps the last N values (or buckets, with
	// AggrMethods) of each attribute, still in ascending time order.
	LastN int
	// AggrMethods asks for aggregates instead of values: a subset of avg,
	// min, max, sum and totalCount. avg, min, max and sum apply to numeric
	// attributes only; totalCount to every attribute.
	AggrMethods []string
	// AggrPeriod cuts the range into buckets aligned on multiples of the
	// period since the Unix epoch (the first and last clipped to the
	// range). Zero with AggrMethods: one bucket over the whole range.
	AggrPeriod time.Duration
}

// Value is one stored value of an attribute.
type Value struct {
	Time time.Time
	// Num, Bool or Str holds the value, as Kind says.
	Num  float64
	Bool bool
	Str  string
	Kind twin.Kind
}

// Bucket is one aggregate: the method's result over the points in
// [Start, End).
type Bucket struct {
	Start, End time.Time
	Value      float64
}

// TemporalResult is the answer to a TemporalQuery.
type TemporalResult struct {
	// EntityType is the entity's type (its measurement); that of the newest
	// point when it changed within the range.
	EntityType string
	// Values holds, without AggrMethods, each attribute's values in
	// ascending time.
	Values map[string][]Value
	// Aggregates holds, with AggrMethods, attribute → method → buckets in
	// ascending time. A method that does not apply to an attribute (avg of
	// text) is absent.
	Aggregates map[string]map[string][]Bucket
	// Found is false when the entity has no points at all in the range
	// (whatever Attrs asked for).
	Found bool
}

// ErrInvalidQuery is matched (errors.Is) by every error that Temporal
// returns because the query itself is wrong (an HTTP 400), always a
// *QueryError.
var ErrInvalidQuery = errors.New("history: invalid query")

// QueryError says which parameter of a TemporalQuery is wrong and why.
type QueryError struct {
	// Param is the NGSI-LD name of the parameter: id, attrs, timerel,
	// timeAt, endTimeAt, lastN, aggrMethods or aggrPeriodDuration.
	Param string
	// Msg states the rule it breaks.
	Msg string
}

func (e *QueryError) Error() string { return e.Param + ": " + e.Msg }

// Is makes every QueryError match ErrInvalidQuery.
func (e *QueryError) Is(target error) bool { return target == ErrInvalidQuery }

func invalid(param, format string, args ...any) *QueryError {
	return &QueryError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// aggrMethods lists the supported methods in the order errors name them.
var aggrMethods = []string{"avg", "min", "max", "sum", "totalCount"}

// The times InfluxDB can store are int64 nanoseconds since the Unix epoch;
// query bounds stay well inside.
var (
	earliest = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// plan is a validated TemporalQuery with its range.
type plan struct {
	sel     selection
	attrs   bool // the query named attributes
	lastN   int
	methods []string
	every   time.Duration
	empty   bool // the range holds no time at all
}

func (s *Store) plan(q *TemporalQuery, now time.Time) (*plan, error) {
	p := &plan{lastN: q.LastN, every: q.AggrPeriod}
	p.sel.bucket = s.cfg.Bucket
	p.sel.tenant = cmp.Or(q.Tenant, twin.DefaultTenant)
	if q.EntityID == "" {
		return nil, invalid("id", "an entity id is required")
	}
	p.sel.id = q.EntityID
	for _, a := range q.Attrs {
		if a == "" {
			return nil, invalid("attrs", "attribute names must not be empty")
		}
		if !slices.Contains(p.sel.fields, a) {
			p.sel.fields = append(p.sel.fields, a)
		}
	}
	p.attrs = len(p.sel.fields) > 0

	inRange := func(param string, t time.Time) error {
		if t.Before(earliest) || !t.Before(latest) {
			return invalid(param, "%s is outside the times InfluxDB stores (%d to %d)",
				t.UTC().Format(time.RFC3339Nano), earliest.Year(), latest.Year()-1)
		}
		return nil
	}
	if q.TimeRel != "between" && !q.EndTimeAt.IsZero() {
		return nil, invalid("endTimeAt", "only allowed with timerel=between")
	}
	soon := now.Add(twin.MaxFutureSkew)
	switch q.TimeRel {
	case "":
		if !q.TimeAt.IsZero() {
			return nil, invalid("timerel", "required with timeAt: before, after or between")
		}
		p.sel.start, p.sel.stop = now.Add(-DefaultRange), soon
	case "before", "after", "between":
		if q.TimeAt.IsZero() {
			return nil, invalid("timeAt", "required with timerel=%s", q.TimeRel)
		}
		if err := inRange("timeAt", q.TimeAt); err != nil {
			return nil, err
		}
		switch q.TimeRel {
		case "before":
			p.sel.start, p.sel.stop = q.TimeAt.Add(-BeforeRange), q.TimeAt
			if p.sel.start.Before(earliest) {
				p.sel.start = earliest
			}
		case "after":
			p.sel.start, p.sel.stop = q.TimeAt, soon
		case "between":
			if q.EndTimeAt.IsZero() {
				return nil, invalid("endTimeAt", "required with timerel=between")
			}
			if err := inRange("endTimeAt", q.EndTimeAt); err != nil {
				return nil, err
			}
			if !q.EndTimeAt.After(q.TimeAt) {
				return nil, invalid("endTimeAt", "must be after timeAt")
			}
			p.sel.start, p.sel.stop = q.TimeAt, q.EndTimeAt
		}
	default:
		return nil, invalid("timerel", "%q: want before, after or between", q.TimeRel)
	}
	p.empty = !p.sel.stop.After(p.sel.start)

	if q.LastN < 0 {
		return nil, invalid("lastN", "must be a positive integer, got %d", q.LastN)
	}
	for _, m := range q.AggrMethods {
		if !slices.Contains(aggrMethods, m) {
			return nil, invalid("aggrMethods", "unknown method %q; supported: %s", m, strings.Join(aggrMethods, ", "))
		}
		if !slices.Contains(p.methods, m) {
			p.methods = append(p.methods, m)
		}
	}
	if q.AggrPeriod < 0 {
		return nil, invalid("aggrPeriodDuration", "must be positive, got %s", q.AggrPeriod)
	}
	if q.AggrPeriod > 0 && len(p.methods) == 0 {
		return nil, invalid("aggrPeriodDuration", "needs aggrMethods")
	}
	return p, nil
}

// Temporal answers q with queries that InfluxDB computes: raw values (with
// tail for LastN), or, with AggrMethods, one query finding the kinds of the
// entity's fields and one computing every aggregate per bucket. Errors that
// are the query's fault match ErrInvalidQuery; the others are InfluxDB's.
func (s *Store) Temporal(ctx context.Context, q TemporalQuery) (TemporalResult, error) {
	p, err := s.plan(&q, time.Now())
	if err != nil {
		return TemporalResult{}, err
	}
	if p.empty {
		return TemporalResult{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var res TemporalResult
	if len(p.methods) == 0 {
		err = s.raw(ctx, p, &res)
	} else {
		err = s.aggregate(ctx, p, &res)
	}
	if err != nil {
		return TemporalResult{}, fmt.Errorf("history: temporal query of %q in tenant %q: %w", p.sel.id, p.sel.tenant, err)
	}
	return res, nil
}

// newestType tracks the measurement of the newest point seen.
type newestType struct {
	name string
	t    time.Time
}

func (n *newestType) see(name string, t time.Time) {
	if n.name == "" || t.After(n.t) {
		n.name, n.t = name, t
	}
}

func (s *Store) raw(ctx context.Context, p *plan, res *TemporalResult) error {
	values := make(map[string][]Value)
	var typ newestType
	err := s.each(ctx, rawFlux(&p.sel, p.lastN), func(r *api.QueryTableResult) error {
		rec := r.Record()
		v, ok := valueOf(rec.Value(), valueType(r))
		if !ok {
			return nil
		}
		v.Time = rec.Time()
		values[rec.Field()] = append(values[rec.Field()], v)
		typ.see(rec.Measurement(), v.Time)
		return nil
	})
	if err != nil {
		return err
	}
	// An entity whose links changed has several series per field, each
	// sorted: merge them, then keep the last n overall.
	for f, vs := range values {
		slices.SortStableFunc(vs, func(a, b Value) int { return a.Time.Compare(b.Time) })
		if p.lastN > 0 && len(vs) > p.lastN {
			vs = vs[len(vs)-p.lastN:]
		}
		values[f] = vs
	}
	if len(values) == 0 {
		return s.exists(ctx, p, res)
	}
	res.Values, res.EntityType, res.Found = values, typ.name, true
	return nil
}

// exists sets res.Found and res.EntityType when the query named attributes
// that the entity does not have in the range: whether it has any point
// there at all.
func (s *Store) exists(ctx context.Context, p *plan, res *TemporalResult) error {
	if !p.attrs {
		return nil
	}
	sel := p.sel
	sel.fields = nil
	var typ newestType
	err := s.each(ctx, lastFlux(&sel), func(r *api.QueryTableResult) error {
		rec := r.Record()
		typ.see(rec.Measurement(), rec.Time())
		return nil
	})
	res.EntityType, res.Found = typ.name, typ.name != ""
	return err
}

func (s *Store) aggregate(ctx context.Context, p *plan, res *TemporalResult) error {
	// Flux 0.65 cannot test a value's type, and mean, min, max and sum fail
	// the whole query on a text or boolean table: learn the kinds first.
	// A field is numeric when all its series are (a field whose kind
	// changed, which ingest refuses, is only counted).
	numeric := make(map[string]bool)
	var typ newestType
	err := s.each(ctx, lastFlux(&p.sel), func(r *api.QueryTableResult) error {
		rec := r.Record()
		v, ok := valueOf(rec.Value(), valueType(r))
		if !ok {
			return nil
		}
		isNum, seen := numeric[rec.Field()]
		numeric[rec.Field()] = (isNum || !seen) && v.Kind == twin.KindNumber
		typ.see(rec.Measurement(), rec.Time())
		return nil
	})
	if err != nil {
		return err
	}
	if len(numeric) == 0 {
		return s.exists(ctx, p, res)
	}
	res.EntityType, res.Found = typ.name, true
	a := &aggregation{methods: p.methods, every: p.every, lastN: p.lastN}
	for f, isNum := range numeric {
		a.all = append(a.all, f)
		if isNum {
			a.numeric = append(a.numeric, f)
		}
	}
	slices.Sort(a.all)
	slices.Sort(a.numeric)

	aggs := make(map[string]map[string][]Bucket)
	res.Aggregates = aggs
	flux := aggregateFlux(&p.sel, a)
	if flux == "" {
		return nil // only methods for numbers, and no numeric attribute
	}
	err = s.each(ctx, flux, func(r *api.QueryTableResult) error {
		rec := r.Record()
		var x float64
		switch v := rec.Value().(type) {
		case float64:
			x = v
		case int64:
			if v == 0 && rec.Result() == "totalCount" { // an empty series table
				return nil
			}
			x = float64(v)
		case uint64:
			x = float64(v)
		default: // null: mean of an empty series table
			return nil
		}
		byMethod := aggs[rec.Field()]
		if byMethod == nil {
			byMethod = make(map[string][]Bucket)
			aggs[rec.Field()] = byMethod
		}
		m := rec.Result()
		byMethod[m] = append(byMethod[m], Bucket{Start: rec.Start(), End: rec.Stop(), Value: x})
		return nil
	})
	if err != nil {
		return err
	}
	for _, byMethod := range aggs {
		for _, bs := range byMethod {
			slices.SortFunc(bs, func(a, b Bucket) int { return a.Start.Compare(b.Start) })
		}
	}
	return nil
}

// valueType is the type of the _value column of r's current table.
func valueType(r *api.QueryTableResult) string {
	for _, c := range r.TableMetadata().Columns() {
		if c.Name() == "_value" {
			return c.DataType()
		}
	}
	return ""
}

// valueOf converts a value of InfluxDB's CSV answer. Numbers written by
// other clients as integers are numbers too. The client reads an empty text
// as nil, hence colType.
func valueOf(x any, colType string) (Value, bool) {
	switch v := x.(type) {
	case float64:
		return Value{Kind: twin.KindNumber, Num: v}, true
	case int64:
		return Value{Kind: twin.KindNumber, Num: float64(v)}, true
	case uint64:
		return Value{Kind: twin.KindNumber, Num: float64(v)}, true
	case bool:
		return Value{Kind: twin.KindBool, Bool: v}, true
	case string:
		return Value{Kind: twin.KindString, Str: v}, true
	case nil:
		if colType == "string" {
			return Value{Kind: twin.KindString}, true
		}
	}
	return Value{}, false
}

// each runs flux and calls fn for each record, r.Record() being the
// record. It stops at fn's first error and returns it.
func (s *Store) each(ctx context.Context, flux string, fn func(r *api.QueryTableResult) error) error {
	ctx, cancel := context.WithCancel(ctx)
	// A QueryAPI per query: influxdb-client-go v2.14 caches the query URL
	// in it without a lock on the read side (a data race when the first
	// queries of one QueryAPI run concurrently); a new one costs an
	// allocation.
	res, err := s.client.QueryAPI(s.cfg.Org).Query(ctx, flux)
	if err != nil {
		cancel()
		return err
	}
	// Close reads the answer to its end: cancel first, so that stopping
	// early does not download the rest.
	defer func() {
		cancel()
		_ = res.Close()
	}()
	for res.Next() {
		if err := fn(res); err != nil {
			return err
		}
	}
	return res.Err()
}

// LatestBatch is the number of observations Latest passes to its callback
// at a time (the last batch may be shorter).
const LatestBatch = 1000

// locationField is the field holding a point's location as GeoJSON text.
const locationField = "location"

// Latest rebuilds the live state after a restart. It reads the newest value
// of every field of every entity written in the last since (plus up to
// twin.MaxFutureSkew ahead) with one Flux query, streamed as it is parsed,
// and calls fn with batches of LatestBatch observations: one per tenant,
// entity and time, holding the fields whose newest value is of that time,
// its Location parsed from the stored GeoJSON, its Links and Domain from
// the tags, TimeSource TimeObservedAt. Each entity's observations come
// together and in ascending time (an entity whose links changed within
// since has older fields under its old links), as twin.State.Apply
// expects; entities come in (tenant, id) order. Units are not stored, so
// Attr.Unit is empty; an empty text reads as absent (InfluxDB's CSV does
// not tell it from null). fn's error stops Latest and is returned as is.
//
// InfluxDB answers field by field (see latestFlux), so Latest holds the
// newest values of all entities until the answer ends: about 1 KB each
// (100,000 entities of four fields: 20 s on InfluxDB 1.8.10, ~100 MB of
// heap). InfluxDB reads every point of the range to find the newest ones:
// since should be about the longest usual reporting interval, not days.
func (s *Store) Latest(ctx context.Context, since time.Duration, fn func([]twin.Observation) error) error {
	if since <= 0 {
		return fmt.Errorf("history: latest: since must be positive, got %s", since)
	}
	now := time.Now()
	return s.latest(ctx, "", now.Add(-since), now.Add(twin.MaxFutureSkew), fn)
}

// LatestBefore is Latest as of a past time: the newest value of every
// field of every series of tenant (all tenants when empty) in
// (at − window, at], in one query. The map's replay uses it.
func (s *Store) LatestBefore(ctx context.Context, tenant string, at time.Time, window time.Duration, fn func([]twin.Observation) error) error {
	if window <= 0 {
		return fmt.Errorf("history: latest before: window must be positive, got %s", window)
	}
	// The range end is exclusive: one nanosecond past at keeps a point at
	// exactly at.
	return s.latest(ctx, tenant, at.Add(-window), at.Add(time.Nanosecond), fn)
}

func (s *Store) latest(ctx context.Context, tenant string, start, stop time.Time, fn func([]twin.Observation) error) error {
	var (
		entities = make(map[entityKey][]twin.Observation)
		intern   = interner() // tenants, types and tags
		badLocs  int
		badID    string
	)
	err := s.each(ctx, latestFlux(s.cfg.Bucket, tenant, start, stop), func(r *api.QueryTableResult) error {
		v := r.Record().Values()
		id, _ := v["entity_id"].(string)
		t, _ := v["_time"].(time.Time)
		field, _ := v["_field"].(string)
		if id == "" || field == "" {
			return nil // not citytwin's
		}
		k := entityKey{intern(v["tenant"]), id}
		obs := entities[k]
		i := slices.IndexFunc(obs, func(o twin.Observation) bool { return o.Time.Equal(t) })
		if i < 0 {
			obs = append(obs, twin.Observation{
				Tenant: k.tenant, EntityID: id, EntityType: intern(v["_measurement"]),
				Domain: twin.Domain(intern(v["domain"])), Time: t, TimeSource: twin.TimeObservedAt,
				Links: linksOf(v, intern),
			})
			i = len(obs) - 1
			entities[k] = obs
		}
		o := &obs[i]
		if field == locationField {
			text, _ := v["_value"].(string)
			if o.Location = parseLocation(text); o.Location == nil {
				badLocs++
				badID = cmp.Or(badID, id)
			}
			return nil
		}
		val, ok := valueOf(v["_value"], "")
		if !ok {
			return nil // an empty text, read as null
		}
		o.Attrs = append(o.Attrs, twin.Attr{Name: intern(field), Kind: val.Kind, Num: val.Num, Bool: val.Bool, Str: val.Str})
		return nil
	})
	if badLocs > 0 {
		s.log.Warn("stored locations that are not a GeoJSON Point or LineString were left out",
			"count", badLocs, "entity_id", badID)
	}
	if err != nil {
		return fmt.Errorf("history: latest: %w", err)
	}

	keys := make([]entityKey, 0, len(entities))
	for k := range entities {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b entityKey) int {
		return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.id, b.id))
	})
	batch := make([]twin.Observation, 0, min(LatestBatch, len(keys)))
	for _, k := range keys {
		obs := entities[k]
		delete(entities, k)
		slices.SortFunc(obs, func(a, b twin.Observation) int { return a.Time.Compare(b.Time) })
		for _, o := range obs {
			if o.Attrs == nil && o.Location == nil {
				continue // only empty texts or a bad location
			}
			slices.SortFunc(o.Attrs, func(a, b twin.Attr) int { return strings.Compare(a.Name, b.Name) })
			batch = append(batch, o)
			if len(batch) == LatestBatch {
				if err := fn(batch); err != nil {
					return err
				}
				batch = make([]twin.Observation, 0, LatestBatch)
			}
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

type entityKey struct{ tenant, id string }

// parseLocation reads the GeoJSON that ingest stores: a Point or a
// LineString of at least two positions, WGS84 [lon, lat] in range. It
// returns nil for anything else.
func parseLocation(text string) orb.Geometry {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal([]byte(text), &g) != nil {
		return nil
	}
	ok := func(p []float64) bool {
		return len(p) == 2 && !math.IsNaN(p[0]) && !math.IsNaN(p[1]) &&
			p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90
	}
	switch g.Type {
	case "Point":
		var p []float64
		if json.Unmarshal(g.Coordinates, &p) != nil || !ok(p) {
			return nil
		}
		return orb.Point{p[0], p[1]}
	case "LineString":
		var ps [][]float64
		if json.Unmarshal(g.Coordinates, &ps) != nil || len(ps) < 2 {
			return nil
		}
		ls := make(orb.LineString, len(ps))
		for i, p := range ps {
			if !ok(p) {
				return nil
			}
			ls[i] = orb.Point{p[0], p[1]}
		}
		return ls
	}
	return nil
}
