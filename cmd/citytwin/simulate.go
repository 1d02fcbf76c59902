package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/citytwin/citytwin/internal/config"
	"github.com/citytwin/citytwin/sim"
)

type simulateConfig struct {
	mqttURL, user, password string
	count                   int
	tenant                  string
	seed                    int
	rate                    float64
	duration                time.Duration
	shapes                  []string
	publishers              int
	city                    string
	logLevel                string
}

func simulateFlags(getenv func(string) string) (*config.Set, *simulateConfig) {
	c := &simulateConfig{}
	s := config.NewSet("simulate", getenv)
	s.String(&c.mqttURL, "sim-mqtt-url", "tcp://127.0.0.1:1883", "broker to publish to")
	s.String(&c.user, "sim-mqtt-username", "", "MQTT username")
	s.Secret(&c.password, "sim-mqtt-password", "MQTT password")
	s.Int(&c.count, "sim-sensors", 200, "number of simulated sensors (noise, air, traffic, irrigation, weather)")
	s.String(&c.tenant, "sim-tenant", "demo", "tenant: the second topic level ngsi/{tenant}/…")
	s.Int(&c.seed, "sim-seed", 1, "seed of the fleet (placement, per-sensor variation)")
	s.Float(&c.rate, "sim-rate", 50, "messages per second over the whole fleet; 0 publishes flat out")
	s.Duration(&c.duration, "sim-duration", 0, "stop after this long; 0 runs until interrupted")
	s.Strings(&c.shapes, "sim-shapes", nil, "payload shapes to use, comma-separated; empty uses all of "+shapeList())
	s.Int(&c.publishers, "sim-publishers", 1, "parallel MQTT connections")
	s.String(&c.city, "sim-city", "", "place the fleet on this city's cartography (a CITYTWIN_CITY folder); empty uses the generated demo city, as serve does")
	s.String(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	return s, c
}

func shapeList() string {
	names := make([]string, len(sim.Shapes))
	for i, s := range sim.Shapes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	set, c := simulateFlags(getenv)
	set.SetOutput(stderr)
	if err := set.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, c.logLevel, "text")
	if err != nil {
		return err
	}
	city, err := loadCity(c.city, log)
	if err != nil {
		return err
	}
	fc := sim.FleetConfig{Count: c.count, Tenant: c.tenant, Seed: int64(c.seed), City: city}
	for _, s := range c.shapes {
		fc.Shapes = append(fc.Shapes, sim.Shape(s))
	}
	if err := fc.Validate(); err != nil {
		return err
	}
	fleet := sim.NewFleet(fc)
	fmt.Fprintf(stdout, "simulating %d sensors of tenant %q at %g msg/s on %s\n", fleet.Len(), fleet.Tenant(), c.rate, c.mqttURL)
	st, err := sim.Run(ctx, c.mqttURL, fleet, sim.RunConfig{
		Rate: c.rate, Duration: c.duration, Publishers: c.publishers, Username: c.user, Password: c.password,
	}, log)
	fmt.Fprintf(stdout, "published %d messages (%d failed) in %s\n", st.Published, st.Failed, st.Elapsed.Round(time.Millisecond))
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
