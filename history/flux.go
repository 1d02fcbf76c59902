package history

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file builds the Flux programs Store sends. They use only functions
// present in the Flux 0.65 of InfluxDB 1.8.10 (from, range, filter, tail,
// keep, last, group, window, mean, min, max, sum, count, sort, unique, drop,
// yield), which InfluxDB 2.x still has. 1.8 does not accept query
// parameters (the "params" of the 2.x query API), so every user string is
// written as an escaped Flux string literal by fluxString.

// fluxString returns s as a Flux string literal. Backslash and double quote
// are escaped, '$' is written as \x24 so that no "${" ever starts an
// interpolation (Flux 0.65 accepts \$ only before '{'), control characters
// and the bytes of invalid UTF-8 are written as \xNN: the literal denotes
// exactly the bytes of s, whatever they are.
func fluxString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				writeHexByte(&b, c)
			} else {
				b.WriteString(s[i : i+w])
			}
			i += w
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '$' || c < 0x20 || c == 0x7f:
			writeHexByte(&b, c)
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('"')
	return b.String()
}

func writeHexByte(b *strings.Builder, c byte) {
	const hex = "0123456789abcdef"
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}

// fluxTime returns t as a Flux date-time literal (RFC 3339 in UTC, with
// nanoseconds when it has them).
func fluxTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// fluxDuration returns d (> 0) as a Flux duration literal in the largest unit
// that divides it exactly: 1h, 15m, 90s, 1500ms, 7ns.
func fluxDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"}}
	for _, u := range units {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// selection is what every temporal program reads: one entity's points of
// some fields in [start, stop).
type selection struct {
	bucket      string
	tenant, id  string
	fields      []string // empty: every field but location
	start, stop time.Time
}

// source writes the from |> range |> filter pipeline of sel. The tag and
// field predicates come first, as simple comparisons, so that InfluxDB
// pushes them down to its storage (series index) on 1.8 and 2.x alike.
func (sel *selection) source(b *strings.Builder) {
	fromRange(b, sel.bucket, sel.start, sel.stop)
	b.WriteString("\t|> filter(fn: (r) => r.tenant == ")
	b.WriteString(fluxString(sel.tenant))
	b.WriteString(" and r.entity_id == ")
	b.WriteString(fluxString(sel.id))
	b.WriteString(" and r._measurement != ")
	b.WriteString(fluxString(HourlyMeasurement))
	b.WriteString(")\n")
	writeFieldFilter(b, sel.fields)
	// InfluxDB 1.8 passes range's stop to its storage as an inclusive end
	// (2.x subtracts a nanosecond): drop a point at exactly stop.
	b.WriteString("\t|> filter(fn: (r) => r._time < ")
	b.WriteString(fluxTime(sel.stop))
	b.WriteString(")\n")
}

// writeFieldFilter writes a filter keeping the given fields, or every field
// but location when fields is empty.
func writeFieldFilter(b *strings.Builder, fields []string) {
	b.WriteString("\t|> filter(fn: (r) => ")
	if len(fields) == 0 {
		b.WriteString("r._field != " + fluxString(locationField))
	}
	for i, f := range fields {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString("r._field == ")
		b.WriteString(fluxString(f))
	}
	b.WriteString(")\n")
}

// rawFlux returns the program for raw values: the points of sel, or the
// last n of each series when n > 0. An entity whose links changed has
// several series per field; Store merges them and keeps the last n overall.
func rawFlux(sel *selection, n int) string {
	var b strings.Builder
	sel.source(&b)
	if n > 0 {
		b.WriteString("\t|> tail(n: ")
		b.WriteString(strconv.Itoa(n))
		b.WriteString(")\n")
	}
	b.WriteString(`	|> keep(columns: ["_time", "_value", "_field", "_measurement"])` + "\n")
	return b.String()
}

// lastFlux returns the program giving the newest point of each series of
// sel: the kinds of its fields, its entity type, and whether it has points
// at all.
func lastFlux(sel *selection) string {
	var b strings.Builder
	sel.source(&b)
	b.WriteString("\t|> last()\n")
	b.WriteString(`	|> keep(columns: ["_time", "_value", "_field", "_measurement"])` + "\n")
	return b.String()
}

// fluxFn maps an NGSI-LD aggregation method to the Flux aggregate.
var fluxFn = map[string]string{
	"avg":        "mean",
	"min":        "min",
	"max":        "max",
	"sum":        "sum",
	"totalCount": "count",
}

// aggregation is one aggregate program: the methods applying to numbers
// over the numeric fields, and totalCount over every field.
type aggregation struct {
	numeric, all []string // fields
	methods      []string // NGSI-LD names, validated
	every        time.Duration
	lastN        int
}

// aggregateFlux returns the aggregate program. Each method's tables are
// yielded under the method's NGSI-LD name, one row per bucket with the
// bucket's bounds in _start and _stop.
//
// The points are read once: every field when totalCount is asked for, the
// numeric ones otherwise; the methods for numbers take the numeric fields
// from them. The series of a field are first merged (an entity whose links
// changed has one series per link set), keeping _start and _stop in the
// group key. With a period, window(every:, createEmpty: false) cuts the
// merged table into epoch-aligned buckets clipped to the range, each its
// own table with its bounds as _start and _stop, and the aggregate reduces
// each to one row. This is aggregateWindow without its last two steps
// (copying _stop to _time and merging the buckets back into one table),
// which would lose the bucket's start. Without a period the aggregate
// reduces the whole range. With lastN the buckets of each field are merged,
// sorted and cut to the last n. It returns "" when no method applies to any
// field.
func aggregateFlux(sel *selection, a *aggregation) string {
	count, numbers := false, false
	for _, m := range a.methods {
		if m == "totalCount" {
			count = count || len(a.all) > 0
		} else {
			numbers = numbers || len(a.numeric) > 0
		}
	}
	if !count && !numbers {
		return ""
	}
	var b strings.Builder
	data := *sel
	data.fields = a.numeric
	if count {
		data.fields = a.all
	}
	b.WriteString("data = ")
	data.source(&b)
	b.WriteString("\t|> group(columns: [\"_start\", \"_stop\", \"_field\"])\n")
	if a.every > 0 {
		b.WriteString("\t|> window(every: ")
		b.WriteString(fluxDuration(a.every))
		b.WriteString(", createEmpty: false)\n")
	}
	numeric := "data"
	if numbers && count && len(a.numeric) < len(a.all) {
		numeric = "numeric"
		b.WriteString("numeric = data\n")
		writeFieldFilter(&b, a.numeric)
	}
	for _, m := range a.methods {
		in := numeric
		if m == "totalCount" {
			in = "data"
		} else if !numbers {
			continue
		}
		b.WriteString(in)
		b.WriteString("\n\t|> ")
		b.WriteString(fluxFn[m])
		b.WriteString("()\n")
		if a.lastN > 0 {
			b.WriteString("\t|> group(columns: [\"_field\"])\n\t|> sort(columns: [\"_start\"])\n\t|> tail(n: ")
			b.WriteString(strconv.Itoa(a.lastN))
			b.WriteString(")\n")
		}
		b.WriteString("\t|> yield(name: ")
		b.WriteString(fluxString(m))
		b.WriteString(")\n")
	}
	return b.String()
}

// latestFlux returns the program for Store.Latest: the newest point of each
// entity's fields in [start, stop] (InfluxDB 1.8 includes stop), one row per
// tenant, entity and field, with the tags of the series it comes from.
//
// group right after range is pushed down to the storage (ReadGroup): one
// table per measurement, field and tenant, each of one type, holding the
// points of all its series. sort and unique then keep each entity's newest
// row. This costs a few big tables where last() per series would cost one
// table per series and field: on 1.8.10 with 100,000 entities of four fields
// (400,000 series), last() alone took 30–45 s, last() with pivot and group
// 50–130 s, and one such run grew influxd past 24 GB until the kernel
// killed it; this program took 17–30 s and 1.9 GB at most. The rows come
// field by field, so Store assembles observations in memory before it
// passes them on.
func latestFlux(bucket, tenant string, start, stop time.Time) string {
	var b strings.Builder
	fromRange(&b, bucket, start, stop)
	b.WriteString("\t|> filter(fn: (r) => r._measurement != ")
	b.WriteString(fluxString(HourlyMeasurement))
	b.WriteString(")\n")
	if tenant != "" {
		b.WriteString("\t|> filter(fn: (r) => r.tenant == ")
		b.WriteString(fluxString(tenant))
		b.WriteString(")\n")
	}
	b.WriteString(`	|> group(columns: ["_measurement", "_field", "tenant"])
	|> sort(columns: ["_time"], desc: true)
	|> unique(column: "entity_id")
	|> drop(columns: ["_start", "_stop"])
`)
	return b.String()
}

// fromRange writes "from(bucket) |> range(start, stop)" and a newline.
func fromRange(b *strings.Builder, bucket string, start, stop time.Time) {
	b.WriteString("from(bucket: ")
	b.WriteString(fluxString(bucket))
	b.WriteString(")\n\t|> range(start: ")
	b.WriteString(fluxTime(start))
	b.WriteString(", stop: ")
	b.WriteString(fluxTime(stop))
	b.WriteString(")\n")
}

// interner returns a function that keeps one copy of each string seen
// (tags and names repeat on every row of an answer).
func interner() func(any) string {
	strs := make(map[string]string)
	return func(v any) string {
		s, _ := v.(string)
		if t, ok := strs[s]; ok {
			return t
		}
		strs[s] = s
		return s
	}
}
