package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/web"
)

func TestOperationsEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var influxUp atomic.Bool
	influxUp.Store(true)
	s := web.New(web.Config{Addr: "127.0.0.1:0"}, reg, map[string]web.Check{
		"mqtt": func(context.Context) error { return nil },
		"influxdb": func(context.Context) error {
			if influxUp.Load() {
				return nil
			}
			return errors.New("connection refused")
		},
	}, nil)
	base := run(t, s)
	get := func(path string) (int, string) {
		t.Helper()
		r := request(t, http.MethodGet, base+path)
		return r.code, string(r.body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz = %d %s", code, body)
	}
	influxUp.Store(false)
	code, body := get("/readyz")
	var r struct {
		Status string
		Checks map[string]string
	}
	_ = json.Unmarshal([]byte(body), &r)
	if code != 503 || r.Checks["influxdb"] != "connection refused" || r.Checks["mqtt"] != "ok" {
		t.Errorf("/readyz with InfluxDB down = %d %s", code, body)
	}
	influxUp.Store(true)
	s.SetDraining()
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while draining = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "citytwin_test_total 3") {
		t.Errorf("/metrics = %d %s", code, body)
	}
}

// TestAPIToken: with a token, the operator APIs answer 401 without it and
// serve with it (header or query); health, metrics and the page do not ask.
func TestAPIToken(t *testing.T) {
	const token = "operator-token-0123456789"
	s := web.New(web.Config{Addr: "127.0.0.1:0", APIToken: token}, prometheus.NewRegistry(), nil, nil)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "served") })
	s.Handle("GET /api/v1/layers/district", ok)
	s.Handle("GET /ngsi-ld/v1/types", ok)
	s.Handle("GET /{$}", ok)
	base := run(t, s)
	get := func(path string, header ...string) (int, http.Header, string) {
		t.Helper()
		r := request(t, http.MethodGet, base+path, header...)
		return r.code, r.header, string(r.body)
	}
	for _, p := range []string{"/api/v1/layers/district", "/ngsi-ld/v1/types"} {
		code, h, body := get(p)
		if code != 401 || h.Get("WWW-Authenticate") != `Bearer realm="citytwin"` ||
			h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, "Authorization") {
			t.Errorf("%s without token: %d %v %s", p, code, h, body)
		}
		if code, _, _ := get(p, "Authorization", "Bearer wrong-token"); code != 401 {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if code, _, body := get(p, "Authorization", "Bearer "+token); code != 200 || body != "served" {
			t.Errorf("%s with the token: %d %s", p, code, body)
		}
		if code, _, body := get(p + "?token=" + token); code != 200 || body != "served" {
			t.Errorf("%s?token=: %d %s", p, code, body)
		}
	}
	for _, p := range []string{"/", "/healthz", "/metrics"} {
		if code, _, _ := get(p); code != 200 {
			t.Errorf("%s without token: %d, want 200", p, code)
		}
	}
}
