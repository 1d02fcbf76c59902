// Package bench measures consumers of the citytwin stack end to end: it
// publishes readings through a real MQTT broker at given rates, counts what
// arrives in InfluxDB, and reports sustained throughput with zero loss,
// publish→stored latency and the consumer's CPU and memory. It compares
// citytwin (`citytwin serve`, spawned as a child process) with a minimal
// baseline consumer (bench/baseline: paho → encoding/json →
// influxdb-client-go's batching WriteAPI), measured in the same run on
// NGSI-v2 keyValues readings.
//
// citytwin can also be measured on the FIWARE IoT Agent protocols
// (Config.Protocols): UltraLight 2.0 and JSON measures of the same
// sensors, published by devices that bench first provisions through
// citytwin's API (sim.Provision: a service group per vendor, devices
// mapping object_ids to attributes), each group's connections with its
// MQTT credentials. The baseline does not understand them: its comparison
// stays NGSI only.
//
// For each target rate, each consumer in turn is started fresh, probed (one
// message must reach InfluxDB), driven for one step with its own tenant
// (the second topic level, hence a tag of every point) so counts are
// isolated, and stopped with SIGTERM. Counting uses InfluxQL through the
// /query endpoint: InfluxDB 1.8's native API, which InfluxDB 2.x also
// offers for buckets with a DBRP mapping.
//
// Consumers run in their own process groups and are killed with their group
// when they do not stop, when the run is interrupted, or (Linux) when bench
// itself dies, so no child process outlives a run.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Config configures Run.
type Config struct {
	MQTTURL      string `json:"mqtt_url"`
	InfluxURL    string `json:"influx_url"`
	InfluxToken  string `json:"-"`
	InfluxOrg    string `json:"influx_org"`
	InfluxBucket string `json:"influx_bucket"`

	// Consumers to measure, in order: Citytwin and/or Baseline.
	Consumers []string `json:"consumers"`
	// Protocols are the payload protocols citytwin is measured with, in
	// order, at every rate: ProtocolNGSI, ProtocolUL, ProtocolJSON; empty
	// means NGSI only. The baseline is measured with NGSI only.
	Protocols []string `json:"protocols"`
	// CitytwinPath is the citytwin executable, run as `serve`.
	CitytwinPath string `json:"citytwin_path"`
	// BaselinePath is the baseline program (go build ./bench/baseline).
	BaselinePath string `json:"baseline_path"`
	// BaselineClean runs the baseline with a clean session: paho acknowledges
	// before the write (how the reference figures were measured).
	BaselineClean bool `json:"baseline_clean"`

	// Rates are the target rates in msg/s; 0 publishes flat out.
	Rates []float64 `json:"rates"`
	// Step is how long each step publishes.
	Step time.Duration `json:"step_ns"`
	// Sensors is the number of noise, air and traffic sensors.
	Sensors int `json:"sensors"`
	// Publishers is the number of publishing MQTT connections.
	Publishers int `json:"publishers"`

	// PollInterval is how often InfluxDB is counted (the latency resolution);
	// 0 means 250 ms.
	PollInterval time.Duration `json:"poll_interval_ns"`
	// StallTimeout ends a step's drain when the count stopped growing for
	// this long; 0 means 5 s.
	StallTimeout time.Duration `json:"stall_timeout_ns"`
	// MaxDrain bounds the wait for the count after publishing; 0 means 60 s.
	MaxDrain time.Duration `json:"max_drain_ns"`
	// StopGrace is how long a consumer may take to stop after SIGTERM;
	// 0 means 45 s.
	StopGrace time.Duration `json:"stop_grace_ns"`

	// Dir receives the consumers' logs and citytwin's data directories;
	// "" means a temporary directory removed at the end of a successful run.
	Dir string `json:"-"`
	// Progress receives one line per stage; nil discards them.
	Progress io.Writer `json:"-"`
}

