package history

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// HourlyMeasurement holds the hourly rollups that package rollup writes
// (one point per entity and UTC hour; fields a, a_min, a_max, a_n, a_sum
// per numeric attribute a; tag type is the entity type). Every other read
// of this package leaves it out.
const HourlyMeasurement = "citytwin_hourly"

// RawNumbers streams the raw numeric points and locations stored in
// [start, stop), all tenants, every entity type, the rollups left out: one
// Observation per point and field (a number in Attrs, or the Location), with
// its tags as Links. Booleans and other texts are skipped.
// fn receives batches of at most LatestBatch; its error stops the read.
func (s *Store) RawNumbers(ctx context.Context, start, stop time.Time, fn func([]twin.Observation) error) error {
	var b strings.Builder
	fromRange(&b, s.cfg.Bucket, start, stop)
	b.WriteString("\t|> filter(fn: (r) => r._measurement != ")
	b.WriteString(fluxString(HourlyMeasurement))
	b.WriteString(")\n\t|> filter(fn: (r) => r._time < ")
	b.WriteString(fluxTime(stop))
	b.WriteString(")\n\t|> drop(columns: [\"_start\", \"_stop\"])\n")

	intern := interner()
	batch := make([]twin.Observation, 0, LatestBatch)
	err := s.each(ctx, b.String(), func(r *api.QueryTableResult) error {
		v := r.Record().Values()
		id, _ := v["entity_id"].(string)
		t, _ := v["_time"].(time.Time)
		if id == "" {
			return nil
		}
		o := twin.Observation{
			Tenant: intern(v["tenant"]), EntityID: id, EntityType: intern(v["_measurement"]),
			Domain: twin.Domain(intern(v["domain"])), Time: t, TimeSource: twin.TimeObservedAt,
			Links: linksOf(v, intern),
		}
		field := intern(v["_field"])
		switch x := v["_value"].(type) {
		case float64:
			o.Attrs = []twin.Attr{{Name: field, Kind: twin.KindNumber, Num: x}}
		case string:
			if field != locationField {
				return nil
			}
			if o.Location = parseLocation(x); o.Location == nil {
				return nil
			}
		default:
			return nil
		}
		batch = append(batch, o)
		if len(batch) == LatestBatch {
			if err := fn(batch); err != nil {
				return err
			}
			batch = make([]twin.Observation, 0, LatestBatch)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history: raw numbers: %w", err)
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

func linksOf(v map[string]any, intern func(any) string) geo.Links {
	return geo.Links{
		District:       intern(v["district"]),
		Neighbourhood:  intern(v["neighbourhood"]),
		Road:           intern(v["road"]),
		GreenArea:      intern(v["greenspace"]),
		IrrigationZone: intern(v["zone"]),
	}
}

// HourlyQuery selects hourly rollups.
type HourlyQuery struct {
	// Tenant is required.
	Tenant string
	// Types are entity types (NoiseLevelObserved, …); empty: all.
	Types []string
	// Fields are rollup fields (LAeq, LAeq_n, intensity_sum, …); required.
	Fields []string
	// Entities, when set, limits the answer to these entity ids.
	Entities []string
	// Start and Stop bound the hours: those starting in [Start, Stop).
	Start, Stop time.Time
}

// HourlyPoint is one rollup field of one entity and hour.
type HourlyPoint struct {
	EntityID string
	Field    string
	Hour     time.Time
	Value    float64
}

// LocationField is the field holding an entity's GeoJSON location, in the
// raw points and in the rollups.
const LocationField = locationField

func (q *HourlyQuery) check() error {
	switch {
	case q.Tenant == "":
		return invalid("tenant", "is required")
	case len(q.Fields) == 0:
		return invalid("fields", "at least one field is required")
	case !q.Start.Before(q.Stop):
		return invalid("start", "must be before stop")
	}
	return nil
}

// source writes the program's selection up to the field filter.
func (q *HourlyQuery) source(b *strings.Builder, bucket string) {
	fromRange(b, bucket, q.Start, q.Stop)
	b.WriteString("\t|> filter(fn: (r) => r._measurement == ")
	b.WriteString(fluxString(HourlyMeasurement))
	b.WriteString(" and r.tenant == ")
	b.WriteString(fluxString(q.Tenant))
	b.WriteString(")\n")
	writeOr(b, "type", q.Types)
	writeOr(b, "entity_id", q.Entities)
}

// Hourly streams the hourly values of the numeric rollup fields q selects
// (a location among q.Fields is ignored: see HourlyEntities), in no
// particular order. Only time, value, field and entity travel: an entity's
// type and links come once from HourlyEntities. fn's error stops the read
// and is returned as is.
func (s *Store) Hourly(ctx context.Context, q HourlyQuery, fn func(*HourlyPoint) error) error {
	if err := q.check(); err != nil {
		return err
	}
	fields := slices.DeleteFunc(slices.Clone(q.Fields), func(f string) bool { return f == LocationField })
	if len(fields) == 0 {
		return nil
	}
	if s.dialect(ctx) == DialectInfluxQL {
		if err := s.hourlyInfluxQL(ctx, q, fields, fn); err != nil {
			return fmt.Errorf("history: hourly: %w", err)
		}
		return nil
	}
	var b strings.Builder
	q.source(&b, s.cfg.Bucket)
	writeFieldFilter(&b, fields)
	b.WriteString("\t|> filter(fn: (r) => r._time < ")
	b.WriteString(fluxTime(q.Stop))
	b.WriteString(")\n")
	b.WriteString(`	|> keep(columns: ["_time", "_value", "_field", "entity_id"])` + "\n")

	intern := interner()
	var p HourlyPoint
	err := s.each(ctx, b.String(), func(r *api.QueryTableResult) error {
		rec := r.Record()
		var x float64
		switch v := rec.Value().(type) {
		case float64:
			x = v
		case int64: // a_n
			x = float64(v)
		case uint64:
			x = float64(v)
		default:
			return nil
		}
		p = HourlyPoint{EntityID: intern(rec.ValueByKey("entity_id")), Field: intern(rec.Field()), Hour: rec.Time(), Value: x}
		return fn(&p)
	})
	if err != nil {
		return fmt.Errorf("history: hourly: %w", err)
	}
	return nil
}

// HourlyEntity is what the rollups say of one entity: its type, links and
// location, from its newest rollup in the range.
type HourlyEntity struct {
	ID, Type string
	Links    geo.Links
	// Location is nil when the entity never sent one.
	Location orb.Geometry
	// newest is the time of the rollup the links come from.
	newest time.Time
}

// HourlyEntities returns the entities of q that have a location in the
// range, by id, with the type and links of their newest location: one row
// per series (tag set) from InfluxDB (last). With q.Entities set, it answers
// for those entities from their newest value of q.Fields or location
// instead, so that an entity without a location (linked by its payload's
// references) can be asked for by id once Hourly has named it.
func (s *Store) HourlyEntities(ctx context.Context, q HourlyQuery) (map[string]*HourlyEntity, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	fields := []string{LocationField}
	if len(q.Entities) > 0 {
		fields = append(slices.DeleteFunc(slices.Clone(q.Fields), func(f string) bool { return f == LocationField }), LocationField)
	}
	if s.dialect(ctx) == DialectInfluxQL {
		out, err := s.hourlyEntitiesInfluxQL(ctx, q, fields)
		if err != nil {
			return nil, fmt.Errorf("history: hourly entities: %w", err)
		}
		return out, nil
	}
	var b strings.Builder
	q.source(&b, s.cfg.Bucket)
	writeFieldFilter(&b, fields)
	b.WriteString("\t|> filter(fn: (r) => r._time < ")
	b.WriteString(fluxTime(q.Stop))
	b.WriteString(")\n\t|> last()\n")
	b.WriteString(`	|> keep(columns: ["_time", "_value", "_field", "entity_id", "type", "district", "neighbourhood", "road", "greenspace", "zone"])` + "\n")
	intern := interner()
	out := make(map[string]*HourlyEntity)
	located := map[string]time.Time{}
	err := s.each(ctx, b.String(), func(r *api.QueryTableResult) error {
		v := r.Record().Values()
		id := intern(v["entity_id"])
		if id == "" {
			return nil
		}
		t, _ := v["_time"].(time.Time)
		e := out[id]
		if e == nil {
			e = &HourlyEntity{ID: id}
			out[id] = e
		}
		if !t.Before(e.newest) {
			e.newest, e.Type, e.Links = t, intern(v["type"]), linksOf(v, intern)
		}
		if text, ok := v["_value"].(string); ok && v["_field"] == LocationField && !t.Before(located[id]) {
			if g := parseLocation(text); g != nil {
				e.Location, located[id] = g, t
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: hourly entities: %w", err)
	}
	return out, nil
}

// writeOr writes a filter keeping rows whose column equals one of values;
// nothing when values is empty.
func writeOr(b *strings.Builder, column string, values []string) {
	if len(values) == 0 {
		return
	}
	b.WriteString("\t|> filter(fn: (r) => ")
	for i, v := range values {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString("r.")
		b.WriteString(column)
		b.WriteString(" == ")
		b.WriteString(fluxString(v))
	}
	b.WriteString(")\n")
}
