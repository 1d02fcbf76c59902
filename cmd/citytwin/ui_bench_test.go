//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/web"
)

// The load of BenchmarkDashboardFrameTime: the fleet publishes this many
// readings per second in total, whatever its size, so that the two sizes
// differ only in the number of sensors on the map.
const (
	frameBenchRate    = 2000
	frameBenchSeconds = 20
)

// frameTime is the JSON line web/ui/tests/frametime.mjs prints.
type frameTime struct {
	Frames        int     `json:"frames"`
	DurationS     float64 `json:"durationS"`
	FPS           float64 `json:"fps"`
	P50Ms         float64 `json:"p50Ms"`
	P95Ms         float64 `json:"p95Ms"`
	P99Ms         float64 `json:"p99Ms"`
	MaxMs         float64 `json:"maxMs"`
	LongTasks     int     `json:"longTasks"`
	LongTaskMs    float64 `json:"longTaskMs"`
	SensorsShown  int     `json:"sensorsShown"`
	Deltas        int     `json:"deltas"`
	SensorUpdates int     `json:"sensorUpdates"`
}

// BenchmarkDashboardFrameTime measures the browser frame time of one
// dashboard client while updates flow: citytwin built with the map (-tags
// ui, its embedded broker) and a real InfluxDB, `citytwin simulate` with
// 2,000 (the baseline) or 20,000 sensors publishing 2,000 readings/s, and
// web/ui/tests/frametime.mjs in Chromium (SwiftShader WebGL, no GPU), which
// records requestAnimationFrame intervals for 20 s per iteration. Run it
// with -benchtime 1x: each iteration takes the measurement's 20 s.
//
// The figures are reported as metrics (frame-p50-ms, frame-p99-ms, fps, …);
// ns/op is the wall time of one frametime.mjs run and means little. The
// screenshot goes to $CITYTWIN_ARTIFACTS/frametime when that is set.
//
// CITYTWIN_BENCH_BASELINE_UI=/path/to/dist also measures another build of
// web/ui (say, the previous commit's dist) against the same citytwin, fleet
// and browser, in the same sitting: each iteration runs it first, then the
// embedded build, and its figures are reported as base-frame-p50-ms, ….
// A proxy of the test serves it and forwards the APIs and the stream.
// CITYTWIN_PROFILE and CITYTWIN_TRACE reach frametime.mjs from the
// environment.
func BenchmarkDashboardFrameTime(b *testing.B) {
	root := testenv.RepoRoot(b)
	uiDir := filepath.Join(root, "web", "ui")
	node, err := exec.LookPath("node")
	if err != nil {
		b.Skip("node not found: the frame-time benchmark needs Node.js 20.19+ (apt-get install nodejs npm, then make ui)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			b.Skip("chromium not found: the frame-time benchmark needs Debian's chromium package (apt-get install chromium), or CHROMIUM=/path/to/chrome")
		}
	}
	for _, need := range []string{"node_modules/playwright-core/package.json", "dist/index.html"} {
		if _, err := os.Stat(filepath.Join(uiDir, need)); err != nil {
			b.Skipf("web/ui/%s is missing: build the dashboard first (make ui)", need)
		}
	}
	var artifacts string
	if dir := os.Getenv("CITYTWIN_ARTIFACTS"); dir != "" {
		artifacts = filepath.Join(dir, "frametime")
	}
	for _, sensors := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("sensors=%d", sensors), func(b *testing.B) {
			b.StopTimer()
			var runs []frameTime
			db := testenv.StartInfluxDB(b)
			bin := citytwinUIBinary(b)
			ct := startCitytwinBinary(b, bin, nil, db, "citytwin-ui-bench")
			base := "http://" + ct.HTTPAddr + "/"
			requireDashboard(b, base, "")
			startSimulate(b, bin, ct.MQTTURL, sensors, frameBenchRate)
			waitTwinSensors(b, base, "demo", sensors, 3*time.Minute)
			env := func(url, artifacts string) []string {
				return []string{
					"CITYTWIN_URL=" + url,
					"CITYTWIN_TENANT=demo",
					"CITYTWIN_SENSORS=" + strconv.Itoa(sensors),
					"CITYTWIN_DURATION=" + strconv.Itoa(frameBenchSeconds),
					"CITYTWIN_ARTIFACTS=" + artifacts,
					"CHROMIUM=" + chromium,
				}
			}
			var baseURL string
			var baseRuns []frameTime
			if dir := os.Getenv("CITYTWIN_BENCH_BASELINE_UI"); dir != "" {
				baseURL = serveBaselineUI(b, dir, ct.HTTPAddr)
			}
			for range b.N {
				if baseURL != "" {
					baseArtifacts := ""
					if artifacts != "" {
						baseArtifacts = filepath.Join(artifacts, "baseline")
					}
					baseRuns = append(baseRuns, runFrameTime(b, node, uiDir, env(baseURL, baseArtifacts)))
				}
				b.StartTimer()
				ft := runFrameTime(b, node, uiDir, env(base, artifacts))
				b.StopTimer()
				runs = append(runs, ft)
			}
			if len(baseRuns) > 0 {
				reportFrameTimes(b, "base-", baseRuns)
			}
			reportFrameTimes(b, "", runs)
		})
	}
}

