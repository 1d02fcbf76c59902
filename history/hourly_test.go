package history_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/internal/testenv"
)

// TestHourlyDialects writes a few rollups and reads them in both query
// languages: the same answers, equal to what was written.
func TestHourlyDialects(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	h0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	at := func(h int) int64 { return h0.Add(time.Duration(h) * time.Hour).UnixNano() }
	loc := func(lon, lat float64) string {
		return fmt.Sprintf(`location="{\"type\":\"Point\",\"coordinates\":[%g,%g]}"`, lon, lat)
	}
	m := history.HourlyMeasurement
	lines := []string{
		// n1 moves at hour 2: new links and location.
		fmt.Sprintf(`%s,tenant=o'brien,type=NoiseLevelObserved,entity_id=n1,district=d1,neighbourhood=a,road=r1 LAeq=60.5,LAeq_n=60i,%s %d`, m, loc(9.1, 45.4), at(0)),
		fmt.Sprintf(`%s,tenant=o'brien,type=NoiseLevelObserved,entity_id=n1,district=d1,neighbourhood=a,road=r1 LAeq=61.5,LAeq_n=60i,%s %d`, m, loc(9.1, 45.4), at(1)),
		fmt.Sprintf(`%s,tenant=o'brien,type=NoiseLevelObserved,entity_id=n1,district=d2,neighbourhood=b,road=r2 LAeq=70,LAeq_n=30i,%s %d`, m, loc(9.2, 45.5), at(2)),
		// n2 never sent a location; its payload named its road.
		fmt.Sprintf(`%s,tenant=o'brien,type=NoiseLevelObserved,entity_id=n2,road=r9 LAeq=50 %d`, m, at(1)),
		// t1: two fields, one missing at hour 1.
		fmt.Sprintf(`%s,tenant=o'brien,type=TrafficFlowObserved,entity_id=t1,road=r1 intensity_sum=600,averageVehicleSpeed=42.5,%s %d`, m, loc(9.15, 45.45), at(0)),
		fmt.Sprintf(`%s,tenant=o'brien,type=TrafficFlowObserved,entity_id=t1,road=r1 intensity_sum=420 %d`, m, at(1)),
		// Out of the query: another tenant, the hour at Stop, raw points.
		fmt.Sprintf(`%s,tenant=other,type=NoiseLevelObserved,entity_id=x LAeq=99 %d`, m, at(1)),
		fmt.Sprintf(`%s,tenant=o'brien,type=NoiseLevelObserved,entity_id=n1,district=d2,neighbourhood=b,road=r2 LAeq=99 %d`, m, at(3)),
		fmt.Sprintf(`NoiseLevelObserved,tenant=o'brien,entity_id=n1 LAeq=99 %d`, at(1)),
	}
	db.Write(t, strings.Join(lines, "\n"))

	q := history.HourlyQuery{Tenant: "o'brien", Fields: []string{"LAeq", "LAeq_n", "intensity_sum", "averageVehicleSpeed", history.LocationField}, Start: h0, Stop: h0.Add(3 * time.Hour)}
	wantPoints := []string{
		"n1 LAeq 0 60.5", "n1 LAeq 1 61.5", "n1 LAeq 2 70",
		"n1 LAeq_n 0 60", "n1 LAeq_n 1 60", "n1 LAeq_n 2 30",
		"n2 LAeq 1 50",
		"t1 averageVehicleSpeed 0 42.5",
		"t1 intensity_sum 0 600", "t1 intensity_sum 1 420",
	}
	wantEntities := map[string]history.HourlyEntity{
		"n1": {ID: "n1", Type: "NoiseLevelObserved", Links: geo.Links{District: "d2", Neighbourhood: "b", Road: "r2"}, Location: orb.Point{9.2, 45.5}},
		"t1": {ID: "t1", Type: "TrafficFlowObserved", Links: geo.Links{Road: "r1"}, Location: orb.Point{9.15, 45.45}},
	}
	points := func(t *testing.T, s *history.Store, q history.HourlyQuery) []string {
		var out []string
		err := s.Hourly(context.Background(), q, func(p *history.HourlyPoint) error {
			out = append(out, fmt.Sprintf("%s %s %d %g", p.EntityID, p.Field, int(p.Hour.Sub(h0)/time.Hour), p.Value))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	for _, dialect := range []string{history.DialectFlux, history.DialectInfluxQL, history.DialectAuto} {
		t.Run("dialect="+dialect, func(t *testing.T) {
			s, err := history.New(history.Config{URL: db.URL, Token: db.Token, Org: db.Org, Bucket: db.Bucket, Dialect: dialect})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := history.Dialect(s, context.Background()); dialect == history.DialectAuto && got != history.DialectInfluxQL {
				t.Fatalf("auto dialect on InfluxDB 1.8 is %q, want influxql", got)
			}
			if got := points(t, s, q); !slices.Equal(got, wantPoints) {
				t.Errorf("Hourly:\n got %q\nwant %q", got, wantPoints)
			}
			sub := q
			sub.Types, sub.Entities, sub.Fields = []string{"NoiseLevelObserved"}, []string{"n2", "t1"}, []string{"LAeq"}
			if got := points(t, s, sub); !slices.Equal(got, []string{"n2 LAeq 1 50"}) {
				t.Errorf("Hourly of type and entities: %q, want [n2 LAeq 1 50]", got)
			}
			ents, err := s.HourlyEntities(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(slices.Sorted(maps.Keys(ents)), []string{"n1", "t1"}) {
				t.Fatalf("entities %v, want n1 and t1", slices.Sorted(maps.Keys(ents)))
			}
			for id, want := range wantEntities {
				got := ents[id]
				if got.Type != want.Type || got.Links != want.Links || got.Location != want.Location {
					t.Errorf("entity %s: %+v, want %+v", id, *got, want)
				}
			}
			// Asked by id, an entity without a location answers from its
			// values.
			byID := q
			byID.Entities = []string{"n2", "t1"}
			ents, err = s.HourlyEntities(context.Background(), byID)
			if err != nil {
				t.Fatal(err)
			}
			if n2 := ents["n2"]; n2 == nil || n2.Type != "NoiseLevelObserved" || n2.Links != (geo.Links{Road: "r9"}) || n2.Location != nil {
				t.Errorf("n2 by id: %+v, want its type and road r9, no location", n2)
			}
			if t1 := ents["t1"]; t1 == nil || t1.Location != (orb.Point{9.15, 45.45}) || len(ents) != 2 {
				t.Errorf("by id: %d entities, t1 %+v; want n2 and t1 with its location", len(ents), t1)
			}
			bad := q
			bad.Fields = []string{`no"such`}
			if got := points(t, s, bad); len(got) != 0 {
				t.Errorf("an unknown field gave %q", got)
			}
		})
	}
}
