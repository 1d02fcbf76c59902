package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/citytwin/citytwin/internal/config"
)

// getenv is the environment lookup; tests replace it.
var getenv = os.Getenv

// runConfigDoc prints a command's settings as a Markdown table, so README.md's
// configuration table is generated from the code.
func runConfigDoc(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: citytwin config serve|simulate|bench|rollup|scenario")
	}
	noEnv := func(string) string { return "" }
	var set *config.Set
	switch args[0] {
	case "serve":
		set, _ = serveFlags(noEnv)
	case "simulate":
		set, _ = simulateFlags(noEnv)
	case "bench":
		set, _ = benchFlags(noEnv)
	case "rollup":
		set, _ = rollupFlags(noEnv)
	case "scenario":
		set, _ = scenarioFlags(noEnv)
	default:
		return fmt.Errorf("no configuration for %q", args[0])
	}
	set.Markdown(stdout)
	return nil
}
