package history_test

import (
	"fmt"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/twin"
)

// benchEntities and benchPoints size the Latest benchmarks: 10,000 entities
// with three numeric fields and a location, a point every 5 minutes for an
// hour (480,000 stored values, 40,000 series).
const (
	benchEntities = 10000
	benchPoints   = 12
)

func benchDB(b *testing.B) *testenv.InfluxDB {
	b.Helper()
	db := testenv.StartInfluxDB(b)
	last := time.Now().Add(-time.Minute)
	for p := range benchPoints {
		db.Write(b, entities(benchEntities, last.Add(-time.Duration(benchPoints-1-p)*5*time.Minute), 1))
	}
	return db
}

// BenchmarkLatest measures Store.Latest over the data set: one Flux query
// (last, pivot, group), streamed.
func BenchmarkLatest(b *testing.B) {
	db := benchDB(b)
	s := newStore(b, db)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = 0
		err := s.Latest(b.Context(), 2*time.Hour, func(obs []twin.Observation) error {
			n += len(obs)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if n != benchEntities {
		b.Fatalf("%d observations, want %d", n, benchEntities)
	}
	b.ReportMetric(float64(n), "observations/op")
}

// BenchmarkLatestNaive is the baseline: last() per series, then every
// record held in memory in Go, keyed by entity and time, until the end of
// the answer (what Latest avoids).
func BenchmarkLatestNaive(b *testing.B) {
	db := benchDB(b)
	c := influxdb2.NewClientWithOptions(db.URL, db.Token, influxdb2.DefaultOptions().SetHTTPRequestTimeout(0))
	b.Cleanup(c.Close)
	q := c.QueryAPI(db.Org)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = naiveLatest(b, q, db.Bucket)
	}
	if n != benchEntities {
		b.Fatalf("%d observations, want %d", n, benchEntities)
	}
	b.ReportMetric(float64(n), "observations/op")
}

func naiveLatest(b *testing.B, q api.QueryAPI, bucket string) int {
	type key struct {
		tenant, id string
		t          time.Time
	}
	now := time.Now()
	flux := fmt.Sprintf("from(bucket: %q)\n\t|> range(start: %s, stop: %s)\n\t|> last()\n",
		bucket, now.Add(-2*time.Hour).UTC().Format(time.RFC3339Nano), now.Add(twin.MaxFutureSkew).UTC().Format(time.RFC3339Nano))
	res, err := q.Query(b.Context(), flux)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Close()
	obs := map[key]*twin.Observation{}
	for res.Next() {
		rec := res.Record()
		tenant, _ := rec.ValueByKey("tenant").(string)
		id, _ := rec.ValueByKey("entity_id").(string)
		k := key{tenant, id, rec.Time()}
		o := obs[k]
		if o == nil {
			o = &twin.Observation{Tenant: tenant, EntityID: id, EntityType: rec.Measurement(), Time: k.t}
			obs[k] = o
		}
		if v, ok := rec.Value().(float64); ok {
			o.Attrs = append(o.Attrs, twin.Attr{Name: rec.Field(), Kind: twin.KindNumber, Num: v})
		}
	}
	if err := res.Err(); err != nil {
		b.Fatal(err)
	}
	return len(obs)
}
