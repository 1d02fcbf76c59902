package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/web"
)

// serve runs a Server with the given registrations on a free port until the
// test ends and returns its base URL.
func serve(t *testing.T, register ...func(*web.Server)) string {
	t.Helper()
	s := web.New(web.Config{Addr: "127.0.0.1:0"}, prometheus.NewRegistry(), nil, nil)
	for _, r := range register {
		r(s)
	}
	return run(t, s)
}

// run runs s until the test ends (Run must then return no error) and
// returns its base URL.
func run(t *testing.T, s *web.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	for s.Addr() == "" {
		time.Sleep(time.Millisecond)
	}
	return "http://" + s.Addr()
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func request(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// The default transport would ask for gzip and decode it silently.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func TestUIServesTheBuild(t *testing.T) {
	script := strings.Repeat("console.log('citytwin');\n", 200)
	assets := fstest.MapFS{
		"index.html":               {Data: []byte(`<!doctype html><div id="map"></div><script src="./assets/index-abc123.js"></script>`)},
		"favicon.svg":              {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-abc123.js":   {Data: []byte(script)},
		"assets/worker-def456.mjs": {Data: []byte("self.onmessage=()=>{}")},
	}
	state := twin.NewState(nil, twin.StateConfig{})
	now := time.Now().UTC()
	var obs []twin.Observation
	for i, tenant := range []string{"milano", "milano", "demo", "milano", "demo", "torino"} {
		obs = append(obs, twin.Observation{Tenant: tenant, EntityID: "s" + string(rune('a'+i)), EntityType: "NoiseLevelObserved",
			Domain: twin.DomainNoise, Time: now, Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: 60}}})
	}
	state.Apply(obs)
	base := serve(t, (&web.UI{Assets: assets, State: state, TileURL: "https://tiles.example.org/{z}/{x}/{y}.png"}).Register)

	r := request(t, http.MethodGet, base+"/")
	if r.code != 200 || !bytes.Contains(r.body, []byte(`id="map"`)) || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET / = %d %q %s", r.code, r.header.Get("Cache-Control"), r.body)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "connect-src 'self' ws://" + strings.TrimPrefix(base, "http://") + " wss://" + strings.TrimPrefix(base, "http://") + " https://tiles.example.org", "img-src 'self' data: blob: https://tiles.example.org", "worker-src 'self' blob:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}

	r = request(t, http.MethodGet, base+"/assets/index-abc123.js", "Accept-Encoding", "br, gzip")
	if r.code != 200 || r.header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.header.Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET asset = %d %v", r.code, r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != script {
		t.Errorf("gzip body decodes to %d bytes, want the %d of the script", len(plain), len(script))
	}
	if r.header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary = %q", r.header.Get("Vary"))
	}
	etag := r.header.Get("ETag")
	if r := request(t, http.MethodGet, base+"/assets/index-abc123.js", "If-None-Match", etag); r.code != http.StatusNotModified {
		t.Errorf("If-None-Match %s = %d, want 304", etag, r.code)
	}
	if r := request(t, http.MethodGet, base+"/assets/index-abc123.js"); r.header.Get("Content-Encoding") != "" || string(r.body) != script {
		t.Errorf("without Accept-Encoding: %v, %d bytes", r.header, len(r.body))
	}
	if r := request(t, http.MethodGet, base+"/assets/worker-def456.mjs"); r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("module worker = %d %q, want JavaScript", r.code, r.header.Get("Content-Type"))
	}
	if r := request(t, http.MethodGet, base+"/favicon.svg"); r.code != 200 || r.header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon = %d %q", r.code, r.header.Get("Content-Type"))
	}
	for _, path := range []string{"/assets/missing.js", "/assets/", "/nothing", "/index.html.bak"} {
		if r := request(t, http.MethodGet, base+path); r.code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.code)
		}
	}
	// The app claims / and its files only: other routes keep their answers.
	if r := request(t, http.MethodPost, base+"/healthz"); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", r.code)
	}

	r = request(t, http.MethodGet, base+"/api/v1/ui-config")
	var cfg web.UIConfig
	if err := json.Unmarshal(r.body, &cfg); err != nil || r.code != 200 {
		t.Fatalf("ui-config = %d %s: %v", r.code, r.body, err)
	}
	want := []web.UITenant{{"milano", 3}, {"demo", 2}, {"torino", 1}}
	if len(cfg.Tenants) != 3 || cfg.Tenants[0] != want[0] || cfg.Tenants[1] != want[1] || cfg.Tenants[2] != want[2] {
		t.Errorf("tenants %v, want %v", cfg.Tenants, want)
	}
	if cfg.RefillVWC != 0.20 || cfg.DefaultTenant != twin.DefaultTenant || cfg.ReplayWindow != "1h0m0s" || cfg.TileURL == "" {
		t.Errorf("ui-config %+v", cfg)
	}
}

func TestUIWithoutBuildSaysHowToBuild(t *testing.T) {
	base := serve(t, (&web.UI{Assets: fstest.MapFS{}}).Register)
	r := request(t, http.MethodGet, base+"/")
	if r.code != 200 || !bytes.Contains(r.body, []byte("go build -tags ui")) || !bytes.Contains(r.body, []byte("make ui")) {
		t.Fatalf("GET / = %d %s", r.code, r.body)
	}
	if r := request(t, http.MethodGet, base+"/assets/index.js"); r.code != http.StatusNotFound {
		t.Errorf("an asset without a build = %d", r.code)
	}
	if r := request(t, http.MethodGet, base+"/api/v1/ui-config"); r.code != 200 || !bytes.Contains(r.body, []byte(`"tenants":[]`)) {
		t.Errorf("ui-config without a state = %d %s", r.code, r.body)
	}
}
