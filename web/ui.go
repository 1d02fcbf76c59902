package web

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/citytwin/citytwin/twin"
)

// UI serves the operator's live map, the single-page app built from web/ui
// (Vite, TypeScript, MapLibre GL, uPlot):
//
//	GET /                  the app (index.html)
//	GET /assets/…          its content-hashed assets, cached for a year
//	GET /{file}            the other files at the root of the build (favicon)
//	GET /api/v1/ui-config  what the app needs to start (see UIConfig)
//
// The assets are compiled into the binary only when it is built with the
// build tag ui (`make ui build`, or `cd web/ui && npm ci && npm run build`
// then `go build -tags ui`): web/ui/dist is git-ignored, and `go build ./...`
// must work on a checkout without Node.js. Without the tag, / answers a page
// saying how to build them. Assets, when set, replaces the embedded build.
//
// The app talks only to citytwin: the city's layers (/api/v1/layers), the
// alerts, the NGSI-LD temporal API for charts, /api/v1/replay and the
// WebSocket /ws. It fetches nothing from elsewhere unless TileURL is set.
// Every page carries a Content-Security-Policy that allows exactly that.
type UI struct {
	// State lists the tenants that have sensors, for the app's tenant
	// picker; nil lists none.
	State *twin.State
	// TileURL is an optional raster tile URL template ({z}, {x}, {y}) drawn
	// under the city's own cartography, e.g.
	// https://tile.openstreetmap.org/{z}/{x}/{y}.png. Empty (the default):
	// the map draws only the city's layers and sends no request outside
	// citytwin.
	TileURL string
	// TileAttribution is shown on the map with the tiles, as most tile
	// providers' terms require.
	TileAttribution string
	// RefillVWC is the soil moisture (m³/m³) at or below which the map
	// colours a soil sensor as needing water; default 0.20, as
	// twin.StateConfig.RefillVWC. Green areas and irrigation zones use
	// their own needsWater indicator, which honours per-feature thresholds.
	RefillVWC float64
	// ReplayWindow is how far before the chosen instant replay looks for
	// each sensor's newest value; default DefaultReplayWindow. It should
	// match Replay.Window.
	ReplayWindow time.Duration
	// Assets replaces the embedded build (a directory with index.html and
	// assets/, e.g. os.DirFS("web/ui/dist") while developing). Nil uses
	// the embedded build, or the instructions page without one.
	Assets fs.FS

	once   sync.Once
	files  fs.FS
	csp    string
	mu     sync.Mutex
	cached map[string]*uiFile
}

// uiFile is an asset's content with its validator and, for text, its gzip
// encoding, computed on first request.
type uiFile struct {
	body []byte
	gz   []byte
	etag string
	typ  string
}

// UIConfig is the answer of GET /api/v1/ui-config.
type UIConfig struct {
	// Tenants lists the tenants that have sensors in the live twin, the
	// one with most sensors first.
	Tenants []UITenant `json:"tenants"`
	// DefaultTenant is the tenant of requests that name none.
	DefaultTenant string `json:"defaultTenant"`
	// TileURL and TileAttribution: see UI.
	TileURL         string `json:"tileURL,omitempty"`
	TileAttribution string `json:"tileAttribution,omitempty"`
	// RefillVWC is the soil moisture refill threshold, m³/m³.
	RefillVWC float64 `json:"refillVWC"`
	// ReplayWindow is replay's look-back, as a Go duration ("1h0m0s").
	ReplayWindow string `json:"replayWindow"`
}

// UITenant is one tenant and its number of sensors.
type UITenant struct {
	Name    string `json:"name"`
	Sensors int    `json:"sensors"`
}

// Register adds the app's routes to s. The app is served at exactly / and
// under /assets/, and each other file of the build's root at its own path,
// so that every other path keeps the API's own 404 and 405 answers.
func (u *UI) Register(s *Server) {
	u.init()
	s.Handle("GET /api/v1/ui-config", http.HandlerFunc(u.config))
	if u.files == nil {
		s.Handle("GET /{$}", http.HandlerFunc(u.instructions))
		return
	}
	s.Handle("GET /{$}", http.HandlerFunc(u.serve))
	s.Handle("GET /assets/", http.HandlerFunc(u.serve))
	entries, _ := fs.ReadDir(u.files, ".")
	for _, e := range entries {
		if !e.IsDir() && e.Name() != "index.html" && validRootName(e.Name()) {
			s.Handle("GET /"+e.Name(), http.HandlerFunc(u.serve))
		}
	}
}

// validRootName reports whether a root file can be its own route pattern.
func validRootName(name string) bool {
	return !strings.ContainsAny(name, "{}$ \t") && !strings.HasPrefix(name, ".")
}

