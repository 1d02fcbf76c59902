//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/sim"
)

// TestDashboard drives the live map in real Chromium (Debian's package)
// with playwright-core: web/ui/tests/run.mjs, against citytwin built with
// the map (-tags ui), its embedded broker, a real InfluxDB and a simulated
// fleet. The script publishes its own readings over MQTT and checks that the
// map loads cleanly, recolours a sensor, opens its panel and chart, lists
// and zooms to an alert, and replays an earlier value, on a desktop and a
// phone viewport.
//
// Screenshots and result.json go to $CITYTWIN_ARTIFACTS/dashboard when
// CITYTWIN_ARTIFACTS is set (make test sets it to .artifacts), else to the
// test's temporary directory. It needs Node.js, Chromium, web/ui/node_modules
// and web/ui/dist (make ui); without them it skips, or fails when CI is set.
func TestDashboard(t *testing.T) {
	root := testenv.RepoRoot(t)
	uiDir := filepath.Join(root, "web", "ui")
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node not found: the dashboard test needs Node.js 20.19+ (apt-get install nodejs npm, then make ui)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			testenv.Unavailable(t, "chromium not found: the dashboard test needs Debian's chromium package (apt-get install chromium), or CHROMIUM=/path/to/chrome")
		}
	}
	for _, need := range []string{"node_modules/playwright-core/package.json", "node_modules/mqtt/package.json", "dist/index.html"} {
		if _, err := os.Stat(filepath.Join(uiDir, need)); err != nil {
			testenv.Unavailable(t, "web/ui/%s is missing: build the dashboard first (make ui, or cd web/ui && npm ci && npm run build)", need)
		}
	}
	artifacts := t.TempDir()
	if dir := os.Getenv("CITYTWIN_ARTIFACTS"); dir != "" {
		artifacts = filepath.Join(dir, "dashboard")
		if err := os.RemoveAll(artifacts); err != nil {
			t.Fatal(err)
		}
	}

	// With an operator token: every request of the page must carry it (the
	// script fails on any failed request), and the APIs refuse requests
	// without it.
	const token = "dashboard-test-token-0123456789"
	db := testenv.StartInfluxDB(t)
	ct := startCitytwinBinary(t, citytwinUIBinary(t), nil, db, "citytwin-ui", "CITYTWIN_API_TOKEN="+token)
	base := "http://" + ct.HTTPAddr + "/"
	requireDashboard(t, base, token)
	for _, p := range []string{"api/v1/ui-config", "api/v1/layers/district", "ngsi-ld/v1/types"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /%s without the token = %d, want 401", p, resp.StatusCode)
		}
	}

	// A fleet on the demo city, as `make run` has, so that the map is busy.
	city, err := loadCity("", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	fleet := sim.NewFleet(sim.FleetConfig{Count: 120, Tenant: "demo", Seed: 7, City: city})
	wg.Go(func() {
		_, err := sim.Run(ctx, ct.MQTTURL, fleet, sim.RunConfig{Rate: 30, Publishers: 1, DrainTimeout: 2 * time.Second}, simLog())
		if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			t.Errorf("simulated fleet: %v", err)
		}
	})

	run, stop := context.WithTimeout(ctx, 10*time.Minute)
	defer stop()
	cmd := exec.CommandContext(run, node, "tests/run.mjs")
	cmd.Dir = uiDir
	cmd.Env = append(os.Environ(),
		"CITYTWIN_URL="+base,
		"CITYTWIN_MQTT_URL="+ct.MQTTURL,
		"CITYTWIN_TENANT=demo",
		"CITYTWIN_TOKEN="+token,
		"CITYTWIN_ARTIFACTS="+artifacts,
		"CHROMIUM="+chromium,
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node tests/run.mjs: %v", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	err = cmd.Wait()
	t.Logf("screenshots and result.json: %s", artifacts)
	if err != nil {
		t.Errorf("web/ui/tests/run.mjs: %v (see the lines above and %s)", err, filepath.Join(artifacts, "result.json"))
	}
}

// requireDashboard fails with the wiring citytwin serve needs when the map,
// its stream or replay are not served; token is citytwin's -api-token ("":
// none).
func requireDashboard(t testing.TB, base, token string) {
	t.Helper()
	get := func(path string, header ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b)
	}
	if code, body := get(""); code != http.StatusOK || !strings.Contains(body, `id="map"`) {
		t.Fatalf("GET / = %d: citytwin does not serve the map; serve.go needs (&web.UI{State: state}).Register(srv) and the binary -tags ui", code)
	}
	// A WebSocket handshake without the upgrade headers: the hub answers
	// 400, a missing route 404.
	if code, _ := get("ws"); code == http.StatusNotFound {
		t.Fatalf("GET /ws = 404: the stream hub is not mounted; serve.go needs srv.Handle(\"GET /ws\", hub)")
	}
	if code, _ := get("api/v1/replay?at=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)); code == http.StatusNotFound {
		t.Fatalf("GET /api/v1/replay = 404: serve.go needs (&web.Replay{…}).Register(srv)")
	}
}

// The dashboard binary is citytwin built with -tags ui, once per test run,
// beside the plain one of citytwinBinary.
var (
	uiBuildOnce sync.Once
	uiBin       string
	uiBuildErr  error
	uiBuildOut  []byte
)

func citytwinUIBinary(t testing.TB) string {
	t.Helper()
	uiBuildOnce.Do(func() {
		var dir string
		if dir, uiBuildErr = os.MkdirTemp("", buildDirPattern); uiBuildErr != nil {
			return
		}
		uiBin = filepath.Join(dir, "citytwin")
		uiBuildOut, uiBuildErr = exec.Command("go", "build", "-tags", "ui", "-o", uiBin, ".").CombinedOutput()
	})
	if uiBuildErr != nil {
		t.Fatalf("go build -tags ui citytwin: %v\n%s", uiBuildErr, uiBuildOut)
	}
	return uiBin
}
