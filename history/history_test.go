package history_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/paulmach/orb"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/twin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t testing.TB, db *testenv.InfluxDB) *history.Store {
	t.Helper()
	s, err := history.New(history.Config{URL: db.URL, Token: db.Token, Org: db.Org, Bucket: db.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

const (
	aqID   = "urn:ngsi-ld:AirQualityObserved:aq1"
	aqType = "AirQualityObserved"
)

// day is the day of the temporal data set: one AirQualityObserved reading
// every 10 minutes, whose links change at noon (a second series per field).
var day = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

type reading struct {
	t        time.Time
	no2      float64
	pm10     float64
	level    string
	reliable bool
}

func readings() []reading {
	var rs []reading
	for i := range 24 * 6 {
		rs = append(rs, reading{
			t:        day.Add(time.Duration(i) * 10 * time.Minute),
			no2:      20 + float64(i*7%31) + 0.25,
			pm10:     10 + float64(i%5),
			level:    []string{"good", "moderate", ""}[i%3],
			reliable: i%2 == 0,
		})
	}
	return rs
}

func temporalData() string {
	var b strings.Builder
	for _, r := range readings() {
		district := "d1"
		if r.t.Hour() >= 12 {
			district = "d2"
		}
		fmt.Fprintf(&b, "%s,district=%s,domain=air,entity_id=%s,tenant=t1 no2=%s,pm10=%s,airQualityLevel=%q,reliable=%t,location=\"{\\\"type\\\":\\\"Point\\\",\\\"coordinates\\\":[9.19,45.46]}\" %d\n",
			aqType, district, aqID, strconv.FormatFloat(r.no2, 'g', -1, 64), strconv.FormatFloat(r.pm10, 'g', -1, 64),
			r.level, r.reliable, r.t.UnixNano())
		// The same id in another tenant, on the hour only.
		if r.t.Minute() == 0 {
			fmt.Fprintf(&b, "%s,domain=air,entity_id=%s,tenant=t2 no2=%d %d\n", aqType, aqID, 1000+r.t.Hour(), r.t.UnixNano())
		}
	}
	return b.String()
}

// between returns the readings in [from, to) of day.
func between(from, to time.Duration) []reading {
	var out []reading
	for _, r := range readings() {
		if !r.t.Before(day.Add(from)) && r.t.Before(day.Add(to)) {
			out = append(out, r)
		}
	}
	return out
}

func numbers(rs []reading, f func(reading) float64) []history.Value {
	var vs []history.Value
	for _, r := range rs {
		vs = append(vs, history.Value{Time: r.t, Kind: twin.KindNumber, Num: f(r)})
	}
	return vs
}

func no2(r reading) float64  { return r.no2 }
func pm10(r reading) float64 { return r.pm10 }

func checkValues(t *testing.T, name string, got, want []history.Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d:\n got %v\nwant %v", name, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if !got[i].Time.Equal(want[i].Time) || got[i].Kind != want[i].Kind || got[i].Num != want[i].Num ||
			got[i].Bool != want[i].Bool || got[i].Str != want[i].Str {
			t.Errorf("%s[%d] = %+v, want %+v", name, i, got[i], want[i])
		}
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestTemporal(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	db.Write(t, temporalData())
	s := newStore(t, db)
	at := func(d time.Duration) time.Time { return day.Add(d) }

	t.Run("between with attrs", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"no2"},
			TimeRel: "between", TimeAt: at(6 * time.Hour), EndTimeAt: at(8 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || res.EntityType != aqType || res.Aggregates != nil {
			t.Errorf("Found %v, EntityType %q, Aggregates %v", res.Found, res.EntityType, res.Aggregates)
		}
		if got := keys(res.Values); !slices.Equal(got, []string{"no2"}) {
			t.Errorf("attributes %v, want [no2]", got)
		}
		checkValues(t, "no2", res.Values["no2"], numbers(between(6*time.Hour, 8*time.Hour), no2))
	})

	t.Run("before, every kind", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID,
			TimeRel: "before", TimeAt: at(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := keys(res.Values), []string{"airQualityLevel", "no2", "pm10", "reliable"}; !slices.Equal(got, want) {
			t.Errorf("attributes %v, want %v (all but location)", got, want)
		}
		rs := between(0, time.Hour)
		checkValues(t, "no2", res.Values["no2"], numbers(rs, no2))
		checkValues(t, "pm10", res.Values["pm10"], numbers(rs, pm10))
		var levels, reliable []history.Value
		for _, r := range rs {
			levels = append(levels, history.Value{Time: r.t, Kind: twin.KindString, Str: r.level})
			reliable = append(reliable, history.Value{Time: r.t, Kind: twin.KindBool, Bool: r.reliable})
		}
		checkValues(t, "airQualityLevel", res.Values["airQualityLevel"], levels) // "" included
		checkValues(t, "reliable", res.Values["reliable"], reliable)
	})

	t.Run("after", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"pm10"},
			TimeRel: "after", TimeAt: at(23 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, "pm10", res.Values["pm10"], numbers(between(23*time.Hour, 24*time.Hour), pm10))
	})

	t.Run("location when asked", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"location"},
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(20 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if vs := res.Values["location"]; len(vs) != 2 || vs[0].Str != `{"type":"Point","coordinates":[9.19,45.46]}` {
			t.Errorf("location values %+v", vs)
		}
	})

	t.Run("lastN across the change of links", func(t *testing.T) {
		// [11:00, 12:20): 11:50 is in the d1 series, 12:00 and 12:10 in d2.
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"no2", "reliable"},
			TimeRel: "between", TimeAt: at(11 * time.Hour), EndTimeAt: at(12*time.Hour + 20*time.Minute), LastN: 3})
		if err != nil {
			t.Fatal(err)
		}
		rs := between(11*time.Hour+50*time.Minute, 12*time.Hour+20*time.Minute)
		checkValues(t, "no2", res.Values["no2"], numbers(rs, no2))
		if got := res.Values["reliable"]; len(got) != 3 || !got[2].Time.Equal(at(12*time.Hour+10*time.Minute)) {
			t.Errorf("reliable %+v", got)
		}
		// More than there is.
		res, err = s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"no2"},
			TimeRel: "between", TimeAt: at(11 * time.Hour), EndTimeAt: at(12*time.Hour + 20*time.Minute), LastN: 100})
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, "no2", res.Values["no2"], numbers(between(11*time.Hour, 12*time.Hour+20*time.Minute), no2))
	})

	t.Run("hourly aggregates over a day", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID,
			Attrs:   []string{"no2", "airQualityLevel", "reliable"},
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour),
			AggrMethods: []string{"avg", "min", "max", "sum", "totalCount"}, AggrPeriod: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || res.EntityType != aqType || res.Values != nil {
			t.Errorf("Found %v, EntityType %q, Values %v", res.Found, res.EntityType, res.Values)
		}
		want := map[string][]history.Bucket{}
		for h := range 24 {
			rs := between(time.Duration(h)*time.Hour, time.Duration(h+1)*time.Hour)
			sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
			for _, r := range rs {
				sum += r.no2
				lo, hi = min(lo, r.no2), max(hi, r.no2)
			}
			b := history.Bucket{Start: at(time.Duration(h) * time.Hour), End: at(time.Duration(h+1) * time.Hour)}
			for m, v := range map[string]float64{"avg": sum / float64(len(rs)), "min": lo, "max": hi, "sum": sum, "totalCount": float64(len(rs))} {
				b.Value = v
				want[m] = append(want[m], b)
			}
		}
		checkBuckets(t, "no2", res.Aggregates["no2"], want)
		// Text and booleans are only counted.
		for _, attr := range []string{"airQualityLevel", "reliable"} {
			count := map[string][]history.Bucket{"totalCount": want["totalCount"]}
			checkBuckets(t, attr, res.Aggregates[attr], count)
		}
	})

	t.Run("buckets clipped to the range", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"no2"},
			TimeRel: "between", TimeAt: at(6*time.Hour + 30*time.Minute), EndTimeAt: at(9*time.Hour + 15*time.Minute),
			AggrMethods: []string{"totalCount", "max"}, AggrPeriod: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		bounds := []time.Duration{6*time.Hour + 30*time.Minute, 7 * time.Hour, 8 * time.Hour, 9 * time.Hour, 9*time.Hour + 15*time.Minute}
		want := map[string][]history.Bucket{}
		for i := range len(bounds) - 1 {
			rs := between(bounds[i], bounds[i+1])
			hi := math.Inf(-1)
			for _, r := range rs {
				hi = max(hi, r.no2)
			}
			want["totalCount"] = append(want["totalCount"], history.Bucket{Start: at(bounds[i]), End: at(bounds[i+1]), Value: float64(len(rs))})
			want["max"] = append(want["max"], history.Bucket{Start: at(bounds[i]), End: at(bounds[i+1]), Value: hi})
		}
		checkBuckets(t, "no2", res.Aggregates["no2"], want)
	})

	t.Run("whole range aggregate", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"no2", "airQualityLevel"},
			TimeRel: "between", TimeAt: at(6*time.Hour + 30*time.Minute), EndTimeAt: at(13*time.Hour + 15*time.Minute),
			AggrMethods: []string{"avg", "totalCount"}})
		if err != nil {
			t.Fatal(err)
		}
		rs := between(6*time.Hour+30*time.Minute, 13*time.Hour+15*time.Minute) // across the change of links
		sum := 0.0
		for _, r := range rs {
			sum += r.no2
		}
		b := history.Bucket{Start: at(6*time.Hour + 30*time.Minute), End: at(13*time.Hour + 15*time.Minute)}
		avg, count := b, b
		avg.Value, count.Value = sum/float64(len(rs)), float64(len(rs))
		checkBuckets(t, "no2", res.Aggregates["no2"], map[string][]history.Bucket{"avg": {avg}, "totalCount": {count}})
		checkBuckets(t, "airQualityLevel", res.Aggregates["airQualityLevel"], map[string][]history.Bucket{"totalCount": {count}})
	})

	t.Run("lastN buckets", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"pm10"},
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour),
			AggrMethods: []string{"min", "totalCount"}, AggrPeriod: time.Hour, LastN: 2})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]history.Bucket{}
		for h := 22; h < 24; h++ {
			rs := between(time.Duration(h)*time.Hour, time.Duration(h+1)*time.Hour)
			lo := math.Inf(1)
			for _, r := range rs {
				lo = min(lo, r.pm10)
			}
			b := history.Bucket{Start: at(time.Duration(h) * time.Hour), End: at(time.Duration(h+1) * time.Hour)}
			b.Value = lo
			want["min"] = append(want["min"], b)
			b.Value = float64(len(rs))
			want["totalCount"] = append(want["totalCount"], b)
		}
		checkBuckets(t, "pm10", res.Aggregates["pm10"], want)
	})

	t.Run("numeric methods on text only", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"airQualityLevel"},
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour), AggrMethods: []string{"avg", "sum"}, AggrPeriod: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || len(res.Aggregates) != 0 {
			t.Errorf("Found %v, Aggregates %v; want found and no aggregate", res.Found, res.Aggregates)
		}
	})

	t.Run("tenants are apart", func(t *testing.T) {
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t2", EntityID: aqID,
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(3 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(res.Values); !slices.Equal(got, []string{"no2"}) {
			t.Errorf("t2 attributes %v, want [no2]", got)
		}
		want := []history.Value{{Time: at(0), Num: 1000}, {Time: at(time.Hour), Num: 1001}, {Time: at(2 * time.Hour), Num: 1002}}
		for i := range want {
			want[i].Kind = twin.KindNumber
		}
		checkValues(t, "t2 no2", res.Values["no2"], want)

		agg, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"no2"},
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(3 * time.Hour), AggrMethods: []string{"totalCount"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := agg.Aggregates["no2"]["totalCount"]; len(got) != 1 || got[0].Value != 18 {
			t.Errorf("t1 totalCount over 3 h = %+v, want 18 (t2's 3 points not counted)", got)
		}
		// The default tenant has no such entity.
		res, err = s.Temporal(t.Context(), history.TemporalQuery{EntityID: aqID, TimeRel: "between", TimeAt: at(0), EndTimeAt: at(3 * time.Hour)})
		if err != nil || res.Found {
			t.Errorf("default tenant: Found %v, err %v; want not found", res.Found, err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for name, q := range map[string]history.TemporalQuery{
			"unknown entity": {Tenant: "t1", EntityID: "urn:ngsi-ld:AirQualityObserved:nope", TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour)},
			"unknown entity, aggregated": {Tenant: "t1", EntityID: "nope", TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour),
				AggrMethods: []string{"avg"}, AggrPeriod: time.Hour},
			"out of range":     {Tenant: "t1", EntityID: aqID, TimeRel: "before", TimeAt: at(0)},
			"after the future": {Tenant: "t1", EntityID: aqID, TimeRel: "after", TimeAt: time.Now().Add(time.Hour)},
			"default range":    {Tenant: "t1", EntityID: aqID}, // day is long gone
		} {
			res, err := s.Temporal(t.Context(), q)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if res.Found || res.EntityType != "" || len(res.Values) != 0 || len(res.Aggregates) != 0 {
				t.Errorf("%s: %+v, want nothing found", name, res)
			}
		}
	})

	t.Run("attributes it does not have", func(t *testing.T) {
		for _, methods := range [][]string{nil, {"avg"}} {
			res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: aqID, Attrs: []string{"pm25"},
				TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour), AggrMethods: methods})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Found || res.EntityType != aqType || len(res.Values) != 0 || len(res.Aggregates) != 0 {
				t.Errorf("aggrMethods %v: %+v, want found with no attribute", methods, res)
			}
		}
	})

	t.Run("Flux injection", func(t *testing.T) {
		for _, id := range []string{
			`a") |> drop(columns: ["_value"]) |> yield(name: "x`,
			`" or r.entity_id != "`,
			`\" or true or "`,
			`${aqID}`,
			"\n|> drop(columns: [\"tenant\"])\n//",
			"\xff\xfe",
		} {
			for _, q := range []history.TemporalQuery{
				{Tenant: "t1", EntityID: id, TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour)},
				{Tenant: id, EntityID: aqID, Attrs: []string{id}, TimeRel: "between", TimeAt: at(0), EndTimeAt: at(24 * time.Hour),
					AggrMethods: []string{"avg"}, AggrPeriod: time.Hour},
			} {
				res, err := s.Temporal(t.Context(), q)
				if err != nil || res.Found {
					t.Errorf("id %q: Found %v, err %v; want nothing found and no error", id, res.Found, err)
				}
			}
		}
	})

	t.Run("string literals denote their bytes", func(t *testing.T) {
		c := influxdb2.NewClient(db.URL, db.Token)
		defer c.Close()
		for _, str := range []string{
			// Not \r: the server's CSV writer (CRLF lines) drops it from answers.
			`plain`, `q"uote`, `back\slash\`, `${aqID}`, `$`, `$${x}`, "nl\ntab\t", "nul\x00bell\x07del\x7f",
			"bad\xff\xfeutf8\xc3", "café µg/m³ 🌳", `a") |> drop(columns: ["_value"]) |> yield(name: "x`,
		} {
			flux := fmt.Sprintf("from(bucket: %s)\n\t|> range(start: %s, stop: %s)\n\t|> filter(fn: (r) => r.tenant == \"t2\" and r._field == \"no2\")\n\t|> limit(n: 1)\n\t|> map(fn: (r) => ({_time: r._time, s: %s}))\n",
				history.FluxString(db.Bucket), at(0).Format(time.RFC3339), at(time.Hour).Format(time.RFC3339), history.FluxString(str))
			res, err := c.QueryAPI(db.Org).Query(t.Context(), flux)
			if err != nil {
				t.Errorf("%q: %v", str, err)
				continue
			}
			var got []any
			for res.Next() {
				got = append(got, res.Record().ValueByKey("s"))
			}
			if err := res.Err(); err != nil || len(got) != 1 || got[0] != str {
				t.Errorf("%q: read back %q (err %v)", str, got, err)
			}
		}
	})

	t.Run("odd characters round trip", func(t *testing.T) {
		// Tag values keep '"', '\' and '$' as they are in line protocol.
		id := `urn:x:q"uo\te$${d}`
		db.Write(t, fmt.Sprintf("Generic,domain=generic,entity_id=%s,tenant=t$\\ 1 %s=1 %d\n", id, `we"ird`, day.UnixNano()))
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t$ 1", EntityID: id, Attrs: []string{`we"ird`},
			TimeRel: "between", TimeAt: at(0), EndTimeAt: at(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || len(res.Values[`we"ird`]) != 1 {
			t.Errorf("%+v, want the one value", res)
		}
	})

	t.Run("default range", func(t *testing.T) {
		now := time.Now()
		db.Write(t, fmt.Sprintf("Generic,entity_id=recent,tenant=t1 v=1 %d\nGeneric,entity_id=recent,tenant=t1 v=2 %d\n",
			now.Add(-8*24*time.Hour).UnixNano(), now.Add(-time.Hour).UnixNano()))
		res, err := s.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: "recent"})
		if err != nil {
			t.Fatal(err)
		}
		if vs := res.Values["v"]; len(vs) != 1 || vs[0].Num != 2 {
			t.Errorf("values %+v, want only the one of an hour ago", vs)
		}
	})
}

