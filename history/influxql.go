package history

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// Query languages of Config.Dialect.
const (
	// DialectAuto asks the server: InfluxQL for the hourly reads on
	// InfluxDB 1.x, Flux elsewhere.
	DialectAuto = ""
	// DialectFlux reads everything with Flux.
	DialectFlux = "flux"
	// DialectInfluxQL reads the hourly rollups with InfluxQL (/query);
	// everything else stays Flux.
	DialectInfluxQL = "influxql"
)

// Why two languages: InfluxDB 1.8 runs Flux through a translation layer that
// reads every row out of the storage engine and pushes no windowed work
// down, while its native InfluxQL engine reads the same rows two to three
// times faster (planner's BenchmarkTrafficScenario, cold-influxql against
// cold-flux: 470,400 hourly values of 2,000 sensors over 7 days). InfluxDB 2.x runs Flux
// natively, so it keeps Flux. Only the planner's bulk reads (Hourly,
// HourlyEntities) have both forms; they answer the same (tested on the same
// data in both dialects).

// dialect returns the query language of the hourly reads, asking the
// server once when Config.Dialect is auto: /ping's X-Influxdb-Version
// ("1.8.10" or "v2.7.4"); a build without a version ("unknown", as go
// install makes) is told apart by GET /api/v2/setup, which only 2.x serves.
// A failed probe is retried on the next call; Flux is used meanwhile.
func (s *Store) dialect(ctx context.Context) string {
	if s.cfg.Dialect != DialectAuto {
		return s.cfg.Dialect
	}
	s.probe.Lock()
	defer s.probe.Unlock()
	if s.probe.probed != "" {
		return s.probe.probed
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(s.cfg.URL, "/")+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.http.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			_ = resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get("/ping")
	if err != nil {
		s.log.Warn("InfluxDB version probe failed; reading rollups with Flux for now", "err", err)
		return DialectFlux
	}
	v := strings.TrimPrefix(resp.Header.Get("X-Influxdb-Version"), "v")
	switch {
	case strings.HasPrefix(v, "1."):
		s.probe.probed = DialectInfluxQL
	case strings.HasPrefix(v, "2."), strings.HasPrefix(v, "3."):
		s.probe.probed = DialectFlux
	default:
		resp, err := get("/api/v2/setup")
		if err != nil {
			s.log.Warn("InfluxDB version probe failed; reading rollups with Flux for now", "err", err)
			return DialectFlux
		}
		s.probe.probed = DialectFlux
		if resp.StatusCode == http.StatusNotFound {
			s.probe.probed = DialectInfluxQL
		}
	}
	s.log.Debug("rollup reads", "dialect", s.probe.probed, "version", v)
	return s.probe.probed
}

// dialectProbe is the state of the auto dialect's probe.
type dialectProbe struct {
	sync.Mutex
	probed string
}

// influxQLString quotes s as an InfluxQL string literal.
func influxQLString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// influxQLIdent quotes s as an InfluxQL identifier.
func influxQLIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// influxQLWhere writes the hourly query's conditions.
func (q *HourlyQuery) influxQLWhere(b *strings.Builder) {
	b.WriteString(" FROM ")
	b.WriteString(influxQLIdent(HourlyMeasurement))
	b.WriteString(" WHERE \"tenant\" = ")
	b.WriteString(influxQLString(q.Tenant))
	for _, f := range []struct {
		tag    string
		values []string
	}{{"type", q.Types}, {"entity_id", q.Entities}} {
		if len(f.values) == 0 {
			continue
		}
		b.WriteString(" AND (")
		for i, v := range f.values {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString(influxQLIdent(f.tag))
			b.WriteString(" = ")
			b.WriteString(influxQLString(v))
		}
		b.WriteString(")")
	}
	fmt.Fprintf(b, " AND time >= %d AND time < %d", q.Start.UnixNano(), q.Stop.UnixNano())
}

// influxQLSeries is one series of an InfluxQL answer, as fn sees it.
type influxQLSeries struct {
	tags    *fastjson.Value // an object, or nil
	columns []*fastjson.Value
	values  []*fastjson.Value // rows: arrays in the columns' order
}

// tag returns a tag of the series ("" when absent).
func (s *influxQLSeries) tag(name string) string {
	if s.tags == nil {
		return ""
	}
	return string(s.tags.GetStringBytes(name))
}

// queryInfluxQL runs one InfluxQL statement on the bucket's database and
// retention policy (a 1.x bucket is "database/retention-policy"), times in
// seconds, the answer streamed in chunks; fn sees each chunk's series.
func (s *Store) queryInfluxQL(ctx context.Context, stmt string, fn func(*influxQLSeries) error) error {
	db, rp, _ := strings.Cut(s.cfg.Bucket, "/")
	v := url.Values{"db": {db}, "q": {stmt}, "epoch": {"s"}, "chunked": {"true"}, "chunk_size": {"20000"}}
	if rp != "" {
		v.Set("rp", rp)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.cfg.URL, "/")+"/query", strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.cfg.Token != "" {
		// 1.8 reads "Token user:password"; 2.x an API token.
		req.Header.Set("Authorization", "Token "+s.cfg.Token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	r := bufio.NewReaderSize(resp.Body, 256<<10)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(r, 4<<10))
		msg := strings.TrimSpace(string(body))
		if e := fastjson.GetString(body, "error"); e != "" {
			msg = e
		}
		return fmt.Errorf("InfluxQL query: HTTP %s: %s", resp.Status, msg)
	}
	var p fastjson.Parser
	for {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if err := eachInfluxQLSeries(&p, line, fn); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// eachInfluxQLSeries parses one chunk ({"results":[{"series":[…]}]}) and
// calls fn per series; an error in the answer is returned.
func eachInfluxQLSeries(p *fastjson.Parser, chunk []byte, fn func(*influxQLSeries) error) error {
	v, err := p.ParseBytes(chunk)
	if err != nil {
		return fmt.Errorf("InfluxQL answer: %w", err)
	}
	if e := v.GetStringBytes("error"); e != nil {
		return fmt.Errorf("InfluxQL: %s", e)
	}
	for _, res := range v.GetArray("results") {
		if e := res.GetStringBytes("error"); e != nil {
			return fmt.Errorf("InfluxQL: %s", e)
		}
		for _, sr := range res.GetArray("series") {
			s := influxQLSeries{tags: sr.Get("tags"), columns: sr.GetArray("columns"), values: sr.GetArray("values")}
			if err := fn(&s); err != nil {
				return err
			}
		}
	}
	return nil
}

// hourlyInfluxQL is Hourly in InfluxQL: one statement selecting the fields,
// grouped by entity.
func (s *Store) hourlyInfluxQL(ctx context.Context, q HourlyQuery, fields []string, fn func(*HourlyPoint) error) error {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(influxQLIdent(f))
	}
	q.influxQLWhere(&b)
	b.WriteString(` GROUP BY "entity_id"`)
	intern := interner()
	var p HourlyPoint
	return s.queryInfluxQL(ctx, b.String(), func(sr *influxQLSeries) error {
		id := intern(sr.tag("entity_id"))
		names := make([]string, len(sr.columns))
		for i, c := range sr.columns {
			names[i] = intern(string(c.GetStringBytes()))
		}
		for _, row := range sr.values {
			cells := row.GetArray()
			if len(cells) != len(names) || len(cells) == 0 {
				continue
			}
			sec, err := cells[0].Int64()
			if err != nil {
				return fmt.Errorf("InfluxQL answer: time %s: %w", cells[0], err)
			}
			hour := time.Unix(sec, 0).UTC()
			for i := 1; i < len(cells); i++ {
				x, err := cells[i].Float64()
				if err != nil { // null, or not a number
					continue
				}
				p = HourlyPoint{EntityID: id, Field: names[i], Hour: hour, Value: x}
				if err := fn(&p); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// hourlyEntitiesInfluxQL is HourlyEntities in InfluxQL: the last value of
// each field of every series (tag set), one statement per field (several
// selectors in one statement lose their times), the newest per entity; a
// location found in any of them is kept.
func (s *Store) hourlyEntitiesInfluxQL(ctx context.Context, q HourlyQuery, fields []string) (map[string]*HourlyEntity, error) {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("SELECT last(")
		b.WriteString(influxQLIdent(f))
		b.WriteString(")")
		q.influxQLWhere(&b)
		b.WriteString(" GROUP BY *")
	}
	intern := interner()
	out := make(map[string]*HourlyEntity)
	located := map[string]time.Time{}
	err := s.queryInfluxQL(ctx, b.String(), func(sr *influxQLSeries) error {
		id := intern(sr.tag("entity_id"))
		if id == "" {
			return nil
		}
		tags := map[string]any{}
		for _, k := range []string{"type", "district", "neighbourhood", "road", "greenspace", "zone"} {
			tags[k] = sr.tag(k)
		}
		for _, row := range sr.values {
			cells := row.GetArray()
			if len(cells) < 2 {
				continue
			}
			sec, err := cells[0].Int64()
			if err != nil {
				return fmt.Errorf("InfluxQL answer: time %s: %w", cells[0], err)
			}
			t := time.Unix(sec, 0).UTC()
			e := out[id]
			if e == nil {
				e = &HourlyEntity{ID: id}
				out[id] = e
			}
			if !t.Before(e.newest) {
				e.newest, e.Type, e.Links = t, intern(tags["type"]), linksOf(tags, intern)
			}
			if text := cells[1].GetStringBytes(); text != nil && !t.Before(located[id]) {
				if g := parseLocation(string(text)); g != nil {
					e.Location, located[id] = g, t
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
