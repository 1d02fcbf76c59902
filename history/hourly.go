package history

import (
	"context"
	"fmt"
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
	EntityID, Type string
	Links          geo.Links
	Field          string
	Hour           time.Time
	Value          float64
	// Location is set instead of Value for the field LocationField.
	Location orb.Geometry
}

// LocationField is the field holding an entity's GeoJSON location, in the
// raw points and in the rollups.
const LocationField = locationField

// Hourly streams the hourly rollups q selects, in no particular order.
// fn's error stops the read and is returned as is.
func (s *Store) Hourly(ctx context.Context, q HourlyQuery, fn func(*HourlyPoint) error) error {
	switch {
	case q.Tenant == "":
		return invalid("tenant", "is required")
	case len(q.Fields) == 0:
		return invalid("fields", "at least one field is required")
	case !q.Start.Before(q.Stop):
		return invalid("start", "must be before stop")
	}
	var b strings.Builder
	fromRange(&b, s.cfg.Bucket, q.Start, q.Stop)
	b.WriteString("\t|> filter(fn: (r) => r._measurement == ")
	b.WriteString(fluxString(HourlyMeasurement))
	b.WriteString(" and r.tenant == ")
	b.WriteString(fluxString(q.Tenant))
	b.WriteString(")\n")
	writeOr(&b, "type", q.Types)
	writeOr(&b, "entity_id", q.Entities)
	writeFieldFilter(&b, q.Fields)
	b.WriteString("\t|> filter(fn: (r) => r._time < ")
	b.WriteString(fluxTime(q.Stop))
	b.WriteString(")\n")
	b.WriteString(`	|> keep(columns: ["_time", "_value", "_field", "entity_id", "type", "district", "neighbourhood", "road", "greenspace", "zone"])` + "\n")

	intern := interner()
	var p HourlyPoint
	err := s.each(ctx, b.String(), func(r *api.QueryTableResult) error {
		v := r.Record().Values()
		p = HourlyPoint{EntityID: intern(v["entity_id"]), Type: intern(v["type"]), Links: linksOf(v, intern), Field: intern(v["_field"])}
		switch x := v["_value"].(type) {
		case float64:
			p.Value = x
		case string:
			if p.Location = parseLocation(x); p.Location == nil {
				return nil
			}
		default:
			return nil
		}
		p.Hour, _ = v["_time"].(time.Time)
		return fn(&p)
	})
	if err != nil {
		return fmt.Errorf("history: hourly: %w", err)
	}
	return nil
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
