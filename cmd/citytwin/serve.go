package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/iota/registry"
	"github.com/citytwin/citytwin/internal/broker"
	"github.com/citytwin/citytwin/internal/config"
	"github.com/citytwin/citytwin/internal/dynsec"
	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/rollup"
	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/stream/twinfeed"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
	"github.com/citytwin/citytwin/web"
	"github.com/citytwin/citytwin/web/ngsild"
	"github.com/citytwin/citytwin/web/provision"
)

type serveConfig struct {
	httpAddr       string
	mqttURL        string
	mqttListen     string
	mqttUser       string
	mqttPassword   string
	mqttClientID   string
	mqttTopics     []string
	influx         ingest.InfluxConfig
	influxGzip     bool
	rollupInterval time.Duration
	flowRefresh    time.Duration
	liveOnAccept   bool
	dataDir        string
	pipeline       ingest.Config
	drainTimeout   time.Duration
	city           string
	roadMetres     float64
	rebuild        time.Duration
	alertRules     string
	timeZone       string
	adminToken     string
	apiToken       string
	dynsecUser     string
	dynsecPass     string
	anonymous      []string
	pprof          bool
	logLevel       string
	logFormat      string
	ws             stream.Config
	feed           twinfeed.Config
}

func serveFlags(getenv func(string) string) (*config.Set, *serveConfig) {
	c := &serveConfig{}
	s := config.NewSet("serve", getenv)
	s.String(&c.httpAddr, "http-addr", "127.0.0.1:8080", "HTTP listen address (APIs, /metrics, /healthz, /readyz)")
	s.String(&c.mqttURL, "mqtt-url", "", "external MQTT broker, e.g. tcp://127.0.0.1:1883; empty runs the embedded broker")
	s.String(&c.mqttListen, "mqtt-listen", "127.0.0.1:1883", "listen address of the embedded broker (when -mqtt-url is empty)")
	s.String(&c.mqttUser, "mqtt-username", "", "MQTT username")
	s.Secret(&c.mqttPassword, "mqtt-password", "MQTT password")
	s.String(&c.mqttClientID, "mqtt-client-id", "citytwin", "MQTT client id of citytwin's persistent session")
	s.Strings(&c.mqttTopics, "mqtt-topics", append([]string{"ngsi/#"}, iota.Subscriptions()...), "comma-separated subscription filters: NGSI entities under ngsi/, and every FIWARE IoT Agent device topic form (UltraLight 2.0 and JSON measures)")
	influxFlags(s, &c.influx)
	s.Duration(&c.rollupInterval, "rollup-interval", time.Minute, "how often the hourly rollups of analytics and scenarios are written (the hour in progress included)")
	s.Duration(&c.flowRefresh, "noise-flow-refresh", time.Hour, "how often the noise model (noise map, scenarios) is rebuilt with the daily flows the traffic sensors measured over the last week")
	s.Bool(&c.influxGzip, "influx-gzip", true, "gzip write requests")
	s.String(&c.dataDir, "data-dir", "citytwin-data", "directory for the spool and the embedded broker's store")
	s.String(&c.city, "city", "", "folder with the city's cartography (city.json naming GeoJSON layers); empty uses the generated demo city")
	s.Duration(&c.rebuild, "rebuild-window", 3*time.Hour, "at start the live state is rebuilt from the newest points stored in this window; 0 starts empty")
	s.String(&c.alertRules, "alert-rules", "", `JSON file of alert rules merged over the defaults ({"rules":[{"id":"noise-dpcm-iv","threshold":60}]}); empty uses the defaults`)
	s.String(&c.timeZone, "time-zone", "Europe/Rome", "IANA time zone of the day and night periods of alert rules")
	s.Secret(&c.adminToken, "admin-token", "bearer token of the provisioning API's administrator; empty: generated once into DATA_DIR/admin-token")
	s.String(&c.dynsecUser, "mqtt-dynsec-username", "", "external Mosquitto: admin of its dynamic-security plugin; citytwin then creates its own client (mqtt-username), each vendor group's client and role, and the anonymous NGSI publishing role")
	s.Secret(&c.dynsecPass, "mqtt-dynsec-password", "password of mqtt-dynsec-username")
	s.Strings(&c.anonymous, "mqtt-anonymous-publish", []string{"ngsi/#"}, "embedded broker: topic filters clients without credentials may publish to (NGSI data); vendors use their group's credentials")
	s.Float(&c.roadMetres, "link-road-metres", 50, "a traffic, noise or air sensor is linked to the nearest road segment within this distance")
	s.Int64(&c.pipeline.SpoolMaxBytes, "spool-max-bytes", 8<<30, "cap of the local spool; when full, messages wait unacknowledged in the broker; negative: no cap")
	s.Bool(&c.liveOnAccept, "live-on-accept", true, "update the twin, live map and alerts when a reading is accepted, before it is stored (false: once stored, a batch later)")
	s.Int(&c.pipeline.BatchSize, "batch-size", 5000, "points per InfluxDB write")
	s.Duration(&c.pipeline.FlushInterval, "flush-interval", 100*time.Millisecond, "longest wait before a partial batch is written")
	s.Int(&c.pipeline.Writers, "writers", 2, "concurrent InfluxDB writes")
	s.Int(&c.pipeline.MaxInflight, "max-inflight", 20000, "unacknowledged messages held; at least the broker's per-client inflight window")
	s.Int(&c.pipeline.MaxPayload, "max-payload", 1<<20, "largest accepted payload in bytes")
	s.String(&c.pipeline.ErrorTopicPrefix, "error-topic-prefix", "citytwin/errors", "rejections of a message on topic T are published on PREFIX/T")
	s.Duration(&c.drainTimeout, "drain-timeout", 30*time.Second, "longest wait at shutdown for held messages to be stored")
	s.Bool(&c.pprof, "pprof", false, "serve Go's profiler under /debug/pprof/ on the HTTP address")
	s.Strings(&c.ws.AllowedOrigins, "ws-allowed-origins", nil, "browser origins allowed on /ws besides the server's own, comma-separated scheme://host[:port]")
	s.Secret(&c.apiToken, "api-token", "bearer token required on the operator APIs (/api/, /ngsi-ld/) and /ws (Authorization: Bearer, or ?token=; the dashboard takes it as ?token= in its URL); empty: none")
	s.Secret(&c.ws.Token, "ws-token", "token required on /ws instead of api-token (Authorization: Bearer, or ?token= for browsers); empty: api-token's")
	s.Duration(&c.ws.FlushInterval, "ws-flush-interval", 200*time.Millisecond, "period of the live map's deltas on /ws")
	s.Int(&c.ws.MaxClients, "ws-max-clients", 10000, "concurrent /ws connections; more are refused with 503")
	s.Int(&c.ws.SendBuffer, "ws-send-buffer", 64<<10, "kernel send buffer of each /ws connection in bytes (small: a slow client's deltas are conflated rather than queued stale in the kernel); -1: the system's autotuning")
	s.Bool(&c.ws.Compression, "ws-compression", true, "permessage-deflate on /ws, each shared delta compressed once")
	s.Duration(&c.feed.FeatureInterval, "ws-feature-interval", time.Second, "how often at most the /ws feed recomputes and sends the indicators of the features (areas, roads, parks) whose sensors changed; sensors go out at every flush; 0: at every flush")
	s.Bool(&c.feed.FullDeltas, "ws-full-deltas", false, "send complete sensor items in /ws deltas instead of only what changed (the former protocol; a baseline for measurements)")
	s.String(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	s.String(&c.logFormat, "log-format", "text", "text or json")
	return s, c
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	set, c := serveFlags(getenv)
	set.SetOutput(stderr)
	if err := set.Parse(args); err != nil {
		return err
	}
	if c.flowRefresh <= 0 {
		return fmt.Errorf("noise-flow-refresh: must be a positive duration, got %s", c.flowRefresh)
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	return serve(ctx, c, log, stdout)
}

// serve runs citytwin until ctx ends, then shuts down in order: readiness
// goes to 503, MQTT intake stops, held messages are stored and acknowledged,
// the session closes, then the HTTP server and the embedded broker stop.
func serve(ctx context.Context, c *serveConfig, log *slog.Logger, stdout io.Writer) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Components that live until the very end.
	bgCtx, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	var bg sync.WaitGroup
	bgErr := make(chan error, 4)

	devices, err := registry.New(registry.Config{Path: filepath.Join(c.dataDir, "registry.db"), Logger: log})
	if err != nil {
		return err
	}
	defer devices.Close()
	bg.Go(func() { _ = devices.Run(bgCtx) })
	adminToken, err := loadAdminToken(c, log)
	if err != nil {
		return err
	}

	mqttURL, subURL := c.mqttURL, c.mqttURL
	var embedded *broker.Broker
	if mqttURL == "" {
		fence := &broker.Fence{Vendor: devices.CheckMQTT, AdminUser: c.mqttUser, AdminPassword: c.mqttPassword, AnonymousPublish: c.anonymous}
		b, err := broker.New(broker.Config{Listen: c.mqttListen, DataDir: filepath.Join(c.dataDir, "broker"), Fence: fence}, reg, log)
		if err != nil {
			return err
		}
		embedded = b
		// A rotated or deleted group's clients are disconnected at once.
		devices.Watch(func(ch registry.Change) {
			if ch.Kind == registry.ChangeCredentials || (ch.Kind == registry.ChangeGroup && ch.Op == registry.OpDelete) {
				if n := b.RevokeVendor(ch.APIKey); n > 0 {
					log.Info("disconnected a vendor's clients after its credentials changed", "apikey", ch.APIKey, "clients", n)
				}
			}
		})
		mqttURL, subURL = b.URL(), b.InternalURL()
		bg.Go(func() {
			if err := b.Run(bgCtx); err != nil {
				bgErr <- err
			}
		})
	}

	city, err := loadCity(c.city, log)
	if err != nil {
		return err
	}
	c.pipeline.Linker = &ingest.CityLinker{City: city, RoadMetres: c.roadMetres}
	state := twin.NewState(city, twin.StateConfig{})
	alerts, err := newAlerts(c)
	if err != nil {
		return err
	}
	am := newAlertMetrics(reg)
	feed, err := twinfeed.New(c.feed, state, city, alerts, reg)
	if err != nil {
		return err
	}
	c.ws.DefaultTenant = twin.DefaultTenant
	if c.apiToken != "" && len(c.apiToken) < 16 {
		return errors.New("api-token: must be at least 16 characters")
	}
	if c.ws.Token == "" {
		c.ws.Token = c.apiToken
	}
	hub, err := stream.New(c.ws, feed, reg, log)
	if err != nil {
		return err
	}

	var brokerAccess provision.BrokerAccess
	if c.mqttURL != "" && c.dynsecUser != "" {
		ds, err := setupDynsec(ctx, c)
		if err != nil {
			return err
		}
		defer ds.Close()
		brokerAccess = ds
	}

	c.influx.NoGzip = !c.influxGzip
	influx, err := ingest.NewInflux(c.influx)
	if err != nil {
		return err
	}
	defer influx.Close()
	hist, err := history.New(history.Config{URL: c.influx.URL, Token: c.influx.Token, Org: c.influx.Org, Bucket: c.influx.Bucket, Logger: log})
	if err != nil {
		return err
	}
	defer hist.Close()
	var rebuilt atomic.Bool
	// Hourly rollups of every numeric attribute, for analytics and scenarios
	// (package rollup says why citytwin keeps them itself).
	roller := rollup.New(rollup.Config{Logger: log, Interval: c.rollupInterval}, influx, hist, time.Now())

	var pipe *ingest.Pipeline
	sub, err := ingest.NewSubscriber(ingest.SubscriberConfig{
		URL: subURL, Username: c.mqttUser, Password: c.mqttPassword, ClientID: c.mqttClientID, Topics: c.mqttTopics,
	}, func(m ingest.Message) { pipe.Handle(m) }, log)
	if err != nil {
		return err
	}
	c.pipeline.SpoolDir = filepath.Join(c.dataDir, "spool")
	live := func(obs []twin.Observation) {
		state.Apply(obs)
		feed.Publish(obs) // after Apply: the feed reads the state at the next flush
		changed := alerts.Apply(obs)
		feed.PublishAlerts(changed)
		am.report(changed, sub, log)
	}
	if c.liveOnAccept {
		// The twin, the live map and alerts as soon as a reading is
		// accepted; the rollups (history) once it is stored.
		c.pipeline.Live = live
		c.pipeline.Observe = roller.Observe
	} else {
		c.pipeline.Observe = func(obs []twin.Observation) {
			live(obs)
			roller.Observe(obs)
		}
	}
	c.pipeline.ErrorTopicFor = ingest.IoTAgentErrorTopic(c.pipeline.ErrorTopicPrefix)
	decoder := ingest.TopicDecoder{NGSI: ingest.NGSIDecoder{}, IoTAgent: &ingest.IoTAgentDecoder{Registry: devices,
		CommandResult: func(apikey, device, command, result string, at time.Time) error {
			return provision.CompleteCommand(context.Background(), devices, apikey, device, command, result, at)
		}}}
	pipe, err = ingest.New(c.pipeline, decoder, influx, sub, reg, log)
	if err != nil {
		return err
	}

	srv := web.New(web.Config{Addr: c.httpAddr, Pprof: c.pprof, APIToken: c.apiToken}, reg, map[string]web.Check{
		"mqtt": func(context.Context) error {
			if !sub.Connected() {
				return fmt.Errorf("not connected to %s", mqttURL)
			}
			return nil
		},
		"influxdb": influx.Ping,
		"twin": func(context.Context) error {
			if !rebuilt.Load() {
				return errors.New("rebuilding the live state from InfluxDB")
			}
			return nil
		},
	}, log)
	(&web.Layers{City: city, State: state}).Register(srv)
	(&ngsild.Handler{State: state, City: city, History: hist}).Register(srv)
	(&web.AlertsAPI{Alerts: alerts}).Register(srv)
	srv.Handle("GET /ws", hub)
	(&web.UI{State: state}).Register(srv)
	(&web.Replay{City: city, State: state, History: hist}).Register(srv)
	noiseModel, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		return fmt.Errorf("dynamic noise map: %w", err)
	}
	noiseMap := &web.NoiseMap{Model: noiseModel, Live: web.StateLevels{State: state}, Past: web.HistoryLevels{History: hist}}
	noiseMap.Register(srv)
	plan, err := planner.New(planner.Config{Logger: log}, city, state, hist, noiseModel)
	if err != nil {
		return err
	}
	scenarios, err := planner.OpenStore(filepath.Join(c.dataDir, "scenarios.db"))
	if err != nil {
		return err
	}
	defer scenarios.Close()
	(&web.PlannerAPI{Planner: plan, Store: scenarios}).Register(srv)
	(&provision.API{Store: devices, AdminToken: adminToken, Logger: log, Broker: brokerAccess, Commands: sub.PublishError}).Register(srv)
	bg.Go(func() {
		every(bgCtx, 15*time.Second, func(now time.Time) {
			if n, err := provision.ExpireCommands(bgCtx, devices, now); err != nil {
				log.Warn("expiring commands failed", "error", err)
			} else if n > 0 {
				log.Info("commands expired without a result", "count", n)
			}
		})
	})
	bg.Go(func() {
		every(bgCtx, 30*time.Second, func(now time.Time) {
			changed := alerts.Tick(now)
			feed.PublishAlerts(changed)
			am.report(changed, sub, log)
		})
	})
	bg.Go(func() {
		if err := srv.Run(bgCtx); err != nil {
			bgErr <- err
		}
	})
	bg.Go(func() { _ = sub.Run(bgCtx) })
	bg.Go(func() { _ = hub.Run(bgCtx) })
	bg.Go(func() {
		if err := roller.Run(bgCtx); err != nil {
			log.Warn("rollups not written at shutdown", "error", err)
		}
	})
	bg.Go(func() {
		if setupInflux(bgCtx, influx, log) {
			rebuildState(bgCtx, hist, state, c.rebuild, log)
		}
		rebuilt.Store(true)
		refresh := func(now time.Time) { refreshNoiseModel(bgCtx, hist, city, state, now, log, noiseMap, plan) }
		refresh(time.Now())
		every(bgCtx, c.flowRefresh, refresh)
	})

	pipeDone := make(chan error, 1)
	drainCtx, abandon := context.WithCancel(context.Background())
	defer abandon()
	go func() { pipeDone <- pipe.Run(drainCtx) }()
	sub.Connect()
	var runErr error
	if embedded != nil {
		runErr = openWhenAttached(ctx, embedded, sub)
	}

	if b, p := pipe.SpoolDepth(); b > 0 {
		log.Info("replaying spool left by a previous run", "batches", b, "points", p)
	}
	fmt.Fprintf(stdout, "citytwin %s serving\n  MQTT       %s (topics %v)\n  InfluxDB   %s bucket %s\n  metrics    http://%s/metrics\n  readiness  http://%s/readyz\n  layers     http://%s/api/v1/layers (GeoJSON with live indicators)\n  NGSI-LD    http://%s/ngsi-ld/v1/entities\n  alerts     http://%s/api/v1/alerts (events on MQTT %s/#)\n  live map   http://%s/ (WebSocket ws://%s/ws)\n",
		version, mqttURL, c.mqttTopics, c.influx.URL, c.influx.Bucket, c.httpAddr, c.httpAddr, c.httpAddr, c.httpAddr, c.httpAddr, alertTopicPrefix, c.httpAddr, c.httpAddr)

	if runErr == nil {
		select {
		case <-ctx.Done():
		case runErr = <-bgErr:
			log.Error("component failed; shutting down", "error", runErr)
		}
	}

	log.Info("shutting down")
	srv.SetDraining()
	pipe.Stop()
	timer := time.AfterFunc(c.drainTimeout, func() {
		log.Warn("drain timeout: leaving held messages unacknowledged for redelivery")
		abandon()
	})
	<-pipeDone
	timer.Stop()
	sub.Close()
	hub.Close() // 1001 to every live map client: http.Server.Shutdown does not touch hijacked connections
	stopBg()
	bg.Wait()
	if runErr != nil {
		return runErr
	}
	select {
	case err := <-bgErr:
		if !errors.Is(err, context.Canceled) {
			return err
		}
	default:
	}
	return nil
}

