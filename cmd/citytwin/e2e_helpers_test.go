//go:build linux

package main

// Helpers for the end-to-end tests that run the citytwin binary as a child
// process against a real Mosquitto and InfluxDB (internal/testenv).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	paho "github.com/eclipse/paho.mqtt.golang"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/sim"
)

// The citytwin binary is built once per test run, on first use, into a
// temporary directory. A package without TestMain cannot run code after its
// last test, so the directory outlives the run; each build removes the
// directories of earlier runs that are more than an hour old.
var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildOut  []byte
)

const buildDirPattern = "citytwin-e2e-"

// citytwinBinary returns the path of a freshly built citytwin binary.
func citytwinBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if old, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPattern+"*")); len(old) > 0 {
			for _, dir := range old {
				if info, err := os.Stat(dir); err == nil && info.IsDir() && time.Since(info.ModTime()) > time.Hour {
					_ = os.RemoveAll(dir)
				}
			}
		}
		var dir string
		dir, buildErr = os.MkdirTemp("", buildDirPattern)
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(dir, "citytwin")
		// The working directory of a test is its package directory.
		cmd := exec.Command("go", "build", "-o", buildBin, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build citytwin: %v\n%s", buildErr, buildOut)
	}
	return buildBin
}

// citytwinProc is one citytwin serve child process, restartable with the
// same configuration (data dir, MQTT client id, HTTP address).
type citytwinProc struct {
	t        testing.TB
	bin      string
	env      []string
	HTTPAddr string
	// MQTTURL is the broker citytwin uses: the test's Mosquitto, or its
	// embedded broker.
	MQTTURL string
	DataDir string
	logPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startCitytwin starts `citytwin serve` against mq and db with its own data
// dir and HTTP port, and waits until /readyz answers 200. With mq nil it runs
// its embedded broker on a free port. env adds KEY=value settings.
func startCitytwin(t testing.TB, mq *testenv.Mosquitto, db *testenv.InfluxDB, clientID string, env ...string) *citytwinProc {
	t.Helper()
	return startCitytwinBinary(t, citytwinBinary(t), mq, db, clientID, env...)
}

// startCitytwinBinary is startCitytwin with a given binary (e.g. the one
// built with the dashboard, citytwinUIBinary).
func startCitytwinBinary(t testing.TB, bin string, mq *testenv.Mosquitto, db *testenv.InfluxDB, clientID string, env ...string) *citytwinProc {
	t.Helper()
	dir := t.TempDir()
	p := &citytwinProc{
		t:        t,
		bin:      bin,
		HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t))),
		DataDir:  filepath.Join(dir, "data"),
		logPath:  filepath.Join(dir, "citytwin.log"),
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CITYTWIN_") {
			p.env = append(p.env, kv)
		}
	}
	if mq != nil {
		p.MQTTURL = mq.URL
		p.env = append(p.env, "CITYTWIN_MQTT_URL="+mq.URL)
	} else {
		listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
		p.MQTTURL = "tcp://" + listen
		p.env = append(p.env, "CITYTWIN_MQTT_LISTEN="+listen)
	}
	p.env = append(p.env,
		"CITYTWIN_MQTT_CLIENT_ID="+clientID,
		"CITYTWIN_INFLUX_URL="+db.URL,
		"CITYTWIN_INFLUX_TOKEN="+db.Token,
		"CITYTWIN_INFLUX_ORG="+db.Org,
		"CITYTWIN_INFLUX_BUCKET="+db.Bucket,
		"CITYTWIN_DATA_DIR="+p.DataDir,
		"CITYTWIN_HTTP_ADDR="+p.HTTPAddr,
	)
	p.env = append(p.env, env...)
	t.Cleanup(func() {
		if graceful := p.Stop(40 * time.Second); !graceful {
			t.Errorf("citytwin did not stop within 40 s of SIGTERM and was killed")
		}
		if t.Failed() {
			t.Logf("tail of %s:\n%s", p.logPath, p.LogTail(80))
		}
	})
	p.Start()
	return p
}

// Start starts the process and waits for readiness; it fails the test when
// citytwin exits or is not ready within 30 s.
func (p *citytwinProc) Start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatalf("citytwin is already running")
	}
	logFile, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "=== test: starting citytwin serve at %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = p.env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group, so that the whole group can be signalled; killed by
	// the kernel if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start citytwin: %v", err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	done := p.done
	go func() {
		p.err = cmd.Wait()
		close(done)
	}()
	p.WaitReady(30 * time.Second)
}