func checkBuckets(t *testing.T, attr string, got, want map[string][]history.Bucket) {
	t.Helper()
	if g, w := keys(got), keys(want); !slices.Equal(g, w) {
		t.Errorf("%s: methods %v, want %v", attr, g, w)
	}
	for m, wb := range want {
		gb := got[m]
		if len(gb) != len(wb) {
			t.Errorf("%s %s: %d buckets, want %d:\n got %v\nwant %v", attr, m, len(gb), len(wb), gb, wb)
			continue
		}
		for i := range gb {
			if !gb[i].Start.Equal(wb[i].Start) || !gb[i].End.Equal(wb[i].End) || math.Abs(gb[i].Value-wb[i].Value) > 1e-9*math.Abs(wb[i].Value) {
				t.Errorf("%s %s[%d] = %+v, want %+v", attr, m, i, gb[i], wb[i])
			}
		}
	}
}

func TestTemporalValidation(t *testing.T) {
	// Validation needs no server: the address is never dialled.
	s, err := history.New(history.Config{URL: "http://127.0.0.1:1", Bucket: "citytwin/autogen"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		q     history.TemporalQuery
		param string
		msg   string
	}{
		{history.TemporalQuery{}, "id", "an entity id is required"},
		{history.TemporalQuery{EntityID: "e", Attrs: []string{"no2", ""}}, "attrs", "attribute names must not be empty"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "during", TimeAt: t0}, "timerel", `"during": want before, after or between`},
		{history.TemporalQuery{EntityID: "e", TimeAt: t0}, "timerel", "required with timeAt: before, after or between"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "before"}, "timeAt", "required with timerel=before"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "after", EndTimeAt: t0}, "endTimeAt", "only allowed with timerel=between"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "between", TimeAt: t0}, "endTimeAt", "required with timerel=between"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "between", TimeAt: t0, EndTimeAt: t0}, "endTimeAt", "must be after timeAt"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "between", TimeAt: t0, EndTimeAt: t0.Add(-time.Hour)}, "endTimeAt", "must be after timeAt"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "after", TimeAt: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}, "timeAt",
			"1500-01-01T00:00:00Z is outside the times InfluxDB stores (1678 to 2261)"},
		{history.TemporalQuery{EntityID: "e", TimeRel: "between", TimeAt: t0, EndTimeAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, "endTimeAt",
			"3000-01-01T00:00:00Z is outside the times InfluxDB stores (1678 to 2261)"},
		{history.TemporalQuery{EntityID: "e", LastN: -1}, "lastN", "must be a positive integer, got -1"},
		{history.TemporalQuery{EntityID: "e", AggrMethods: []string{"avg", "stddev"}}, "aggrMethods",
			`unknown method "stddev"; supported: avg, min, max, sum, totalCount`},
		{history.TemporalQuery{EntityID: "e", AggrMethods: []string{"AVG"}}, "aggrMethods",
			`unknown method "AVG"; supported: avg, min, max, sum, totalCount`},
		{history.TemporalQuery{EntityID: "e", AggrPeriod: time.Hour}, "aggrPeriodDuration", "needs aggrMethods"},
		{history.TemporalQuery{EntityID: "e", AggrMethods: []string{"avg"}, AggrPeriod: -time.Hour}, "aggrPeriodDuration", "must be positive, got -1h0m0s"},
	} {
		_, err := s.Temporal(t.Context(), c.q)
		var qe *history.QueryError
		if !errors.As(err, &qe) || !errors.Is(err, history.ErrInvalidQuery) {
			t.Errorf("%+v: error %v, want a *QueryError matching ErrInvalidQuery", c.q, err)
			continue
		}
		if qe.Param != c.param || qe.Msg != c.msg || err.Error() != c.param+": "+c.msg {
			t.Errorf("%+v: %q (param %q), want %q", c.q, err, qe.Param, c.param+": "+c.msg)
		}
	}
}