// reportFrameTimes reports the mean figures of runs as metrics named with prefix.
func reportFrameTimes(b *testing.B, prefix string, runs []frameTime) {
	var sum frameTime
	for _, r := range runs {
		sum.P50Ms += r.P50Ms
		sum.P95Ms += r.P95Ms
		sum.P99Ms += r.P99Ms
		sum.MaxMs = max(sum.MaxMs, r.MaxMs)
		sum.FPS += r.FPS
		sum.LongTaskMs += r.LongTaskMs
		sum.DurationS += r.DurationS
		sum.Deltas += r.Deltas
		sum.SensorUpdates += r.SensorUpdates
	}
	n := float64(len(runs))
	b.ReportMetric(sum.P50Ms/n, prefix+"frame-p50-ms")
	b.ReportMetric(sum.P95Ms/n, prefix+"frame-p95-ms")
	b.ReportMetric(sum.P99Ms/n, prefix+"frame-p99-ms")
	b.ReportMetric(sum.MaxMs, prefix+"frame-max-ms")
	b.ReportMetric(sum.FPS/n, prefix+"fps")
	b.ReportMetric(sum.LongTaskMs/sum.DurationS/10, prefix+"longtask-%")
	b.ReportMetric(float64(sum.Deltas)/sum.DurationS, prefix+"deltas/s")
	b.ReportMetric(float64(sum.SensorUpdates)/sum.DurationS, prefix+"updates/s")
	b.ReportMetric(float64(runs[len(runs)-1].SensorsShown), prefix+"sensors-shown")
}

// serveBaselineUI serves the web/ui build in dir on a loopback port until
// the benchmark ends, forwarding /api/, /ngsi-ld/ and /ws (the stream) to
// the citytwin at addr, and returns its URL. The proxy keeps the page's
// Host, so that the stream's origin check sees the page's own origin.
func serveBaselineUI(t testing.TB, dir, addr string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Fatalf("CITYTWIN_BENCH_BASELINE_UI: %v (want a build of web/ui: index.html and assets/)", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	files := http.FileServer(http.Dir(dir))
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/ngsi-ld/", "/ws"} {
		mux.Handle(p, proxy)
	}
	mux.Handle("/", files)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Logf("baseline UI %s at http://%s/", dir, ln.Addr())
	return "http://" + ln.Addr().String() + "/"
}

// startSimulate runs `citytwin simulate` with count sensors of tenant demo
// at rate readings/s until the test ends, then interrupts it.
func startSimulate(t testing.TB, bin, mqttURL string, count int, rate float64) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "simulate.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "simulate",
		"-sim-mqtt-url", mqttURL,
		"-sim-sensors", strconv.Itoa(count),
		"-sim-rate", strconv.FormatFloat(rate, 'f', -1, 64),
		"-sim-publishers", "2",
		"-sim-seed", "7",
		"-log-level", "warn",
	)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CITYTWIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start citytwin simulate: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("citytwin simulate: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("citytwin simulate did not stop within 20 s of SIGINT and was killed")
		}
		out.Close()
		if b, err := os.ReadFile(logPath); err == nil {
			t.Logf("citytwin simulate:\n%s", strings.TrimSpace(string(b)))
		}
	})
}

// waitTwinSensors waits until the live twin holds want sensors of tenant, as
// /api/v1/ui-config counts them.
func waitTwinSensors(t testing.TB, base, tenant string, want int, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	have := 0
	for time.Since(start) < timeout {
		var cfg web.UIConfig
		resp, err := http.Get(base + "api/v1/ui-config")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&cfg)
			resp.Body.Close()
		}
		if err != nil {
			t.Fatalf("GET /api/v1/ui-config: %v", err)
		}
		for _, tn := range cfg.Tenants {
			if tn.Name == tenant {
				have = tn.Sensors
			}
		}
		if have >= want {
			t.Logf("the twin holds %d sensors of %s after %s", have, tenant, time.Since(start).Round(time.Second))
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("the twin holds %d of %d sensors of %s after %s", have, want, tenant, timeout)
}

// runFrameTime runs web/ui/tests/frametime.mjs once, logs its progress
// lines and returns its JSON line.
func runFrameTime(t testing.TB, node, uiDir string, env []string) frameTime {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "tests/frametime.mjs")
	cmd.Dir = uiDir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node tests/frametime.mjs: %v", err)
	}
	var ft frameTime
	var got bool
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.Log(line)
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &ft) == nil {
			got = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("web/ui/tests/frametime.mjs: %v (see the lines above)", err)
	}
	if !got {
		t.Fatal("web/ui/tests/frametime.mjs printed no result line")
	}
	return ft
}
