package history

import (
	"strings"
	"testing"
	"time"
)

func TestFluxString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, `""`},
		{`urn:ngsi-ld:AirQualityObserved:1`, `"urn:ngsi-ld:AirQualityObserved:1"`},
		{`a") |> drop(columns: ["_value"]) |> yield(name: "x`, `"a\") |> drop(columns: [\"_value\"]) |> yield(name: \"x"`},
		{`back\slash`, `"back\\slash"`},
		{`${now()}`, `"\x24{now()}"`},
		{`price $5`, `"price \x245"`},
		{"line\nbreak\ttab\rret", `"line\nbreak\ttab\rret"`},
		{"nul\x00bell\x07del\x7f", `"nul\x00bell\x07del\x7f"`},
		{"café µg/m³", `"café µg/m³"`},
		{"bad\xffutf8\xc3", `"bad\xffutf8\xc3"`},
	} {
		if got := fluxString(c.in); got != c.want {
			t.Errorf("fluxString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestFluxDuration(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{time.Hour, "1h"},
		{24 * time.Hour, "24h"},
		{15 * time.Minute, "15m"},
		{90 * time.Second, "90s"},
		{1500 * time.Millisecond, "1500ms"},
		{time.Microsecond, "1us"},
		{7, "7ns"},
	} {
		if got := fluxDuration(c.in); got != c.want {
			t.Errorf("fluxDuration(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

var (
	day  = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	sel1 = selection{
		bucket: "citytwin/autogen", tenant: "t1", id: "urn:ngsi-ld:AirQualityObserved:aq1",
		fields: []string{"no2", "pm10"}, start: day, stop: day.Add(24 * time.Hour),
	}
)

func TestRawFlux(t *testing.T) {
	want := `from(bucket: "citytwin/autogen")
	|> range(start: 2026-01-10T00:00:00Z, stop: 2026-01-11T00:00:00Z)
	|> filter(fn: (r) => r.tenant == "t1" and r.entity_id == "urn:ngsi-ld:AirQualityObserved:aq1" and r._measurement != "citytwin_hourly")
	|> filter(fn: (r) => r._field == "no2" or r._field == "pm10")
	|> filter(fn: (r) => r._time < 2026-01-11T00:00:00Z)
	|> tail(n: 5)
	|> keep(columns: ["_time", "_value", "_field", "_measurement"])
`
	if got := rawFlux(&sel1, 5); got != want {
		t.Errorf("rawFlux:\n%s\nwant:\n%s", got, want)
	}
	all := sel1
	all.fields = nil
	if got := rawFlux(&all, 0); !strings.Contains(got, `filter(fn: (r) => r._field != "location")`) || strings.Contains(got, "tail") {
		t.Errorf("rawFlux without attrs or lastN:\n%s", got)
	}
}

func TestAggregateFlux(t *testing.T) {
	a := &aggregation{numeric: []string{"no2"}, all: []string{"airQualityLevel", "no2"},
		methods: []string{"avg", "totalCount"}, every: time.Hour}
	want := `data = from(bucket: "citytwin/autogen")
	|> range(start: 2026-01-10T00:00:00Z, stop: 2026-01-11T00:00:00Z)
	|> filter(fn: (r) => r.tenant == "t1" and r.entity_id == "urn:ngsi-ld:AirQualityObserved:aq1" and r._measurement != "citytwin_hourly")
	|> filter(fn: (r) => r._field == "airQualityLevel" or r._field == "no2")
	|> filter(fn: (r) => r._time < 2026-01-11T00:00:00Z)
	|> group(columns: ["_start", "_stop", "_field"])
	|> window(every: 1h, createEmpty: false)
numeric = data
	|> filter(fn: (r) => r._field == "no2")
numeric
	|> mean()
	|> yield(name: "avg")
data
	|> count()
	|> yield(name: "totalCount")
`
	if got := aggregateFlux(&sel1, a); got != want {
		t.Errorf("aggregateFlux:\n%s\nwant:\n%s", got, want)
	}

	// Only numeric fields: no second filter.
	if got := aggregateFlux(&sel1, &aggregation{numeric: []string{"no2"}, all: []string{"no2"},
		methods: []string{"max", "totalCount"}}); strings.Contains(got, "numeric =") || !strings.Contains(got, "data\n\t|> max()") {
		t.Errorf("aggregateFlux over numbers only:\n%s", got)
	}

	// Only methods for numbers, no numeric field: nothing to ask.
	if got := aggregateFlux(&sel1, &aggregation{all: []string{"airQualityLevel"}, methods: []string{"avg", "max"}}); got != "" {
		t.Errorf("aggregateFlux without numeric fields = %q, want empty", got)
	}

	// Whole range, last 2 buckets.
	got := aggregateFlux(&sel1, &aggregation{numeric: []string{"no2"}, all: []string{"no2"}, methods: []string{"max"}, lastN: 2})
	if strings.Contains(got, "window(") || strings.Contains(got, "numeric =") ||
		!strings.Contains(got, "\t|> max()\n\t|> group(columns: [\"_field\"])\n\t|> sort(columns: [\"_start\"])\n\t|> tail(n: 2)\n\t|> yield(name: \"max\")\n") {
		t.Errorf("aggregateFlux whole range with lastN:\n%s", got)
	}
}

func TestLatestFlux(t *testing.T) {
	want := `from(bucket: "citytwin/autogen")
	|> range(start: 2026-01-10T00:00:00Z, stop: 2026-01-10T01:05:00.5Z)
	|> filter(fn: (r) => r._measurement != "citytwin_hourly")
	|> group(columns: ["_measurement", "_field", "tenant"])
	|> sort(columns: ["_time"], desc: true)
	|> unique(column: "entity_id")
	|> drop(columns: ["_start", "_stop"])
`
	if got := latestFlux("citytwin/autogen", "", day, day.Add(65*time.Minute+500*time.Millisecond)); got != want {
		t.Errorf("latestFlux:\n%s\nwant:\n%s", got, want)
	}
	withTenant := strings.Replace(want, "\t|> group", "\t|> filter(fn: (r) => r.tenant == \"t\\\"1\")\n\t|> group", 1)
	if got := latestFlux("citytwin/autogen", `t"1`, day, day.Add(65*time.Minute+500*time.Millisecond)); got != withTenant {
		t.Errorf("latestFlux with a tenant:\n%s\nwant:\n%s", got, withTenant)
	}
}

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`{"type":"Point","coordinates":[9.19,45.46]}`, true},
		{`{"type":"LineString","coordinates":[[9.1,45.4],[9.2,45.5]]}`, true},
		{`{"type":"Point","coordinates":[9.19]}`, false},
		{`{"type":"Point","coordinates":[200,45]}`, false},
		{`{"type":"LineString","coordinates":[[9.1,45.4]]}`, false},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, false},
		{`null`, false},
		{`not json`, false},
		{``, false},
	} {
		if got := parseLocation(c.in); (got != nil) != c.ok {
			t.Errorf("parseLocation(%s) = %v, want ok=%v", c.in, got, c.ok)
		}
	}
}
