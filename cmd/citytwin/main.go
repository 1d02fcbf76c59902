// Command citytwin is the urban digital twin: one binary with subcommands.
//
//	citytwin serve      ingest MQTT into InfluxDB and serve the APIs
//	citytwin simulate   publish a simulated sensor fleet
//	citytwin bench      measure the running stack end to end
//	citytwin rollup     recompute hourly rollups from raw points
//	citytwin scenario   run a what-if scenario file on the history
//	citytwin version    print the version
//
// Every flag can also be set through a CITYTWIN_* environment variable;
// `citytwin <command> -h` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // alert day/night periods in the configured zone, also where the system has no zoneinfo
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "ingest MQTT into InfluxDB and serve the APIs", runServe},
		{"simulate", "publish a simulated sensor fleet over MQTT", runSimulate},
		{"bench", "measure publish→stored throughput and latency against a baseline", runBench},
		{"scenario", "run or validate a what-if scenario file (YAML or JSON) on the history", runScenario},
		{"rollup", "recompute the hourly rollups of a time range from the raw points", runRollup},
		{"config", "print the configuration table of a command as Markdown", runConfigDoc},
		{"version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "citytwin", version)
			return nil
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "citytwin:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: citytwin <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n`citytwin <command> -h` lists a command's flags and CITYTWIN_* variables.")
}

// newLogger builds the process logger: text or JSON on stderr at a level.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}
