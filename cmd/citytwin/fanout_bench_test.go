//go:build linux

package main

// The live map's fan-out at city scale, measured through the real path:
// MQTT publishers (QoS 1, one reading per message, each stamped with its
// publish time in µs; leanPublisher, or paho's client with -fanout.paho) →
// Mosquitto → `citytwin serve` (real InfluxDB) →
// /ws → WebSocket clients in a separate process (wsload,
// stream/streamtest/cmd/wsload), which measure publish → receipt latency.
// The server's CPU (user+sys from /proc/PID/stat over the publishing time)
// and RSS are read from /proc. Each configuration runs once per mode per
// round, the modes side by side in the same round: "partial" (deltas carry
// only what changed, the default) and "full" (-ws-full-deltas, the former
// protocol), so that the ratio is measured under the same machine load.
//
//	go test ./cmd/citytwin -run TestFanout -fanout -v -timeout 60m \
//	    [-fanout.clients 100,300,1000 -fanout.rate 10000 -fanout.sensors 5000 \
//	     -fanout.duration 20s -fanout.rounds 3 -fanout.modes partial,full \
//	     -fanout.flush 100ms -fanout.compression=true -fanout.json out.json -fanout.profile DIR]

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/bench"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/sim"
)

var (
	fanout            = flag.Bool("fanout", false, "run TestFanout: the /ws fan-out benchmark through the real path")
	fanoutClients     = flag.String("fanout.clients", "100,300,1000", "TestFanout: WebSocket client counts, comma-separated")
	fanoutRate        = flag.Float64("fanout.rate", 10000, "TestFanout: readings per second in total (one reading per MQTT message)")
	fanoutSensors     = flag.Int("fanout.sensors", 5000, "TestFanout: noise, air and traffic sensors publishing")
	fanoutPublishers  = flag.Int("fanout.publishers", 4, "TestFanout: publishing MQTT connections (QoS 1)")
	fanoutPaho        = flag.Bool("fanout.paho", false, "TestFanout: publish with paho's client (one write per message, ~4× the CPU) instead of the lean publisher")
	fanoutDuration    = flag.Duration("fanout.duration", 20*time.Second, "TestFanout: publishing and measuring time of each run")
	fanoutRounds      = flag.Int("fanout.rounds", 1, "TestFanout: rounds (every configuration and mode once per round)")
	fanoutModes       = flag.String("fanout.modes", "partial,full", "TestFanout: delta encodings compared: partial (only what changed), full (-ws-full-deltas)")
	fanoutFlush       = flag.Duration("fanout.flush", 100*time.Millisecond, "TestFanout: citytwin's -ws-flush-interval")
	fanoutCompression = flag.Bool("fanout.compression", true, "TestFanout: permessage-deflate (server and clients)")
	fanoutProbes      = flag.Int("fanout.probes", 5, "TestFanout: wsload clients that decode every message and measure latency (each decodes ~1 MB/s of whole-city deltas: many probes measure the load generator on a small machine)")
	fanoutJSON        = flag.String("fanout.json", "", "TestFanout: write every run's results to this file")
	fanoutEnv         = flag.String("fanout.env", "", "TestFanout: more settings of citytwin serve, KEY=value comma-separated (e.g. CITYTWIN_FLUSH_INTERVAL=20ms)")
	fanoutNice        = flag.Int("fanout.nice", 0, "TestFanout: run the clients other than the probes in a second wsload with this niceness (> 0), so that on a small machine the probes, standing for clients on their own machines, are not starved by the load's simulation")
	fanoutProfile     = flag.String("fanout.profile", "", "TestFanout: save a CPU profile of citytwin (the middle half of each run) into this directory")
)