// WaitReady waits until /readyz answers 200.
func (p *citytwinProc) WaitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := client.Get("http://" + p.HTTPAddr + "/readyz")
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body[:n]))
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			p.t.Fatalf("citytwin exited before it was ready: %v; tail of log:\n%s", p.err, p.LogTail(40))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("citytwin not ready after %v: %s; tail of log:\n%s", timeout, last, p.LogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the process group and waits for the exit.
func (p *citytwinProc) Kill() {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.appendLog("=== test: citytwin killed with SIGKILL at %s (%v)\n", time.Now().Format(time.RFC3339Nano), p.err)
	p.cmd = nil
}

// Stop sends SIGTERM to the process group, waits up to grace, then kills it.
// It reports whether the exit was graceful.
func (p *citytwinProc) Stop(grace time.Duration) bool {
	if p.cmd == nil {
		return true
	}
	pid := p.cmd.Process.Pid
	defer func() { p.cmd = nil }()
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return true
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
		return false
	}
}

// Exited reports whether the process is not running.
func (p *citytwinProc) Exited() bool {
	if p.cmd == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *citytwinProc) appendLog(format string, args ...any) {
	f, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, format, args...)
	f.Close()
}

// LogTail returns the last n lines of citytwin's output.
func (p *citytwinProc) LogTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.logPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Metrics scrapes /metrics and returns the unlabelled samples by name.
func (p *citytwinProc) Metrics() (map[string]float64, error) {
	return scrapeMetrics(p.HTTPAddr)
}

var metricsClient = &http.Client{Timeout: 2 * time.Second}

func scrapeMetrics(addr string) (map[string]float64, error) {
	resp, err := metricsClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	out := make(map[string]float64)
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// Labelled series are keyed by their whole name: rejected_total{reason="x"}.
		i := strings.LastIndexByte(line, '}')
		if i < 0 {
			i = 0
		}
		j := strings.IndexByte(line[i:], ' ')
		if j < 0 {
			continue
		}
		name, value, ok := line[:i+j], line[i+j+1:], true
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(value)[0], 64); err == nil {
			out[name] = v
		}
	}
	return out, s.Err()
}

// Ingest metric names.
const (
	mReceived = "citytwin_ingest_messages_received_total"
	mAcked    = "citytwin_ingest_messages_acked_total"
	mStored   = "citytwin_ingest_points_stored_total"
	mSpooled  = "citytwin_ingest_points_spooled_total"
	mReplayed = "citytwin_ingest_points_replayed_total"
	mSpool    = "citytwin_ingest_spool_points"
	mWriteErr = "citytwin_ingest_write_failures_total"
)

// metricsWatch polls /metrics in the background and keeps the peak of the
// spool gauge and the last scrape. It never touches *testing.T.
type metricsWatch struct {
	mu        sync.Mutex
	peakSpool float64
	last      map[string]float64
	stop      context.CancelFunc
	done      chan struct{}
}

func watchMetrics(t *testing.T, addr string) *metricsWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &metricsWatch{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := scrapeMetrics(addr); err == nil {
				w.mu.Lock()
				w.last = m
				w.peakSpool = max(w.peakSpool, m[mSpool])
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(w.Close)
	return w
}

func (w *metricsWatch) Close() {
	w.stop()
	<-w.done
}

func (w *metricsWatch) PeakSpool() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peakSpool
}

// measurementField names, per entity type the fleet emits, a field every
// point of that type carries (sim/model.go).
var measurementField = [][2]string{
	{sim.TypeNoise, "LAeq"},
	{sim.TypeAir, "no2"},
	{sim.TypeTraffic, "intensity"},
	{sim.TypeSoil, "soilMoistureVwc"},
	{sim.TypeWeather, "temperature"},
}

// storedPoints counts the distinct points of tenant in InfluxDB (a point
// written twice, same series and timestamp, is stored once).
func storedPoints(t *testing.T, db *testenv.InfluxDB, tenant string) int64 {
	t.Helper()
	var n int64
	for _, mf := range measurementField {
		n += db.Count(t, fmt.Sprintf(`SELECT count(%q) FROM %q WHERE tenant = '%s'`, mf[1], mf[0], tenant))
	}
	return n
}