// openWhenAttached opens the embedded broker to devices once citytwin's own
// session is attached (see broker.OpenPublic).
func openWhenAttached(ctx context.Context, b *broker.Broker, sub *ingest.Subscriber) error {
	deadline := time.Now().Add(30 * time.Second)
	for !sub.Connected() {
		if ctx.Err() != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("embedded broker: citytwin's session did not attach within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return b.OpenPublic()
}

// loadCity loads the cartography from dir, or generates the demo city when
// dir is empty, and logs what was repaired or dropped.
func loadCity(dir string, log *slog.Logger) (*geo.City, error) {
	var (
		city   *geo.City
		report geo.Report
		err    error
		source = dir
	)
	if dir == "" {
		source = "generated demo city"
		city, report, err = geo.NewCity(democity.Generate(democity.Config{}))
	} else {
		city, report, err = geo.LoadDir(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("city %s: %w", source, err)
	}
	for _, k := range geo.Kinds {
		lr := report.PerLayer[k]
		if lr.Read == 0 && lr.Loaded == 0 {
			continue
		}
		log.Info("city layer loaded", "city", source, "layer", k, "features", lr.Loaded, "repaired", lr.Repaired, "dropped", lr.Dropped)
		for _, p := range lr.Problems {
			log.Warn("city layer problem", "layer", k, "problem", p)
		}
	}
	return city, nil
}

// every calls fn with the time every period until ctx ends.
func every(ctx context.Context, period time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

// setupDynsec connects to an external Mosquitto's dynamic-security plugin
// and makes sure citytwin's own client and the anonymous NGSI role exist.
// Vendor clients are created as groups are (provision.API.Broker).
func setupDynsec(ctx context.Context, c *serveConfig) (*dynsec.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ds, err := dynsec.Dial(dctx, c.mqttURL, c.dynsecUser, c.dynsecPass)
	if err != nil {
		return nil, err
	}
	if c.mqttUser != "" {
		if err := ds.EnsureService(dctx, c.mqttUser, c.mqttPassword); err != nil {
			ds.Close()
			return nil, err
		}
	}
	if err := ds.AllowAnonymousPublish(dctx, c.anonymous); err != nil {
		ds.Close()
		return nil, err
	}
	return ds, nil
}

// loadAdminToken returns the provisioning API's admin token: the configured
// one, else the one in DATA_DIR/admin-token, generated on first start (the
// file is 0600; its path is logged, never the token).
func loadAdminToken(c *serveConfig, log *slog.Logger) (string, error) {
	if c.adminToken != "" {
		if len(c.adminToken) < 16 {
			return "", errors.New("admin-token: must be at least 16 characters")
		}
		return c.adminToken, nil
	}
	path := filepath.Join(c.dataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
	}
	tok, err := provision.NewAdminToken()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.dataDir, 0o750); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin-token: %w", err)
	}
	log.Info("generated the provisioning API's admin token", "file", path)
	return tok, nil
}

// rebuildState applies the newest stored value of every sensor's attributes
// in the window to the live state, so that a restart does not blank the
// map, retrying while InfluxDB fails. Live observations may arrive
// meanwhile: the state keeps the newer value of each attribute either way.
func rebuildState(ctx context.Context, hist *history.Store, state *twin.State, window time.Duration, log *slog.Logger) {
	if window <= 0 {
		return
	}
	backoff := time.Second
	for {
		start, n := time.Now(), 0
		err := hist.Latest(ctx, window, func(obs []twin.Observation) error {
			state.Apply(obs)
			n += len(obs)
			return nil
		})
		if err == nil {
			log.Info("live state rebuilt from InfluxDB", "window", window, "observations", n, "sensors", state.Len(), "took", time.Since(start).Round(time.Millisecond))
			return
		}
		log.Warn("rebuilding the live state failed; retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// setupInflux prepares the database or bucket, retrying while InfluxDB is
// unreachable (meanwhile batches go to the spool). It reports whether setup
// succeeded before ctx ended.
func setupInflux(ctx context.Context, influx *ingest.Influx, log *slog.Logger) bool {
	backoff := time.Second
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := influx.Setup(sctx)
		cancel()
		if err == nil {
			return true
		}
		log.Warn("influxdb setup failed; retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