func (c *Config) defaults() error {
	if c.PollInterval == 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 5 * time.Second
	}
	if c.MaxDrain == 0 {
		c.MaxDrain = 60 * time.Second
	}
	if c.StopGrace == 0 {
		c.StopGrace = 45 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if len(c.Protocols) == 0 {
		c.Protocols = []string{ProtocolNGSI}
	}
	for _, p := range c.Protocols {
		if p != ProtocolNGSI && p != ProtocolUL && p != ProtocolJSON {
			return fmt.Errorf("bench: unknown protocol %q (want %s, %s or %s)", p, ProtocolNGSI, ProtocolUL, ProtocolJSON)
		}
	}
	switch {
	case c.MQTTURL == "" || c.InfluxURL == "" || c.InfluxBucket == "":
		return errors.New("bench: the broker URL, InfluxDB URL and bucket are required")
	case len(c.Consumers) == 0:
		return errors.New("bench: no consumer to measure")
	case len(c.Rates) == 0:
		return errors.New("bench: no rate given")
	case c.Step <= 0:
		return fmt.Errorf("bench: step %v must be positive", c.Step)
	case c.Sensors < 1 || c.Publishers < 1:
		return errors.New("bench: sensors and publishers must be at least 1")
	}
	for _, r := range c.Rates {
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return fmt.Errorf("bench: rate %v must be ≥ 0 (0: flat out)", r)
		}
	}
	for _, n := range c.Consumers {
		switch n {
		case Citytwin:
			if c.CitytwinPath == "" {
				return errors.New("bench: no citytwin executable")
			}
		case Baseline:
			if c.BaselinePath == "" {
				return errors.New("bench: the baseline consumer needs -baseline PATH (go build -o bin/citytwin-baseline ./bench/baseline)")
			}
			if _, err := os.Stat(c.BaselinePath); err != nil {
				return fmt.Errorf("bench: baseline program: %w", err)
			}
		default:
			return fmt.Errorf("bench: unknown consumer %q (want %s or %s)", n, Citytwin, Baseline)
		}
	}
	return nil
}

// Report is the result of a run.
type Report struct {
	Started           time.Time         `json:"started"`
	Config            Config            `json:"config"`
	Steps             []Step            `json:"steps"`
	Summary           []ConsumerSummary `json:"summary"`
	Pairs             []Pair            `json:"pairs"`
	MaxSustainedRatio Num               `json:"max_sustained_ratio"` // citytwin / baseline
}

// Run measures every consumer at every rate. It returns the report so far
// also with an error (a consumer that does not start, an unreachable broker,
// an interrupted run); the consumers are stopped in every case.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now(), Config: cfg}
	dir := cfg.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "citytwin-bench-"); err != nil {
			return nil, err
		}
	}
	inf := newInflux(cfg.InfluxURL, cfg.InfluxToken, cfg.InfluxBucket)
	if err := inf.createDatabase(ctx); err != nil {
		fmt.Fprintf(cfg.Progress, "bench: CREATE DATABASE %s: %v (fine if it exists)\n", inf.db, err)
	}
	runID := fmt.Sprintf("%04x", rand.Uint32()&0xffff)
	// The admin token of the provisioning API of every citytwin started.
	adminToken := fmt.Sprintf("bench-%016x%016x", rand.Uint64(), rand.Uint64())
	var err error
steps:
	for si, rate := range cfg.Rates {
		for _, name := range cfg.Consumers {
			protocols := []string{ProtocolNGSI}
			if name == Citytwin {
				protocols = cfg.Protocols
			}
			for _, proto := range protocols {
				var st Step
				st, err = runStep(ctx, &cfg, inf, dir, runID, adminToken, si, name, proto, rate)
				rep.Steps = append(rep.Steps, st)
				if err != nil {
					break steps
				}
			}
		}
	}
	rep.Summary, rep.Pairs, rep.MaxSustainedRatio = Summarize(rep.Steps)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("bench interrupted: %w", ctx.Err())
		}
		fmt.Fprintf(cfg.Progress, "bench: consumer logs kept in %s\n", dir)
		return rep, err
	}
	if cfg.Dir == "" {
		os.RemoveAll(dir)
	}
	return rep, nil
}

