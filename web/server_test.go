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
	"time"

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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for s.Addr() == "" {
		time.Sleep(time.Millisecond)
	}
	base := "http://" + s.Addr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
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
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for s.Addr() == "" {
		time.Sleep(time.Millisecond)
	}
	get := func(path, auth string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+s.Addr()+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, p := range []string{"/api/v1/layers/district", "/ngsi-ld/v1/types"} {
		code, h, body := get(p, "")
		if code != 401 || h.Get("WWW-Authenticate") != `Bearer realm="citytwin"` ||
			h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, "Authorization") {
			t.Errorf("%s without token: %d %v %s", p, code, h, body)
		}
		if code, _, _ := get(p, "Bearer wrong-token"); code != 401 {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if code, _, body := get(p, "Bearer "+token); code != 200 || body != "served" {
			t.Errorf("%s with the token: %d %s", p, code, body)
		}
		if code, _, body := get(p+"?token="+token, ""); code != 200 || body != "served" {
			t.Errorf("%s?token=: %d %s", p, code, body)
		}
	}
	for _, p := range []string{"/", "/healthz", "/metrics"} {
		if code, _, _ := get(p, ""); code != 200 {
			t.Errorf("%s without token: %d, want 200", p, code)
		}
	}
}