// waitStored polls InfluxDB until the tenant holds want points, or, when it
// holds more (allowed only with maxExtra > 0), until the count is stable for
// 3 s. It gives up after timeout and returns the last count.
func waitStored(t *testing.T, db *testenv.InfluxDB, tenant string, want, maxExtra int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last int64 = -1
	stableSince := time.Now()
	for {
		n := storedPoints(t, db, tenant)
		if n != last {
			last, stableSince = n, time.Now()
		}
		if n == want {
			return n
		}
		if n > want && (maxExtra == 0 || time.Since(stableSince) >= 3*time.Second) {
			return n
		}
		if time.Now().After(deadline) {
			return n
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// simLog logs the simulator's warnings (publish failures) to stderr.
func simLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// e2eFleet is a fleet of 200 v2-keyvalues sensors of one tenant.
func e2eFleet(tenant string) *sim.Fleet {
	return sim.NewFleet(sim.FleetConfig{Count: 200, Tenant: tenant, Seed: 42, Shapes: []sim.Shape{sim.ShapeV2KeyValues}})
}

// publishResult is what a background sim.Run produced.
type publishResult struct {
	stats sim.Stats
	err   error
}

// publishAsync runs sim.Run in a goroutine; the result arrives on the
// returned channel.
func publishAsync(url string, fleet *sim.Fleet, rate float64, d time.Duration) <-chan publishResult {
	ch := make(chan publishResult, 1)
	go func() {
		st, err := sim.Run(context.Background(), url, fleet, sim.RunConfig{
			Rate: rate, Duration: d, Publishers: 4, DrainTimeout: 15 * time.Second,
		}, simLog())
		ch <- publishResult{stats: st, err: err}
	}()
	return ch
}

type phasedResult struct {
	st             sim.Stats
	runs, connErrs int
}

// publishPhases publishes at faultRate from start until start+duration in
// sim.Run phases of at most phase each, so that a broker outage ends one
// phase and the next reconnects. A clock floor keeps every reading's
// (sensor, time) distinct across phases. Published counts what the broker
// acknowledged.
func publishPhases(url string, fleet *sim.Fleet, start time.Time, duration, phase time.Duration) <-chan phasedResult {
	res := make(chan phasedResult, 1)
	deadline := start.Add(duration)
	go func() {
		var r phasedResult
		floor := time.Now().UnixMilli() // Unix ms every reading of the next phase must exceed
		log := simLog()
		for {
			remaining := time.Until(deadline)
			if remaining < 250*time.Millisecond {
				break
			}
			f := floor
			clock := func() time.Time {
				if now := time.Now(); now.UnixMilli() > f {
					return now
				}
				return time.UnixMilli(f + 1)
			}
			st, err := sim.Run(context.Background(), url, fleet, sim.RunConfig{
				Rate: faultRate, Duration: min(phase, remaining), Publishers: 4, Clock: clock, DrainTimeout: 3 * time.Second,
			}, log)
			r.runs++
			r.st.Published += st.Published
			r.st.Failed += st.Failed
			floor = max(time.Now().UnixMilli(), f+1)
			if err != nil {
				r.connErrs++
				time.Sleep(250 * time.Millisecond)
			}
		}
		r.st.Elapsed = time.Since(start)
		res <- r
	}()
	return res
}

// recordingPublishers publish NoiseLevelObserved readings at QoS 1, each a
// distinct (entity, millisecond), and remember every reading the broker
// acknowledged. A lost connection ends a client; a new one reconnects.
type recordingPublishers struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked map[string]bool // "entity@unixms"
}

func startRecordingPublishers(url, tenant string, n int, until time.Time) *recordingPublishers {
	r := &recordingPublishers{acked: map[string]bool{}}
	for p := range n {
		r.wg.Go(func() {
			for session := 0; time.Now().Before(until); session++ {
				c := paho.NewClient(paho.NewClientOptions().AddBroker(url).
					SetClientID(fmt.Sprintf("rec-%s-%d-%d", tenant, p, session)).SetAutoReconnect(false))
				if tok := c.Connect(); !tok.WaitTimeout(2*time.Second) || tok.Error() != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				type sent struct {
					tok paho.Token
					key string
				}
				window := make(chan sent, 256)
				var acks sync.WaitGroup
				acks.Go(func() {
					for s := range window {
						if s.tok.WaitTimeout(5*time.Second) && s.tok.Error() == nil {
							r.mu.Lock()
							r.acked[s.key] = true
							r.mu.Unlock()
						}
					}
				})
				for i := 0; c.IsConnectionOpen() && time.Now().Before(until); i++ {
					now := time.Now().UTC().Truncate(time.Millisecond)
					id := fmt.Sprintf("urn:ngsi-ld:NoiseLevelObserved:%s-%d-%d", tenant, p, i%50)
					body := fmt.Sprintf(`{"id":%q,"type":"NoiseLevelObserved","dateObserved":%q,"LAeq":50}`, id, now.Format(time.RFC3339Nano))
					window <- sent{c.Publish("ngsi/"+tenant+"/noise/x", 1, false, body), fmt.Sprint(id, "@", now.UnixMilli())}
					time.Sleep(2 * time.Millisecond) // ~500 msg/s per publisher
				}
				close(window)
				acks.Wait()
				c.Disconnect(10)
			}
		})
	}
	return r
}

// wait returns the acknowledged readings once every publisher has ended.
func (r *recordingPublishers) wait() map[string]bool {
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked
}
