package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	protocols               []string
	provisionURL            string
	adminToken              string
	logLevel                string
}

func simulateFlags(getenv func(string) string) (*config.Set, *simulateConfig) {
	c := &simulateConfig{}
	s := config.NewSet("simulate", getenv)
	s.String(&c.mqttURL, "sim-mqtt-url", "tcp://127.0.0.1:1883", "broker to publish to")
	s.String(&c.user, "sim-mqtt-username", "", "MQTT username of the NGSI sensors (ul and json devices use the credentials citytwin issued to their group)")
	s.Secret(&c.password, "sim-mqtt-password", "MQTT password")
	s.Int(&c.count, "sim-sensors", 200, "number of simulated sensors (noise, air, traffic, irrigation, weather)")
	s.String(&c.tenant, "sim-tenant", "demo", "tenant: the second topic level ngsi/{tenant}/…, and the Fiware-Service of ul and json devices (then 1-40 of a-z, 0-9, _)")
	s.Int(&c.seed, "sim-seed", 1, "seed of the fleet (placement, per-sensor variation)")
	s.Float(&c.rate, "sim-rate", 50, "messages per second over the whole fleet; 0 publishes flat out")
	s.Duration(&c.duration, "sim-duration", 0, "stop after this long; 0 runs until interrupted")
	s.Strings(&c.shapes, "sim-shapes", nil, "payload shapes to use, comma-separated; empty uses all of "+shapeList())
	s.Int(&c.publishers, "sim-publishers", 1, "parallel MQTT connections of the NGSI sensors and of each vendor group")
	s.String(&c.city, "sim-city", "", "place the fleet on this city's cartography (a CITYTWIN_CITY folder); empty uses the generated demo city, as serve does")
	s.Strings(&c.protocols, "sim-protocol", []string{"ngsi"}, "how the sensors publish, assigned round-robin: ngsi, ul (IoT Agent UltraLight 2.0), json (IoT Agent JSON), mixed (all three) or a comma-separated list; ul and json devices are provisioned through citytwin's API first")
	s.String(&c.provisionURL, "sim-provision-url", "http://127.0.0.1:8080", "citytwin's HTTP address, where the ul and json devices are provisioned (one service group per simulated vendor and protocol)")
	s.Secret(&c.adminToken, "admin-token", "admin token of citytwin's provisioning API, needed by ul and json; serve writes one to DATA_DIR/admin-token when none is configured")
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

// simProtocols reads the -sim-protocol list.
func simProtocols(names []string) ([]sim.Protocol, error) {
	var out []sim.Protocol
	for _, n := range names {
		if strings.EqualFold(n, "mixed") {
			out = append(out, sim.Protocols...)
			continue
		}
		p := sim.Protocol(strings.ToLower(n))
		if !slices.Contains(sim.Protocols, p) {
			return nil, fmt.Errorf("simulate: -sim-protocol %q: want ngsi, ul, json, mixed or a comma-separated list of ngsi, ul and json", n)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("simulate: -sim-protocol is empty: want ngsi, ul, json or mixed")
	}
	return out, nil
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
	protocols, err := simProtocols(c.protocols)
	if err != nil {
		return err
	}
	city, err := loadCity(c.city, log)
	if err != nil {
		return err
	}
	fc := sim.FleetConfig{Count: c.count, Tenant: c.tenant, Seed: int64(c.seed), City: city, Protocols: protocols}
	for _, s := range c.shapes {
		fc.Shapes = append(fc.Shapes, sim.Shape(s))
	}
	if err := fc.Validate(); err != nil {
		return err
	}
	fleet := sim.NewFleet(fc)
	vendors := fleet.Vendors(nil)
	var creds map[string]sim.Credentials
	if len(vendors) > 0 {
		if c.adminToken == "" {
			return errors.New("simulate: -sim-protocol ul and json provision their devices through citytwin's API, which needs its admin token: " +
				"-admin-token, CITYTWIN_ADMIN_TOKEN, or CITYTWIN_ADMIN_TOKEN_FILE=DATA_DIR/admin-token (the file serve writes when no token is configured)")
		}
		creds, err = sim.Provision(ctx, fleet, sim.ProvisionConfig{URL: c.provisionURL, AdminToken: c.adminToken, Retry: 30 * time.Second}, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		describeVendors(stdout, fleet, vendors, c.provisionURL)
	}
	fmt.Fprintf(stdout, "simulating %d sensors of tenant %q (%s) at %g msg/s on %s\n", fleet.Len(), fleet.Tenant(), strings.Join(c.protocols, ","), c.rate, c.mqttURL)
	st, err := sim.Run(ctx, c.mqttURL, fleet, sim.RunConfig{
		Rate: c.rate, Duration: c.duration, Publishers: c.publishers, Username: c.user, Password: c.password, Credentials: creds,
	}, log)
	fmt.Fprintf(stdout, "published %d messages (%d failed) in %s", st.Published, st.Failed, st.Elapsed.Round(time.Millisecond))
	if st.Commands > 0 {
		fmt.Fprintf(stdout, "; %d commands answered", st.Commands)
	}
	fmt.Fprintln(stdout)
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// describeVendors prints the provisioned groups and how to drive an
// irrigation controller; no secret is printed.
func describeVendors(w io.Writer, f *sim.Fleet, vendors []sim.Vendor, provisionURL string) {
	devices := 0
	var ctl *sim.Sensor
	sensors := f.Sensors()
	for _, v := range vendors {
		devices += len(v.Devices)
		for _, i := range v.Sensors {
			if sensors[i].Controller && ctl == nil {
				ctl = &sensors[i]
			}
		}
		fmt.Fprintf(w, "provisioned %3d devices of group %s (Fiware-Service %s, path %s)\n", len(v.Devices), v.Group.APIKey, v.Group.Service, v.Group.ServicePath)
	}
	fmt.Fprintf(w, "provisioned %d IoT Agent devices in %d service groups at %s\n", devices, len(vendors), provisionURL)
	if ctl != nil {
		fmt.Fprintf(w, "irrigation controllers take open_valve (value: minutes), e.g.\n"+
			"  curl -X POST %s/iot/devices/%s/commands -H \"Authorization: Bearer $CITYTWIN_ADMIN_TOKEN\" \\\n"+
			"    -H 'Fiware-Service: %s' -H 'Fiware-ServicePath: /%s' -H 'Content-Type: application/json' -d '{\"name\":\"open_valve\",\"value\":\"10\"}'\n",
			strings.TrimRight(provisionURL, "/"), ctl.LocalID, f.Tenant(), ctl.Vendor)
	}
}
