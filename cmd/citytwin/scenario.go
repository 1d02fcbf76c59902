package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/internal/config"
	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
)

type scenarioConfig struct {
	influx   ingest.InfluxConfig
	city     string
	format   string
	out      string
	progress bool
	logLevel string
}

func scenarioFlags(getenv func(string) string) (*config.Set, *scenarioConfig) {
	c := &scenarioConfig{}
	s := config.NewSet("scenario", getenv)
	influxFlags(s, &c.influx)
	s.String(&c.city, "city", "", "folder with the city's cartography (city.json naming GeoJSON layers); empty uses the generated demo city, as serve does")
	s.String(&c.format, "scenario-format", "json", "output: json (the full result), csv (one row per feature and metric) or geojson (layers for a map)")
	s.String(&c.out, "scenario-out", "-", "file to write the result to; - is standard output")
	s.Bool(&c.progress, "scenario-progress", true, "show a progress bar on standard error")
	s.String(&c.logLevel, "log-level", "warn", "debug, info, warn or error")
	return s, c
}

// runScenario is `citytwin scenario run FILE` and `citytwin scenario
// validate FILE`: a what-if scenario (YAML or JSON, see planner.Spec) run
// on the history in InfluxDB, without a server.
func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := errors.New("usage: citytwin scenario run|validate [flags] FILE.yaml")
	if len(args) < 1 || (args[0] != "run" && args[0] != "validate") {
		return usage
	}
	verb := args[0]
	set, c := scenarioFlags(getenv)
	set.SetOutput(stderr)
	if err := set.Parse(args[1:]); err != nil {
		return err
	}
	if len(set.Args()) != 1 {
		return usage
	}
	file := set.Args()[0]
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	spec, err := planner.ParseSpec(data)
	if err == nil {
		err = spec.Validate()
	}
	if err != nil {
		return fmt.Errorf("scenario %s: %w", file, err)
	}
	if verb == "validate" {
		fmt.Fprintf(stdout, "%s: valid scenario %q\n", file, spec.Name)
		return nil
	}
	if c.format != "json" && c.format != "csv" && c.format != "geojson" {
		return fmt.Errorf("scenario: -scenario-format %q: want json, csv or geojson", c.format)
	}
	log, err := newLogger(stderr, c.logLevel, "text")
	if err != nil {
		return err
	}
	city, err := loadCity(c.city, log)
	if err != nil {
		return err
	}
	hist, err := history.New(history.Config{URL: c.influx.URL, Token: c.influx.Token, Org: c.influx.Org, Bucket: c.influx.Bucket, Logger: log})
	if err != nil {
		return err
	}
	defer hist.Close()
	// The noise model with the flows measured over the last week, as serve
	// builds it (roads without a traffic sensor keep their class flow).
	tenant := cmp.Or(spec.Tenant, twin.DefaultTenant)
	now := time.Now()
	flows, err := planner.MeasuredFlows(ctx, hist, []string{tenant}, now.Add(-planner.FlowWindow), now)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	model, err := dynamap.New(dynamap.Config{}, city, flows.Flows)
	if err != nil {
		return err
	}
	// No live twin here: sensors are placed by the locations stored with
	// their rollups.
	p, err := planner.New(planner.Config{Logger: log}, city, twin.NewState(city, twin.StateConfig{}), hist, model)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if c.progress {
		bar = progressbar.NewOptions(1000, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("starting"),
			progressbar.OptionSetWidth(30), progressbar.OptionShowElapsedTimeOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	res, err := p.Run(ctx, spec, func(stage string, done float64) {
		if bar != nil {
			bar.Describe(stage)
			_ = bar.Set(int(done * 1000))
		}
	})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return fmt.Errorf("scenario %s: %w", file, err)
	}
	w := stdout
	if c.out != "-" {
		f, err := os.Create(c.out)
		if err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		defer f.Close()
		w = f
	}
	switch c.format {
	case "csv":
		err = planner.WriteCSV(w, res)
	case "geojson":
		err = json.NewEncoder(w).Encode(p.GeoJSON(res))
	default:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	}
	if err != nil {
		return fmt.Errorf("scenario: write the result: %w", err)
	}
	fmt.Fprintf(stderr, "scenario %q: %.0f ms (InfluxDB %.0f ms, %d values)\n", res.Name, res.Timing.TotalMs, res.Timing.InfluxMs, res.Timing.Points)
	return nil
}