func rateLabel(r float64) string {
	if r == 0 {
		return "max"
	}
	return fmt.Sprintf("%g", r)
}

// runStep starts a consumer, provisions the step's devices (IoT Agent
// protocols), probes it, publishes for one step, counts, and stops the
// consumer.
func runStep(ctx context.Context, cfg *Config, inf *influx, dir, runID, adminToken string, si int, name, proto string, rate float64) (st Step, err error) {
	short := map[string]string{Citytwin: "ct", Baseline: "bl"}[name]
	if proto != ProtocolNGSI {
		short += proto
	}
	// The tenant is also the Fiware-Service of provisioned devices: letters,
	// digits and underscores.
	tenant := fmt.Sprintf("b%s_%s_%d", runID, short, si)
	clientID := fmt.Sprintf("bench-%s-%s-%s-%d", runID, name, proto, si)
	st = Step{Consumer: name, Protocol: proto, TargetRate: rate, Tenant: tenant,
		CPUPerMsg: Num(math.NaN()), CPUCores: Num(math.NaN()), RSSMB: Num(math.NaN()), PeakMB: Num(math.NaN())}
	defer func() {
		if err != nil {
			st.Err = err.Error()
		}
	}()
	say := func(format string, args ...any) {
		fmt.Fprintf(cfg.Progress, "bench: %s %s @ %s msg/s: %s\n", name, proto, rateLabel(rate), fmt.Sprintf(format, args...))
	}

	say("starting (tenant %s)", tenant)
	c, err := startConsumer(ctx, cfg, name, clientID, dir, adminToken)
	if err != nil {
		return st, err
	}
	defer func() {
		if serr := c.stop(cfg.StopGrace); serr != nil && err == nil && ctx.Err() == nil {
			err = serr
		}
		if name == Citytwin || !cfg.BaselineClean {
			if derr := DiscardSession(cfg.MQTTURL, clientID); derr != nil && err == nil && ctx.Err() == nil {
				err = derr
			}
		}
	}()
	l := newLoad(tenant, cfg.Sensors, proto)
	pl := newLoad(tenant+"_probe", 1, proto)
	if proto != ProtocolNGSI {
		say("provisioning %d devices", len(l.sensors)+1)
		for _, x := range []*load{l, pl} {
			if err := x.provision(ctx, "http://"+c.httpAddr, adminToken); err != nil {
				return st, err
			}
		}
	}
	if err := probe(ctx, cfg, inf, c, pl); err != nil {
		return st, err
	}

	say("publishing for %v", cfg.Step)
	start := time.Now()
	since := start.Add(-time.Second)
	c.resetPeak()
	ps0, perr := c.procStat()

	total := make(chan int64, 1)
	samplesCh := make(chan []Sample, 1)
	go func() { samplesCh <- poll(ctx, cfg, inf, tenant, since, total) }()
	pub, err := publish(ctx, cfg.MQTTURL, clientID, l, rate, cfg.Publishers, cfg.Step)
	pubEnd := time.Now()
	if err != nil {
		total <- -1
		<-samplesCh
		return st, err
	}
	total <- int64(len(pub.times))
	samples := <-samplesCh
	ps1, perr1 := c.procStat()
	end := time.Now()
	if ctx.Err() != nil {
		return st, ctx.Err()
	}

	st.Published = int64(len(pub.times))
	st.PublishFail = pub.failed
	st.PublishTime = pub.elapsed
	if pub.elapsed > 0 {
		st.AchievedRate = float64(st.Published) / pub.elapsed.Seconds()
	}
	if st.Published > 0 {
		st.PayloadBytes = float64(pub.bytes) / float64(st.Published)
	}
	for _, s := range samples {
		st.Stored = max(st.Stored, s.Count)
	}
	st.Lost = st.Published - st.Stored
	if len(samples) > 0 {
		st.Drain = max(0, samples[len(samples)-1].At.Sub(pubEnd))
	}
	st.Latency = EstimateLatency(pub.times, samples)
	st.Samples = samples
	if perr == nil && perr1 == nil {
		st.CPU = time.Duration(ps1.CPUTicks-ps0.CPUTicks) * (time.Second / ClockTicks)
		if st.Stored > 0 {
			st.CPUPerMsg = Num(float64(st.CPU.Microseconds()) / float64(st.Stored))
		}
		st.CPUCores = Num(st.CPU.Seconds() / end.Sub(start).Seconds())
		st.RSSMB = Num(float64(ps1.RSSKB) / 1024)
		st.PeakMB = Num(float64(ps1.HWMKB) / 1024)
	}
	if c.exited() {
		return st, fmt.Errorf("%s exited during the step (%v); last lines of %s:\n%s", name, c.waitErr, c.logPath, c.logTail(20))
	}
	say("published %d (%.0f msg/s), stored %d, lost %d, p99 %v", st.Published, st.AchievedRate, st.Stored, st.Lost, st.Latency.P99.Round(time.Millisecond))
	return st, nil
}

