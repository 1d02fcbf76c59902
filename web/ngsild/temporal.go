package ngsild

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/twin"
)

// Temporal answers temporal queries; history.Store implements it.
type Temporal interface {
	Temporal(ctx context.Context, q history.TemporalQuery) (history.TemporalResult, error)
}

// ParseDuration parses an ISO 8601 duration of weeks, days, hours, minutes
// and seconds (P1D, PT1H, PT15M, P1DT12H, PT0.5S). Years and months are
// refused: their length varies.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) < 3 || s[0] != 'P' {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT1H or P1D", s)
	}
	var d float64
	inTime := false
	num := ""
	units := 0
	for _, c := range s[1:] {
		switch {
		case c == 'T':
			if inTime || num != "" {
				return 0, fmt.Errorf("%q: misplaced T", s)
			}
			inTime = true
		case c >= '0' && c <= '9' || c == '.' || c == ',':
			if c == ',' {
				c = '.'
			}
			num += string(c)
		default:
			if num == "" {
				return 0, fmt.Errorf("%q: %c without a number", s, c)
			}
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("%q: bad number %q", s, num)
			}
			num = ""
			units++
			switch {
			case !inTime && c == 'W':
				d += n * 7 * 24 * 3600
			case !inTime && c == 'D':
				d += n * 24 * 3600
			case inTime && c == 'H':
				d += n * 3600
			case inTime && c == 'M':
				d += n * 60
			case inTime && c == 'S':
				d += n
			case !inTime && (c == 'Y' || c == 'M'):
				return 0, fmt.Errorf("%q: years and months have no fixed length; use days (P30D)", s)
			default:
				return 0, fmt.Errorf("%q: unknown designator %c", s, c)
			}
		}
	}
	if num != "" || units == 0 {
		return 0, fmt.Errorf("%q: incomplete duration", s)
	}
	if d <= 0 || d > float64(1<<62)/1e9 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	return time.Duration(d * float64(time.Second)), nil
}

func parseTime(param, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, bad(param, "%q is not an ISO 8601 date-time such as 2026-11-22T10:00:00Z", s)
}

func parseTemporal(r *http.Request, tenant string) (history.TemporalQuery, format, bool, error) {
	vals, err := queryValues(r)
	if err != nil {
		return history.TemporalQuery{}, 0, false, err
	}
	known := []string{"attrs", "pick", "timerel", "timeAt", "endTimeAt", "timeproperty", "lastN", "aggrMethods",
		"aggrPeriodDuration", "options", "format", "lang", "local"}
	for k := range vals {
		if !slices.Contains(known, k) {
			return history.TemporalQuery{}, 0, false, bad(k, "unknown parameter; supported: %s", strings.Join(known, ", "))
		}
	}
	q := history.TemporalQuery{Tenant: tenant, EntityID: r.PathValue("id")}
	q.Attrs = attrList(vals)
	q.TimeRel = first(vals, "timerel")
	switch q.TimeRel {
	case "":
		if first(vals, "timeAt") != "" {
			return q, 0, false, bad("timerel", "required with timeAt: before, after or between")
		}
	case "before", "after", "between":
		if q.TimeAt, err = parseTime("timeAt", first(vals, "timeAt")); err != nil {
			return q, 0, false, err
		}
		if q.TimeRel == "between" {
			if q.EndTimeAt, err = parseTime("endTimeAt", first(vals, "endTimeAt")); err != nil {
				return q, 0, false, err
			}
		}
	default:
		return q, 0, false, bad("timerel", "%q: want before, after or between", q.TimeRel)
	}
	if tp := first(vals, "timeproperty"); tp != "" && tp != "observedAt" {
		return q, 0, false, bad("timeproperty", "only observedAt is stored")
	}
	if v := first(vals, "lastN"); v != "" {
		if q.LastN, err = strconv.Atoi(v); err != nil || q.LastN <= 0 {
			return q, 0, false, bad("lastN", "must be a positive integer")
		}
	}
	q.AggrMethods = splitList(first(vals, "aggrMethods"))
	if v := first(vals, "aggrPeriodDuration"); v != "" {
		if len(q.AggrMethods) == 0 {
			return q, 0, false, bad("aggrPeriodDuration", "needs aggrMethods")
		}
		if q.AggrPeriod, err = ParseDuration(v); err != nil {
			return q, 0, false, bad("aggrPeriodDuration", "%v", err)
		}
	}
	f, err := parseFormat(vals)
	if err != nil {
		return q, 0, false, err
	}
	temporalValues := slices.Contains(splitList(first(vals, "options")), "temporalValues")
	return q, f, temporalValues, nil
}

// temporal serves GET /ngsi-ld/v1/temporal/entities/{id}: the entity's
// history in the temporal representation, raw or aggregated per
// aggrPeriodDuration (all computed by InfluxDB).
func (h *Handler) temporal(w http.ResponseWriter, r *http.Request) {
	mt, ok := accept(w, r, false)
	if !ok {
		return
	}
	if h.History == nil {
		problem(w, http.StatusServiceUnavailable, errInternal, "No history", "this instance has no InfluxDB history configured")
		return
	}
	tenant := Tenant(r)
	q, f, temporalValues, err := parseTemporal(r, tenant)
	if err != nil {
		h.fail(w, err)
		return
	}
	res, err := h.History.Temporal(r.Context(), q)
	if err != nil {
		var ve *history.QueryError
		if errors.As(err, &ve) {
			h.fail(w, bad(ve.Param, "%s", ve.Msg))
			return
		}
		problem(w, http.StatusBadGateway, errInternal, "History query failed", err.Error())
		return
	}
	typ := res.EntityType
	if s, ok := h.State.Sensor(tenant, q.EntityID); ok {
		typ = s.Type
	}
	if !res.Found && typ == "" {
		problem(w, http.StatusNotFound, errNotFound, "Entity not found",
			fmt.Sprintf("no entity %q in tenant %q", q.EntityID, tenant))
		return
	}
	out := map[string]any{"id": q.EntityID, "type": typ}
	if len(q.AggrMethods) > 0 {
		for attrName, byMethod := range res.Aggregates {
			a := map[string]any{"type": "Property"}
			for method, buckets := range byMethod {
				list := make([][]any, len(buckets))
				for i, b := range buckets {
					list[i] = []any{b.Value, timeString(b.Start), timeString(b.End)}
				}
				a[method] = list
			}
			out[attrName] = a
		}
	} else {
		for attrName, values := range res.Values {
			if temporalValues || f == keyValues {
				list := make([][]any, len(values))
				for i, v := range values {
					list[i] = []any{valueOf(v), timeString(v.Time)}
				}
				out[attrName] = map[string]any{"type": "Property", "values": list}
				continue
			}
			list := make([]any, len(values))
			for i, v := range values {
				if f == concise {
					list[i] = map[string]any{"value": valueOf(v), "observedAt": timeString(v.Time)}
				} else {
					list[i] = map[string]any{"type": "Property", "value": valueOf(v), "observedAt": timeString(v.Time)}
				}
			}
			out[attrName] = list
		}
	}
	if mt == mtJSONLD {
		out["@context"] = CoreContext
	}
	write(w, mt, http.StatusOK, out)
}

func valueOf(v history.Value) any {
	switch v.Kind {
	case twin.KindNumber:
		return v.Num
	case twin.KindBool:
		return v.Bool
	}
	return v.Str
}
