package main

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"1970-01-01T00:00:00Z", "2025-06-01T12:00:00.123456Z", "2000-02-29T23:59:59.5Z",
		"2100-03-01T00:00:00.000001Z", "2024-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59Z",
		"2025-06-01T14:00:00+02:00",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTime([]byte(s))
		if !ok || got != want.UnixMicro() {
			t.Errorf("parseTime(%s) = %d, %v; want %d", s, got, ok, want.UnixMicro())
		}
	}
	for _, s := range []string{"", "x", "2025-06-01T12:00:00.Z", "2025-06-01T1a:00:00Z"} {
		if v, ok := parseTime([]byte(s)); ok {
			t.Errorf("parseTime(%q) = %d, accepted", s, v)
		}
	}
}