// fanoutRun is one run's measurements.
type fanoutRun struct {
	Round   int     `json:"round"`
	Mode    string  `json:"mode"`
	Clients int     `json:"clients"`
	FlushMS float64 `json:"flush_ms"`
	// Published counts the readings the broker acknowledged; RateAchieved
	// is per second of publishing.
	Published    int64   `json:"published"`
	PublishFails int64   `json:"publish_fails"`
	RateAchieved float64 `json:"rate_achieved"`
	// ServerCPU is citytwin's user+sys CPU over the publishing time, in %
	// of one core; RSSMB its resident memory at the end, PeakRSSMB its peak.
	ServerCPU float64 `json:"server_cpu_pct"`
	RSSMB     float64 `json:"rss_mb"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// LoadCPU is wsload's and PublisherCPU this test process's CPU, in % of
	// one core.
	LoadCPU      float64 `json:"load_cpu_pct"`
	PublisherCPU float64 `json:"publisher_cpu_pct"`
	// Conflated and SlowDrops are citytwin's counters over the run.
	Conflated float64 `json:"conflated_items"`
	// IngestMS is citytwin's mean batch latency over the run, from a
	// batch's first message to its points stored (the Observe hook, which
	// feeds the stream, runs after it): the ingest part of the latency.
	IngestMS float64 `json:"ingest_batch_latency_ms"`
	// HubP50MS and HubP99MS are the hub's part: from the start of a flush
	// to the end of its delta's write to each client's socket (the
	// citytwin_stream_delta_delay_seconds histogram over the run,
	// interpolated within buckets).
	HubP50MS float64 `json:"hub_delay_p50_ms"`
	HubP99MS float64 `json:"hub_delay_p99_ms"`
	// EncodeP99MS is the p99 of the hub's work per flush before the
	// writes (citytwin_stream_encode_seconds): collect, encode, queue.
	EncodeP99MS float64         `json:"encode_p99_ms"`
	SlowDrops   float64         `json:"slow_drops"`
	Load        json.RawMessage `json:"wsload"`

	load wsloadResult
}

// wsloadResult is the part of wsload's output the summary uses.
type wsloadResult struct {
	Clients                  int     `json:"clients"`
	Messages                 int64   `json:"messages"`
	WireBytesPerClientPerS   float64 `json:"wire_bytes_per_client_per_s"`
	PayloadBytesPerProbePerS float64 `json:"payload_bytes_per_probe_per_s"`
	SnapshotBytes            int64   `json:"snapshot_bytes"`
	Samples                  int64   `json:"samples"`
	P50MS                    float64 `json:"p50_ms"`
	P90MS                    float64 `json:"p90_ms"`
	P99MS                    float64 `json:"p99_ms"`
	MaxMS                    float64 `json:"max_ms"`
	Disconnected             int     `json:"disconnected"`
	CPUSeconds               float64 `json:"cpu_seconds"`
	DecodeErrors             int64   `json:"decode_errors"`
	ConnectMS                float64 `json:"connect_ms"`
}

func TestFanout(t *testing.T) {
	if !*fanout {
		t.Skip("run with -fanout")
	}
	var clientCounts []int
	for s := range strings.SplitSeq(*fanoutClients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			t.Fatalf("-fanout.clients %q: want positive integers, comma-separated", *fanoutClients)
		}
		clientCounts = append(clientCounts, n)
	}
	modes := strings.Split(*fanoutModes, ",")
	for _, m := range modes {
		if m != "partial" && m != "full" {
			t.Fatalf("-fanout.modes %q: want partial and/or full", *fanoutModes)
		}
	}
	bin := citytwinBinary(t)
	wsload := filepath.Join(filepath.Dir(bin), "wsload")
	if out, err := exec.Command("go", "build", "-o", wsload, "github.com/citytwin/citytwin/stream/streamtest/cmd/wsload").CombinedOutput(); err != nil {
		t.Fatalf("go build wsload: %v\n%s", err, out)
	}
	db := testenv.StartInfluxDB(t)
	mq := testenv.StartMosquitto(t)
	fleet := newFanoutFleet(*fanoutSensors)

	var runs []fanoutRun
	for round := 1; round <= *fanoutRounds; round++ {
		for _, n := range clientCounts {
			for _, mode := range modes {
				t.Run(fmt.Sprintf("round%d/%dclients/%s", round, n, mode), func(t *testing.T) {
					r := runFanout(t, bin, wsload, mq, db, fleet, mode, n)
					r.Round = round
					runs = append(runs, r)
					t.Logf("%s", r.line())
				})
			}
		}
	}
	t.Logf("\n%s", fanoutSummary(runs))
	if *fanoutJSON != "" {
		b, _ := json.MarshalIndent(runs, "", "  ")
		if err := os.WriteFile(*fanoutJSON, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fanoutFleet is the published load: noise, air and traffic sensors of
// tenant fan, as NGSI-v2 keyValues, their time rewritten with µs.
type fanoutFleet struct {
	f       *sim.Fleet
	sensors []int
}

func newFanoutFleet(n int) *fanoutFleet {
	f := sim.NewFleet(sim.FleetConfig{Count: n*100/85 + 20, Tenant: "fan", Seed: 1})
	for {
		ff := &fanoutFleet{f: f}
		for i, s := range f.Sensors() {
			if len(ff.sensors) < n && (s.Type == sim.TypeNoise || s.Type == sim.TypeAir || s.Type == sim.TypeTraffic) {
				ff.sensors = append(ff.sensors, i)
			}
		}
		if len(ff.sensors) == n {
			return ff
		}
		f = sim.NewFleet(sim.FleetConfig{Count: 2 * f.Len(), Tenant: "fan", Seed: 1})
	}
}

// reading returns sensor k's reading at t with its time in µs (the
// simulator writes ms).
func (ff *fanoutFleet) reading(k int, t time.Time) (string, []byte) {
	topic, payload := ff.f.ReadingAs(ff.sensors[k], t, sim.ShapeV2KeyValues)
	msText := t.UTC().Format("2006-01-02T15:04:05.000Z")
	usText := t.UTC().Format("2006-01-02T15:04:05.000000Z")
	return topic, bytes.ReplaceAll(payload, []byte(msText), []byte(usText))
}

// publishFanout publishes every sensor's reading once (rate 0) or the
// readings of all sensors in turn at rate per second for d, over conns QoS 1
// connections, each reading stamped with its publish time. It returns the
// acknowledged and failed counts.
func publishFanout(t *testing.T, brokerURL string, ff *fanoutFleet, conns int, rate float64, d time.Duration) (acked, failed int64) {
	t.Helper()
	if !*fanoutPaho {
		return publishLean(t, brokerURL, ff, conns, rate, d)
	}
	var clients []paho.Client
	defer func() {
		for _, c := range clients {
			c.Disconnect(250)
		}
	}()
	for p := range conns {
		opts := paho.NewClientOptions().AddBroker(brokerURL).
			SetClientID(fmt.Sprintf("fanout-pub%d-%06x", p, rand.Uint32()>>8)).
			SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second)
		c := paho.NewClient(opts)
		if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
			t.Fatalf("connect publisher %d: %v", p, tok.Error())
		}
		clients = append(clients, c)
	}
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	for p, c := range clients {
		toks := make(chan paho.Token, 2000)
		wg.Go(func() {
			for tok := range toks {
				if tok.WaitTimeout(15*time.Second) && tok.Error() == nil {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		})
		wg.Go(func() {
			defer close(toks)
			var mine []int
			for k := p; k < len(ff.sensors); k += conns {
				mine = append(mine, k)
			}
			paceFanout(len(mine), rate/float64(conns), d, func(i int) bool {
				topic, payload := ff.reading(mine[i%len(mine)], time.Now())
				toks <- c.Publish(topic, 1, false, payload)
				return true
			}, func() bool { return true })
		})
	}
	wg.Wait()
	return ok.Load(), bad.Load()
}

// publishLean is publishFanout with leanPublisher connections: the same
// messages, paced the same way, the packets of each 2 ms tick in one write.
func publishLean(t *testing.T, brokerURL string, ff *fanoutFleet, conns int, rate float64, d time.Duration) (acked, failed int64) {
	t.Helper()
	pubs := make([]*leanPublisher, conns)
	for p := range pubs {
		lp, err := dialLeanPublisher(brokerURL, fmt.Sprintf("fanout-pub%d-%06x", p, rand.Uint32()>>8))
		if err != nil {
			t.Fatal(err)
		}
		pubs[p] = lp
	}
	var bad atomic.Int64
	var wg sync.WaitGroup
	for p, lp := range pubs {
		wg.Go(func() {
			var mine []int
			for k := p; k < len(ff.sensors); k += conns {
				mine = append(mine, k)
			}
			paceFanout(len(mine), rate/float64(conns), d, func(i int) bool {
				topic, payload := ff.reading(mine[i%len(mine)], time.Now())
				if err := lp.publish(topic, payload); err != nil {
					bad.Add(1)
					return false
				}
				return true
			}, func() bool {
				if err := lp.flush(); err != nil {
					bad.Add(1)
					return false
				}
				return true
			})
		})
	}
	wg.Wait()
	for _, lp := range pubs {
		bad.Add(lp.drain(15 * time.Second))
		acked += lp.acked.Load()
	}
	return acked, bad.Load()
}

// paceFanout calls one(0), one(1), … : n times in a row when share is 0,
// else share times per second for d, catching up with the wall clock every
// 2 ms tick and calling flush after each tick. It stops early when one or
// flush returns false.
func paceFanout(n int, share float64, d time.Duration, one func(i int) bool, flush func() bool) {
	if share == 0 {
		for i := range n {
			if !one(i) {
				break
			}
		}
		flush()
		return
	}
	start, sent := time.Now(), 0
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		el := time.Since(start)
		if el >= d {
			return
		}
		for due := int(share * el.Seconds()); sent < due; sent++ {
			if !one(sent) {
				return
			}
		}
		if !flush() {
			return
		}
	}
}

func runFanout(t *testing.T, bin, wsload string, mq *testenv.Mosquitto, db *testenv.InfluxDB, ff *fanoutFleet, mode string, clients int) fanoutRun {
	r := fanoutRun{Mode: mode, Clients: clients, FlushMS: float64(fanoutFlush.Milliseconds())}
	env := []string{
		"CITYTWIN_WS_FULL_DELTAS=" + strconv.FormatBool(mode == "full"),
		"CITYTWIN_WS_FLUSH_INTERVAL=" + fanoutFlush.String(),
		"CITYTWIN_WS_COMPRESSION=" + strconv.FormatBool(*fanoutCompression),
		"CITYTWIN_WS_MAX_CLIENTS=" + strconv.Itoa(clients+100),
		"CITYTWIN_REBUILD_WINDOW=0s",
		"CITYTWIN_PPROF=true",
		"CITYTWIN_LOG_LEVEL=warn",
	}
	if *fanoutEnv != "" {
		env = append(env, strings.Split(*fanoutEnv, ",")...)
	}
	clientID := fmt.Sprintf("citytwin-fanout-%d", rand.Uint32())
	// Registered first, so run after citytwin stops: end its persistent
	// session, which Mosquitto would otherwise keep filling with every later
	// run's readings (each run slower than the one before).
	t.Cleanup(func() {
		if err := bench.DiscardSession(mq.URL, clientID); err != nil {
			t.Error(err)
		}
	})
	ct := startCitytwinBinary(t, bin, mq, db, clientID, env...)
	pid := ct.cmd.Process.Pid
	base := "http://" + ct.HTTPAddr + "/"

	// Every sensor once, so that snapshots hold the whole fleet.
	publishFanout(t, mq.URL, ff, *fanoutPublishers, 0, 0)
	waitTwinSensors(t, base, "fan", len(ff.sensors), 60*time.Second)

	// The clients: one wsload with every client, or (-fanout.nice) the
	// probes in one and the other clients in a second, niced wsload.
	wsURL := "ws://" + ct.HTTPAddr + "/ws"
	probes := min(*fanoutProbes, clients)
	var others *wsloadProc
	if *fanoutNice > 0 && clients > probes {
		// Its measuring time ends when it is told (SIGTERM), after the probes'.
		others = startWsload(t, wsload, wsURL, clients-probes, 0, *fanoutDuration+10*time.Minute, *fanoutNice)
		others.awaitReady(t)
	}
	measured := startWsload(t, wsload, wsURL, clients-others.count(), probes, *fanoutDuration, 0)
	measured.awaitReady(t)

	m0, _ := ct.Metrics()
	cpu0 := procCPU(t, pid)
	self0 := selfCPU()
	start := time.Now()
	if *fanoutProfile != "" {
		go saveProfile(t, ct.HTTPAddr, filepath.Join(*fanoutProfile, fmt.Sprintf("cpu-%s-%d.pprof", mode, clients)), *fanoutDuration/4, *fanoutDuration/2)
	}
	r.Published, r.PublishFails = publishFanout(t, mq.URL, ff, *fanoutPublishers, *fanoutRate, *fanoutDuration)
	el := time.Since(start)
	r.ServerCPU = float64(procCPU(t, pid)-cpu0) / bench.ClockTicks / el.Seconds() * 100
	r.PublisherCPU = (selfCPU() - self0) / el.Seconds() * 100
	r.RateAchieved = float64(r.Published) / min(el, *fanoutDuration).Seconds()
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		rss, hwm, _ := bench.ParseStatusMem(string(status))
		r.RSSMB, r.PeakRSSMB = float64(rss)/1024, float64(hwm)/1024
	}
	r.load, r.Load = measured.result(t)
	if others != nil {
		_ = others.cmd.Process.Signal(syscall.SIGTERM)
		o, _ := others.result(t)
		r.load.merge(&o)
	}
	m1, _ := ct.Metrics()
	r.Conflated = m1["citytwin_stream_items_conflated_total"] - m0["citytwin_stream_items_conflated_total"]
	if n := m1["citytwin_ingest_batch_latency_seconds_count"] - m0["citytwin_ingest_batch_latency_seconds_count"]; n > 0 {
		r.IngestMS = (m1["citytwin_ingest_batch_latency_seconds_sum"] - m0["citytwin_ingest_batch_latency_seconds_sum"]) / n * 1000
	}
	r.HubP50MS = histogramQuantile(0.5, "citytwin_stream_delta_delay_seconds", m0, m1) * 1000
	r.HubP99MS = histogramQuantile(0.99, "citytwin_stream_delta_delay_seconds", m0, m1) * 1000
	r.EncodeP99MS = histogramQuantile(0.99, "citytwin_stream_encode_seconds", m0, m1) * 1000
	r.SlowDrops = m1[`citytwin_stream_clients_dropped_total{reason="slow"}`] - m0[`citytwin_stream_clients_dropped_total{reason="slow"}`]
	r.LoadCPU = r.load.CPUSeconds / el.Seconds() * 100
	if r.load.DecodeErrors > 0 {
		t.Errorf("wsload: %d messages or items could not be decoded", r.load.DecodeErrors)
	}
	return r
}

// histogramQuantile estimates quantile q of a Prometheus histogram's
// observations between two scrapes, interpolating linearly within the
// bucket as PromQL's histogram_quantile does; NaN without observations.
func histogramQuantile(q float64, name string, m0, m1 map[string]float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	prefix := name + `_bucket{le="`
	for k, v := range m1 {
		le, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		le = strings.TrimSuffix(le, `"}`)
		b, err := strconv.ParseFloat(le, 64) // "+Inf" too
		if err != nil {
			continue
		}
		bs = append(bs, bucket{b, v - m0[k]})
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return math.NaN()
	}
	rank := q * bs[len(bs)-1].n
	lo, below := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return lo // above the highest bound: its lower edge
			}
			return lo + (b.le-lo)*(rank-below)/(b.n-below)
		}
		lo, below = b.le, b.n
	}
	return lo
}

