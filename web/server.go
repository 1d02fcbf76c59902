package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/citytwin/citytwin/internal/bearer"
)

// Check reports whether a dependency is usable; nil means ready.
type Check func(ctx context.Context) error

// Config configures the HTTP server.
type Config struct {
	// Addr to listen on; default 127.0.0.1:8080.
	Addr string
	// ShutdownTimeout bounds the graceful shutdown; default 10 s.
	ShutdownTimeout time.Duration
	// Pprof serves Go's profiler under /debug/pprof/ (off by default: it
	// exposes internals and costs CPU while profiling).
	Pprof bool
	// APIToken, when set, is required on the operator APIs — every path
	// under /api/ and /ngsi-ld/ — as "Authorization: Bearer <token>" (or
	// ?token=, for links a browser opens such as exports); other requests
	// get 401. The dashboard's page and assets, /healthz, /readyz,
	// /metrics and the provisioning API (its own tokens) stay as they are.
	APIToken string
}

// Server is citytwin's HTTP server.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	checks   map[string]Check
	log      *slog.Logger
	draining atomic.Bool
	addr     atomic.Value // string, once listening
}

// New builds the server with the operations endpoints. gatherer serves
// /metrics; checks are the readiness checks by name.
func New(cfg Config, gatherer prometheus.Gatherer, checks map[string]Check, log *slog.Logger) *Server {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), checks: checks, log: log.With("component", "web")}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	if cfg.Pprof {
		s.mux.HandleFunc("/debug/pprof/", pprof.Index)
		s.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		s.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		s.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		s.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return s
}

// Handle registers a handler, for the APIs of other components.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// SetDraining makes /readyz answer 503: the first step of shutdown.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Addr returns the address the server listens on, once Run has started.
func (s *Server) Addr() string {
	a, _ := s.addr.Load().(string)
	return a
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res := readiness{Status: "ready", Checks: make(map[string]string, len(s.checks))}
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.checks[name](ctx); err != nil {
			res.Status = "not ready"
			res.Checks[name] = err.Error()
		} else {
			res.Checks[name] = "ok"
		}
	}
	if s.draining.Load() {
		res.Status = "shutting down"
	}
	w.Header().Set("Content-Type", "application/json")
	if res.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(res)
}

// Run listens and serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w", s.cfg.Addr, err)
	}
	s.addr.Store(ln.Addr().String())
	var h http.Handler = s.mux
	if s.cfg.APIToken != "" {
		h = requireToken(s.cfg.APIToken, h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("http listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// requireToken answers 401 to requests under /api/ and /ngsi-ld/ that do not
// carry token.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/ngsi-ld/") {
			if !bearer.Matches(r, token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="citytwin"`)
				problem(w, http.StatusUnauthorized, "Unauthorized",
					"Authorization: a valid bearer token is required (Authorization: Bearer <token>, or ?token=<token>)")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
