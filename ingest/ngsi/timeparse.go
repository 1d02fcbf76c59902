package ngsi

import (
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// parseTimeValue reads a time from a JSON string, or from a JSON-LD value
// object {"@type": "DateTime", "@value": "…"}. With interval set, an ISO 8601
// interval "start/end" yields its end.
func parseTimeValue(v *fastjson.Value, interval bool) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	if v.Type() == fastjson.TypeObject {
		v = v.Get("@value")
	}
	b, ok := str(v)
	if !ok {
		return time.Time{}, false
	}
	s := string(b) // a copy: parser memory must not reach the results
	if interval {
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			s = s[i+1:]
		}
	}
	return parseTime(s)
}

// parseTime accepts RFC 3339 date-times with or without fractional seconds,
// and without a zone (then UTC, as NGSI-v2 DateTime and the Smart Data Models
// examples use it). The result is in UTC.
func parseTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05") || (s[10] != 'T' && s[10] != 't') {
		return time.Time{}, false
	}
	layout := "2006-01-02T15:04:05"
	if strings.ContainsAny(s[19:], "Zz+-") {
		layout = time.RFC3339
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