// wsloadProc is a running wsload.
type wsloadProc struct {
	cmd            *exec.Cmd
	clients        int
	ready          string
	waited         chan error
	stdout, stderr bytes.Buffer
}

// startWsload starts wsload with clients clients, probes of them probing,
// measuring for d once all have their snapshot; niced by nice when > 0.
func startWsload(t *testing.T, wsload, url string, clients, probes int, d time.Duration, nice int) *wsloadProc {
	t.Helper()
	p := &wsloadProc{clients: clients, ready: filepath.Join(t.TempDir(), "ready"), waited: make(chan error, 1)}
	args := []string{wsload, "-url", url, "-clients", strconv.Itoa(clients), "-probes", strconv.Itoa(probes), "-tenant", "fan",
		"-compression=" + strconv.FormatBool(*fanoutCompression), "-duration", d.String(), "-ready", p.ready}
	if nice > 0 {
		args = append([]string{"nice", "-n", strconv.Itoa(nice)}, args...)
	}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start wsload: %v", err)
	}
	go func() { p.waited <- p.cmd.Wait() }()
	return p
}

// count is the number of clients; 0 for nil.
func (p *wsloadProc) count() int {
	if p == nil {
		return 0
	}
	return p.clients
}

// awaitReady waits until every client has its snapshot.
func (p *wsloadProc) awaitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, err := os.Stat(p.ready); err == nil {
			return
		}
		select {
		case err := <-p.waited:
			t.Fatalf("wsload ended before it was ready: %v\n%s", err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			t.Fatal("wsload not ready after 5 minutes")
		}
	}
}