func (u *UI) init() {
	u.once.Do(func() {
		u.files = u.Assets
		if u.files == nil {
			u.files = embeddedUI()
		}
		if u.files != nil {
			if _, err := fs.Stat(u.files, "index.html"); err != nil {
				u.files = nil
			}
		}
		u.cached = make(map[string]*uiFile)
		u.csp = contentSecurityPolicy(u.TileURL)
	})
}

// wsSources is replaced, per request, by the WebSocket origins of the
// page's own host: not every browser counts them as 'self'.
const wsSources = "{ws}"

// contentSecurityPolicy allows the app's own origin (and its WebSocket),
// MapLibre's blob workers and inline styles set through the CSSOM, and the
// tile server's origin when there is one.
func contentSecurityPolicy(tileURL string) string {
	extra := ""
	if u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0", "{s}", "a").Replace(tileURL)); tileURL != "" && err == nil && u.Host != "" {
		extra = " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; " +
		"img-src 'self' data: blob:" + extra + "; connect-src 'self' " + wsSources + extra + "; " +
		"style-src 'self' 'unsafe-inline'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
}

func (u *UI) config(w http.ResponseWriter, _ *http.Request) {
	cfg := UIConfig{
		Tenants:         []UITenant{},
		DefaultTenant:   twin.DefaultTenant,
		TileURL:         u.TileURL,
		TileAttribution: u.TileAttribution,
		RefillVWC:       cmp.Or(u.RefillVWC, 0.20),
		ReplayWindow:    cmp.Or(u.ReplayWindow, DefaultReplayWindow).String(),
	}
	if u.State != nil {
		counts := map[string]int{}
		u.State.Sensors(func(s twin.Sensor) bool {
			counts[s.Tenant]++
			return true
		})
		for name, n := range counts {
			cfg.Tenants = append(cfg.Tenants, UITenant{name, n})
		}
		slices.SortFunc(cfg.Tenants, func(a, b UITenant) int {
			return cmp.Or(b.Sensors-a.Sensors, strings.Compare(a.Name, b.Name))
		})
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, "application/json", cfg)
}

func (u *UI) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	f, err := u.file(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "ui: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.typ)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if strings.HasPrefix(name, "assets/") {
		// Vite names assets by a hash of their content.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if name == "index.html" {
		ws := "ws: wss:"
		if validHost(r.Host) {
			ws = "ws://" + r.Host + " wss://" + r.Host
		}
		h.Set("Content-Security-Policy", strings.Replace(u.csp, wsSources, ws, 1))
		h.Set("Referrer-Policy", "no-referrer")
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// file returns an asset, reading and encoding it on first use. The build
// is immutable while the process runs, so the cache only grows to the
// size of the build.
func (u *UI) file(name string) (*uiFile, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if f, ok := u.cached[name]; ok {
		return f, nil
	}
	if !fs.ValidPath(name) {
		return nil, fs.ErrNotExist
	}
	if st, err := fs.Stat(u.files, name); err != nil || st.IsDir() {
		return nil, fs.ErrNotExist
	}
	body, err := fs.ReadFile(u.files, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	f := &uiFile{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	f.typ = mime.TypeByExtension(path.Ext(name))
	if f.typ == "" {
		f.typ = http.DetectContentType(body)
	}
	if compressible(f.typ) && len(body) > 1024 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if b.Len() < len(body) {
			f.gz = b.Bytes()
		}
	}
	u.cached[name] = f
	return f, nil
}

// validHost reports whether a Host header can be written into a policy.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

func compressible(typ string) bool {
	t, _, _ := strings.Cut(typ, ";")
	return strings.HasPrefix(t, "text/") || strings.HasSuffix(t, "javascript") || strings.HasSuffix(t, "json") ||
		strings.HasSuffix(t, "+xml") || t == "image/svg+xml" || t == "application/wasm"
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// instructionsPage is / in a binary built without the ui tag.
const instructionsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>citytwin — dashboard not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{background:#f3f3f3;border-radius:4px;padding:.1em .3em}pre{padding:.8em;overflow:auto}</style></head>
<body><h1>citytwin</h1>
<p>This binary was built without the live map. Its assets (web/ui) are compiled in only with the build tag <code>ui</code>:</p>
<pre>make ui build          # npm ci, npm run build, go build -tags ui
# or by hand:
cd web/ui &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd ../..
go build -tags ui -o bin/citytwin ./cmd/citytwin</pre>
<p>Node.js 20.19 or newer and npm are needed to build them; the binary then needs nothing else.</p>
<p>The APIs work without the map:</p>
<ul>
<li><a href="api/v1/layers">api/v1/layers</a> — the city's layers as GeoJSON with live indicators</li>
<li><a href="api/v1/alerts">api/v1/alerts</a> — open alerts</li>
<li><a href="ngsi-ld/v1/types">ngsi-ld/v1/types</a> — the NGSI-LD API</li>
<li><a href="readyz">readyz</a>, <a href="metrics">metrics</a></li>
</ul></body></html>
`

func (u *UI) instructions(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, instructionsPage)
}
