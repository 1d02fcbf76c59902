package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/citytwin/citytwin/bench"
	"github.com/citytwin/citytwin/internal/config"
)

type benchConfig struct {
	mqttURL                                         string
	influxURL, influxToken, influxOrg, influxBucket string
	consumers                                       []string
	protocols                                       []string
	baseline                                        string
	baselineClean                                   bool
	rates                                           []string
	step                                            time.Duration
	sensors, publishers                             int
	pollInterval                                    time.Duration
	jsonPath                                        string
	dir                                             string
}

func benchFlags(getenv func(string) string) (*config.Set, *benchConfig) {
	c := &benchConfig{}
	s := config.NewSet("bench", getenv)
	s.String(&c.mqttURL, "mqtt-url", "tcp://127.0.0.1:1883", "external MQTT broker the load goes through")
	s.String(&c.influxURL, "influx-url", "http://127.0.0.1:8086", "InfluxDB URL; counting uses InfluxQL /query (1.8, or 2.x with a DBRP mapping)")
	s.Secret(&c.influxToken, "influx-token", "InfluxDB token (1.8: user:password, or any text with auth off)")
	s.String(&c.influxOrg, "influx-org", "citytwin", "InfluxDB organisation (ignored by 1.8)")
	s.String(&c.influxBucket, "influx-bucket", "citytwin", "InfluxDB bucket (1.8: database/retention-policy)")
	s.Strings(&c.consumers, "consumers", []string{"citytwin", "baseline"}, "consumers to measure, in order: citytwin (this executable's serve), baseline")
	s.Strings(&c.protocols, "protocols", []string{"ngsi"}, "payload protocols citytwin is measured with at every rate, comma-separated: ngsi (NGSI-v2 keyValues), ul (IoT Agent UltraLight 2.0), json (IoT Agent JSON); ul and json devices are provisioned through citytwin's API first; the baseline always gets ngsi")
	s.String(&c.baseline, "baseline", "", "baseline program (go build -o bin/citytwin-baseline ./bench/baseline); empty: citytwin-baseline next to this executable")
	s.Bool(&c.baselineClean, "baseline-clean", true, "baseline uses a clean session: paho acknowledges before the write, as the reference figures were measured")
	s.Strings(&c.rates, "rates", []string{"2000", "5000", "10000", "15000", "20000"}, "target rates in msg/s, comma-separated; 0 or max publishes flat out")
	s.Duration(&c.step, "step", 20*time.Second, "publishing time of each step")
	s.Int(&c.sensors, "sensors", 999, "noise, air and traffic sensors publishing")
	s.Int(&c.publishers, "publishers", 4, "publishing MQTT connections (QoS 1)")
	s.Duration(&c.pollInterval, "poll-interval", 250*time.Millisecond, "how often InfluxDB is counted: the resolution of the latency estimate")
	s.String(&c.jsonPath, "json", "", "also write the raw results, with every count sample, to this file")
	s.String(&c.dir, "dir", "", "directory for consumer logs and data; empty: a temporary one, removed after a successful run")
	return s, c
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	set, c := benchFlags(getenv)
	set.SetOutput(stderr)
	if err := set.Parse(args); err != nil {
		return err
	}
	if len(set.Args()) > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", set.Args())
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: locate this executable: %w", err)
	}
	cfg := bench.Config{
		MQTTURL: c.mqttURL, InfluxURL: c.influxURL, InfluxToken: c.influxToken,
		InfluxOrg: c.influxOrg, InfluxBucket: c.influxBucket,
		Consumers: c.consumers, Protocols: c.protocols, CitytwinPath: exe, BaselinePath: c.baseline, BaselineClean: c.baselineClean,
		Step: c.step, Sensors: c.sensors, Publishers: c.publishers, PollInterval: c.pollInterval,
		Dir: c.dir, Progress: stderr,
	}
	if cfg.BaselinePath == "" {
		cfg.BaselinePath = filepath.Join(filepath.Dir(exe), "citytwin-baseline")
	}
	for _, r := range c.rates {
		if strings.EqualFold(r, "max") {
			cfg.Rates = append(cfg.Rates, 0)
			continue
		}
		f, err := strconv.ParseFloat(r, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("bench: rate %q: want a number of msg/s ≥ 0, or max", r)
		}
		cfg.Rates = append(cfg.Rates, f)
	}
	if c.dir != "" {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return err
		}
	}
	rep, runErr := bench.Run(ctx, cfg)
	if rep != nil && len(rep.Steps) > 0 {
		fmt.Fprintln(stdout)
		rep.WriteText(stdout)
		if c.jsonPath != "" {
			if err := rep.WriteJSON(c.jsonPath); err != nil {
				return fmt.Errorf("bench: write %s: %w", c.jsonPath, err)
			}
			fmt.Fprintf(stdout, "\nraw results written to %s\n", c.jsonPath)
		}
	}
	return runErr
}