// result waits for wsload's end and returns its output.
func (p *wsloadProc) result(t *testing.T) (wsloadResult, json.RawMessage) {
	t.Helper()
	if err := <-p.waited; err != nil {
		t.Fatalf("wsload: %v\n%s", err, p.stderr.String())
	}
	var r wsloadResult
	if err := json.Unmarshal(p.stdout.Bytes(), &r); err != nil {
		t.Fatalf("wsload output %q: %v", p.stdout.String(), err)
	}
	return r, json.RawMessage(p.stdout.Bytes())
}

// merge adds the counts of another wsload's clients (without probes) to r.
// The bytes per client stay r's: every client receives the same bytes, and
// the other wsload measured over a longer time (from its own start).
func (r *wsloadResult) merge(o *wsloadResult) {
	r.Clients += o.Clients
	r.Messages += o.Messages
	r.Disconnected += o.Disconnected
	r.CPUSeconds += o.CPUSeconds
	r.ConnectMS = max(r.ConnectMS, o.ConnectMS)
}

// procCPU returns a process's user+sys CPU time in clock ticks.
func procCPU(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/stat: %v", pid, err)
	}
	n, err := bench.ParseStatCPU(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// saveProfile waits, then saves a CPU profile of length d from citytwin's
// /debug/pprof/profile.
func saveProfile(t *testing.T, addr, path string, wait, d time.Duration) {
	time.Sleep(wait)
	out, err := exec.Command("curl", "-sf", "-o", path, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds()))).CombinedOutput()
	if err != nil {
		t.Logf("CPU profile: %v %s", err, out)
	}
}

