package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/internal/config"
	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/rollup"
)

type rollupConfig struct {
	influx   ingest.InfluxConfig
	from, to string
	logLevel string
}

func rollupFlags(getenv func(string) string) (*config.Set, *rollupConfig) {
	c := &rollupConfig{}
	s := config.NewSet("rollup", getenv)
	influxFlags(s, &c.influx)
	s.String(&c.from, "rollup-from", "-7d", "first hour to recompute: RFC 3339 time, or a duration before now such as -7d or -36h")
	s.String(&c.to, "rollup-to", "now", "end of the range (exclusive): RFC 3339 time, now, or a duration before now")
	s.String(&c.logLevel, "log-level", "warn", "debug, info, warn or error")
	return s, c
}

// runRollup recomputes the hourly rollups of a range from the raw points:
// for history written without citytwin (imports, benchmarks) or after a
// change of the rollup rules. serve keeps them up to date by itself.
func runRollup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	set, c := rollupFlags(getenv)
	set.SetOutput(stderr)
	if err := set.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, c.logLevel, "text")
	if err != nil {
		return err
	}
	now := time.Now()
	from, err := parseWhen(c.from, now)
	if err != nil {
		return fmt.Errorf("rollup: -rollup-from: %w", err)
	}
	to, err := parseWhen(c.to, now)
	if err != nil {
		return fmt.Errorf("rollup: -rollup-to: %w", err)
	}
	if !from.Before(to) {
		return fmt.Errorf("rollup: -rollup-from (%s) must be before -rollup-to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
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
	r := rollup.New(rollup.Config{Logger: log}, influx, hist, now)
	var bar *progressbar.ProgressBar
	started := time.Now()
	err = r.Backfill(ctx, from, to, func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("hours"),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true))
		}
		_ = bar.Set(done)
	})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rolled up %s … %s in %s\n", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), time.Since(started).Round(time.Millisecond))
	return nil
}

// parseWhen reads "now", an RFC 3339 time, or a negative duration before
// now (Go syntax, plus d for days: -7d, -36h, -1d12h).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := planner.ParseDays(s)
	if err != nil || d > 0 {
		return time.Time{}, fmt.Errorf("%q: want now, an RFC 3339 time or a duration before now such as -7d or -36h", s)
	}
	return now.Add(d), nil
}

// influxFlags adds the InfluxDB connection flags that serve and rollup
// share.
func influxFlags(s *config.Set, c *ingest.InfluxConfig) {
	s.String(&c.URL, "influx-url", "http://127.0.0.1:8086", "InfluxDB URL (2.x, or 1.8+ with its v2-compatible API)")
	s.Secret(&c.Token, "influx-token", "InfluxDB token (1.8: user:password, or any text with auth off)")
	s.String(&c.Org, "influx-org", "citytwin", "InfluxDB organisation (ignored by 1.8)")
	s.String(&c.Bucket, "influx-bucket", "citytwin", "InfluxDB bucket (1.8: database/retention-policy, database created if missing)")
}