// poll counts the tenant's points every PollInterval until publishing has
// ended (total arrives; -1 aborts) and the count reached the total, stopped
// growing for StallTimeout, or MaxDrain passed.
func poll(ctx context.Context, cfg *Config, inf *influx, tenant string, since time.Time, total <-chan int64) []Sample {
	var (
		samples    []Sample
		want       int64 = -2 // unknown while publishing
		pubEnd     time.Time
		lastN      int64
		lastGrowth = time.Now()
	)
	tick := time.NewTicker(cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return samples
		case want = <-total:
			if want == -1 {
				return samples
			}
			pubEnd = time.Now()
			continue
		case <-tick.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := inf.count(qctx, tenant, since)
		cancel()
		now := time.Now()
		if err == nil {
			samples = append(samples, Sample{At: now, Count: n})
			if n > lastN {
				lastN, lastGrowth = n, now
			}
		} else if ctx.Err() == nil {
			fmt.Fprintf(cfg.Progress, "bench: count: %v\n", err)
		}
		if want < 0 {
			continue
		}
		if lastN >= want || now.Sub(pubEnd) > cfg.MaxDrain ||
			now.Sub(lastGrowth) > cfg.StallTimeout && now.Sub(pubEnd) > cfg.StallTimeout {
			return samples
		}
	}
}

// probe publishes a reading of the probe load l (a tenant of its own) every
// 500 ms until one is counted in InfluxDB: the consumer is then subscribed,
// knows the provisioned devices and is writing.
func probe(ctx context.Context, cfg *Config, inf *influx, c *consumer, l *load) error {
	opts := paho.NewClientOptions().AddBroker(cfg.MQTTURL).
		SetClientID(fmt.Sprintf("bench-probe-%06x", rand.Uint32()>>8)).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	if ln := l.lanes[0]; ln.user != "" {
		opts.SetUsername(ln.user).SetPassword(ln.pass)
	}
	pc := paho.NewClient(opts)
	if tok := pc.Connect(); tok.Wait() && tok.Error() != nil {
		return fmt.Errorf("connect to the broker %s: %w", cfg.MQTTURL, tok.Error())
	}
	defer pc.Disconnect(100)
	tenant := l.fleet.Tenant()
	since := time.Now().Add(-time.Second)
	var lastPub time.Time
	return c.waitFor(ctx, 60*time.Second, func() error {
		if time.Since(lastPub) >= 500*time.Millisecond {
			lastPub = time.Now()
			topic, payload := l.reading(l.sensors[0], lastPub)
			if tok := pc.Publish(topic, 1, false, payload); tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
				return fmt.Errorf("publish a probe: %w", tok.Error())
			}
		}
		n, err := inf.count(ctx, tenant, since)
		switch {
		case err != nil:
			return err
		case n == 0:
			return errors.New("no probe message stored in InfluxDB yet")
		}
		return nil
	})
}