func (r *fanoutRun) line() string {
	l := &r.load
	return fmt.Sprintf("%-7s %5d clients: latency p50 %6.1f ms p90 %6.1f p99 %6.1f max %6.1f (%d samples); hub delay p50 %.1f ms p99 %.1f (encode p99 %.1f); ingest batch latency %.0f ms; server CPU %5.1f %% RSS %4.0f MB (peak %4.0f); %6.1f kB/s per client on the wire (%6.1f kB/s decoded); snapshot %5.0f kB; published %.0f/s (%d failed); disconnected %d, slow drops %.0f, conflated %.0f; wsload CPU %5.1f %%, publisher CPU %5.1f %%",
		r.Mode, r.Clients, l.P50MS, l.P90MS, l.P99MS, l.MaxMS, l.Samples, r.HubP50MS, r.HubP99MS, r.EncodeP99MS, r.IngestMS, r.ServerCPU, r.RSSMB, r.PeakRSSMB,
		l.WireBytesPerClientPerS/1e3, l.PayloadBytesPerProbePerS/1e3, float64(l.SnapshotBytes)/1e3,
		r.RateAchieved, r.PublishFails, l.Disconnected, r.SlowDrops, r.Conflated, r.LoadCPU, r.PublisherCPU)
}

// fanoutSummary gives the medians over rounds per clients and mode, and
// the ratios full/partial.
func fanoutSummary(runs []fanoutRun) string {
	type key struct {
		clients int
		mode    string
	}
	by := map[key][]fanoutRun{}
	var keys []key
	for _, r := range runs {
		k := key{r.Clients, r.Mode}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], r)
	}
	med := func(rs []fanoutRun, f func(*fanoutRun) float64) float64 {
		v := make([]float64, len(rs))
		for i := range rs {
			v[i] = f(&rs[i])
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	var b strings.Builder
	fmt.Fprintf(&b, "medians over rounds (flush %v, compression %v, %d sensors, %.0f readings/s):\n", *fanoutFlush, *fanoutCompression, *fanoutSensors, *fanoutRate)
	fmt.Fprintf(&b, "%-7s %7s %8s %8s %9s %9s %8s %9s %7s %11s %9s %5s\n", "mode", "clients", "p50 ms", "p99 ms", "hub p50", "hub p99", "CPU %", "RSS MB", "kB/s/cl", "pub/s", "disc", "runs")
	stats := map[key][4]float64{}
	for _, k := range keys {
		rs := by[k]
		p50 := med(rs, func(r *fanoutRun) float64 { return r.load.P50MS })
		p99 := med(rs, func(r *fanoutRun) float64 { return r.load.P99MS })
		cpu := med(rs, func(r *fanoutRun) float64 { return r.ServerCPU })
		bw := med(rs, func(r *fanoutRun) float64 { return r.load.WireBytesPerClientPerS / 1e3 })
		stats[k] = [4]float64{p50, p99, cpu, bw}
		fmt.Fprintf(&b, "%-7s %7d %8.1f %8.1f %9.1f %9.1f %8.1f %9.0f %7.1f %11.0f %9.0f %5d\n", k.mode, k.clients, p50, p99,
			med(rs, func(r *fanoutRun) float64 { return r.HubP50MS }), med(rs, func(r *fanoutRun) float64 { return r.HubP99MS }), cpu,
			med(rs, func(r *fanoutRun) float64 { return r.RSSMB }), bw,
			med(rs, func(r *fanoutRun) float64 { return r.RateAchieved }),
			med(rs, func(r *fanoutRun) float64 { return float64(r.load.Disconnected) }), len(rs))
	}
	for _, k := range keys {
		if k.mode != "partial" {
			continue
		}
		f, ok := stats[key{k.clients, "full"}]
		if !ok {
			continue
		}
		p := stats[k]
		fmt.Fprintf(&b, "full/partial at %d clients: p50 ×%.2f, p99 ×%.2f, server CPU ×%.2f, bytes per client ×%.2f\n",
			k.clients, f[0]/p[0], f[1]/p[1], f[2]/p[2], f[3]/p[3])
	}
	return b.String()
}

func TestHistogramQuantile(t *testing.T) {
	const h = "x_seconds"
	key := func(le string) string { return h + `_bucket{le="` + le + `"}` }
	m0 := map[string]float64{key("0.1"): 10, key("0.5"): 10, key("1"): 10, key("+Inf"): 10}
	// Between the scrapes: 50 under 0.1, 40 in (0.1, 0.5], 10 in (0.5, 1].
	m1 := map[string]float64{key("0.1"): 60, key("0.5"): 100, key("1"): 110, key("+Inf"): 110, h + "_count": 110}
	for _, c := range []struct{ q, want float64 }{
		{0.5, 0.1},            // rank 50: the top of the first bucket
		{0.7, 0.1 + 0.4*0.5},  // rank 70: half of the second
		{0.99, 0.5 + 0.5*0.9}, // rank 99: 9 of the last 10
	} {
		if got := histogramQuantile(c.q, h, m0, m1); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q %v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := histogramQuantile(0.5, h, m1, m1); !math.IsNaN(got) {
		t.Errorf("no observations: %v, want NaN", got)
	}
}