func TestNew(t *testing.T) {
	for _, cfg := range []history.Config{
		{Bucket: "b"},
		{URL: "not a url", Bucket: "b"},
		{URL: "http://127.0.0.1:8086"},
		{URL: "http://127.0.0.1:8086", Bucket: "b", Timeout: -time.Second},
	} {
		if s, err := history.New(cfg); err == nil {
			s.Close()
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestLatest(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	s := newStore(t, db)
	now := time.Now().UTC().Truncate(time.Millisecond)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	point := `{\"type\":\"Point\",\"coordinates\":[9.19,45.46]}`
	line := `{\"type\":\"LineString\",\"coordinates\":[[9.1,45.4],[9.2,45.5]]}`
	lines := []string{
		// A noise sensor: three readings, the last with an attribute named
		// like a tag (a generic "zone" text).
		fmt.Sprintf(`NoiseLevelObserved,district=d1,domain=noise,entity_id=n1,neighbourhood=nb1,road=r1,tenant=t1 LAeq=60,location="%s" %d`, point, ago(50*time.Minute).UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,district=d1,domain=noise,entity_id=n1,neighbourhood=nb1,road=r1,tenant=t1 LAeq=61,location="%s" %d`, point, ago(40*time.Minute).UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,district=d1,domain=noise,entity_id=n1,neighbourhood=nb1,road=r1,tenant=t1 LAeq=62.5,zone="quiet",result=1,table=true,location="%s" %d`, point, ago(30*time.Minute).UnixNano()),
		// The same id in another tenant.
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n1,tenant=t2 LAeq=70 %d`, ago(10*time.Minute).UnixNano()),
		// An air sensor whose links changed: its old series (co sent only
		// there), then pm10 and no2 last seen at different times.
		fmt.Sprintf(`AirQualityObserved,district=dOld,domain=air,entity_id=a1,tenant=t1 no2=5,pm10=6,co=0.5,location="%s" %d`, line, ago(45*time.Minute).UnixNano()),
		fmt.Sprintf(`AirQualityObserved,district=d2,domain=air,greenspace=g1,entity_id=a1,tenant=t1,zone=z1 no2=30,pm10=20,level="good",ok=true,location="%s" %d`, line, ago(25*time.Minute).UnixNano()),
		fmt.Sprintf(`AirQualityObserved,district=d2,domain=air,greenspace=g1,entity_id=a1,tenant=t1,zone=z1 no2=31,ok=false,level="" %d`, ago(20*time.Minute).UnixNano()),
		// Slightly ahead of the clock (within twin.MaxFutureSkew).
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n2,tenant=t1 LAeq=40 %d`, now.Add(time.Minute).UnixNano()),
		// Too old for since, and a bad stored location.
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=old,tenant=t1 LAeq=50 %d`, ago(3*time.Hour).UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n3,tenant=t1 LAeq=45,location="oops" %d`, ago(5*time.Minute).UnixNano()),
	}
	db.Write(t, strings.Join(lines, "\n")+"\n")

	var batches int
	var got []twin.Observation
	err := s.Latest(t.Context(), 2*time.Hour, func(obs []twin.Observation) error {
		batches++
		got = append(got, obs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if batches != 1 {
		t.Errorf("%d batches, want 1", batches)
	}
	num := func(name string, v float64) twin.Attr { return twin.Attr{Name: name, Kind: twin.KindNumber, Num: v} }
	str := func(name, v string) twin.Attr { return twin.Attr{Name: name, Kind: twin.KindString, Str: v} }
	boolean := func(name string, v bool) twin.Attr { return twin.Attr{Name: name, Kind: twin.KindBool, Bool: v} }
	want := map[string][]twin.Observation{
		"t1/n1": {{
			Tenant: "t1", EntityID: "n1", EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise, Time: ago(30 * time.Minute),
			TimeSource: twin.TimeObservedAt, Location: orb.Point{9.19, 45.46}, Links: geo.Links{District: "d1", Neighbourhood: "nb1", Road: "r1"},
			Attrs: []twin.Attr{num("LAeq", 62.5), num("result", 1), boolean("table", true), str("zone", "quiet")},
		}},
		"t2/n1": {{
			Tenant: "t2", EntityID: "n1", EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise, Time: ago(10 * time.Minute),
			TimeSource: twin.TimeObservedAt, Attrs: []twin.Attr{num("LAeq", 70)},
		}},
		"t1/a1": {{
			// Only what is newest: co, under the old links.
			Tenant: "t1", EntityID: "a1", EntityType: "AirQualityObserved", Domain: twin.DomainAir, Time: ago(45 * time.Minute),
			TimeSource: twin.TimeObservedAt, Links: geo.Links{District: "dOld"},
			Attrs: []twin.Attr{num("co", 0.5)},
		}, {
			Tenant: "t1", EntityID: "a1", EntityType: "AirQualityObserved", Domain: twin.DomainAir, Time: ago(25 * time.Minute),
			TimeSource: twin.TimeObservedAt, Location: orb.LineString{{9.1, 45.4}, {9.2, 45.5}},
			Links: geo.Links{District: "d2", GreenArea: "g1", IrrigationZone: "z1"},
			Attrs: []twin.Attr{num("pm10", 20)},
		}, {
			// The empty text of level reads as null in InfluxDB's CSV: left out.
			Tenant: "t1", EntityID: "a1", EntityType: "AirQualityObserved", Domain: twin.DomainAir, Time: ago(20 * time.Minute),
			TimeSource: twin.TimeObservedAt, Links: geo.Links{District: "d2", GreenArea: "g1", IrrigationZone: "z1"},
			Attrs: []twin.Attr{num("no2", 31), boolean("ok", false)},
		}},
		"t1/n2": {{
			Tenant: "t1", EntityID: "n2", EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise, Time: now.Add(time.Minute),
			TimeSource: twin.TimeObservedAt, Attrs: []twin.Attr{num("LAeq", 40)},
		}},
		"t1/n3": {{
			Tenant: "t1", EntityID: "n3", EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise, Time: ago(5 * time.Minute),
			TimeSource: twin.TimeObservedAt, Attrs: []twin.Attr{num("LAeq", 45)},
		}},
	}
	// Each entity's observations come together, in ascending time.
	byEntity := map[string][]twin.Observation{}
	var order []string
	for _, o := range got {
		k := o.Tenant + "/" + o.EntityID
		if len(order) == 0 || order[len(order)-1] != k {
			if slices.Contains(order, k) {
				t.Errorf("observations of %s are not together", k)
			}
			order = append(order, k)
		}
		byEntity[k] = append(byEntity[k], o)
	}
	if g, w := keys(byEntity), keys(want); !slices.Equal(g, w) {
		t.Errorf("entities %v, want %v", g, w)
	}
	for k, w := range want {
		g := byEntity[k]
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}

	// The live state rebuilt from them.
	st := twin.NewState(nil, twin.StateConfig{})
	for _, o := range got {
		st.Apply([]twin.Observation{o})
	}
	a1, ok := st.Sensor("t1", "a1")
	if !ok {
		t.Fatal("a1 not in the rebuilt state")
	}
	if a1.Links.District != "d2" || a1.Values["no2"].Num != 31 || a1.Values["pm10"].Num != 20 || a1.Values["ok"].Bool || a1.Values["co"].Num != 0.5 ||
		!a1.LastSeen.Equal(ago(20*time.Minute)) || !orb.Equal(a1.Location, orb.LineString{{9.1, 45.4}, {9.2, 45.5}}) {
		t.Errorf("rebuilt a1: %+v", a1)
	}

	// fn's error stops Latest and comes back as is.
	stop := errors.New("stop")
	calls := 0
	err = s.Latest(t.Context(), 2*time.Hour, func([]twin.Observation) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("Latest with a failing fn: %v after %d calls, want stop after 1", err, calls)
	}
	if err := s.Latest(t.Context(), 0, nil); err == nil {
		t.Error("Latest with since 0 accepted")
	}
}

func TestLatestBatches(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	s := newStore(t, db)
	n := 2*history.LatestBatch + 500
	db.Write(t, entities(n, time.Now().Add(-time.Minute), 1))
	var sizes []int
	seen := map[string]bool{}
	err := s.Latest(t.Context(), time.Hour, func(obs []twin.Observation) error {
		sizes = append(sizes, len(obs))
		for _, o := range obs {
			if seen[o.EntityID] || len(o.Attrs) != 3 || o.Location == nil {
				t.Errorf("observation %+v: seen before, or not 3 attributes and a location", o)
			}
			seen[o.EntityID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{history.LatestBatch, history.LatestBatch, 500}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

// entities returns line protocol for n entities of three types, each with
// three numeric fields and a location, with points readings (every 5 min up
// to last).
func entities(n int, last time.Time, points int) string {
	var b strings.Builder
	types := []string{"NoiseLevelObserved", "AirQualityObserved", "TrafficFlowObserved"}
	for p := range points {
		ts := last.Add(-time.Duration(points-1-p) * 5 * time.Minute).UnixNano()
		for i := range n {
			typ := types[i%3]
			fmt.Fprintf(&b, "%s,district=d%d,domain=x,entity_id=urn:ngsi-ld:%s:%d,neighbourhood=n%d,tenant=default a=%d,b=%d,c=%d,location=\"{\\\"type\\\":\\\"Point\\\",\\\"coordinates\\\":[9.%d,45.%d]}\" %d\n",
				typ, i%9, typ, i, i%88, i+p, i*2, p, i, p, ts)
		}
	}
	return b.String()
}

// LatestBefore answers as of a past time, for one tenant: the newest
// values at or before it, nothing after.
func TestLatestBefore(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	s := newStore(t, db)
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	db.Write(t, strings.Join([]string{
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n1,tenant=t1 LAeq=50 %d`, at.Add(-20*time.Minute).UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n1,tenant=t1 LAeq=55 %d`, at.UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n1,tenant=t1 LAeq=80 %d`, at.Add(time.Second).UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n1,tenant=t2 LAeq=60 %d`, at.Add(-time.Minute).UnixNano()),
		fmt.Sprintf(`NoiseLevelObserved,domain=noise,entity_id=n2,tenant=t1 LAeq=40 %d`, at.Add(-2*time.Hour).UnixNano()),
	}, "\n")+"\n")
	var got []twin.Observation
	if err := s.LatestBefore(t.Context(), "t1", at, time.Hour, func(obs []twin.Observation) error {
		got = append(got, obs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EntityID != "n1" || got[0].Tenant != "t1" || !got[0].Time.Equal(at) || got[0].Attrs[0].Num != 55 {
		t.Errorf("LatestBefore = %+v, want n1 of t1 at 55 dB at %v", got, at)
	}
	if err := s.LatestBefore(t.Context(), "", at, 0, func([]twin.Observation) error { return nil }); err == nil {
		t.Error("a zero window was accepted")
	}
}
