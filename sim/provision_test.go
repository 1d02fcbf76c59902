package sim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/iota/registry"
	"github.com/citytwin/citytwin/sim"
	"github.com/citytwin/citytwin/web/provision"
)

// TestProvision provisions a fleet through citytwin's provisioning API
// (web/provision over a real registry): groups and devices as the fleet
// lists them, credentials that open the broker fence; a rerun rotates the
// credentials and updates the devices; errors say what to fix.
func TestProvision(t *testing.T) {
	const admin = "admin-token-for-sim-tests-0123"
	store, err := registry.New(registry.Config{Path: filepath.Join(t.TempDir(), "registry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	mux := http.NewServeMux()
	(&provision.API{Store: store, AdminToken: admin}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := t.Context()

	f := sim.NewFleet(sim.FleetConfig{Count: 250, Seed: 6, Tenant: "prov", Protocols: sim.Protocols})
	vendors := f.Vendors(nil)
	creds, err := sim.Provision(ctx, f, sim.ProvisionConfig{URL: srv.URL, AdminToken: admin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != len(vendors) {
		t.Fatalf("%d credentials for %d groups", len(creds), len(vendors))
	}
	for _, v := range vendors {
		cr := creds[v.Group.APIKey]
		if key, ok := store.CheckMQTT(cr.Username, cr.Password); !ok || key != v.Group.APIKey {
			t.Errorf("%s: MQTT credentials not accepted (%q, %v)", v.Group.APIKey, key, ok)
		}
		if svc, ok := store.CheckToken(cr.Token); !ok || svc != "prov" {
			t.Errorf("%s: vendor token for %q", v.Group.APIKey, svc)
		}
		if g, ok := store.GroupByAPIKey(v.Group.APIKey); !ok || g.ServicePath != v.Group.ServicePath || g.Resource != v.Group.Resource {
			t.Errorf("stored group %+v", g)
		}
		for _, d := range v.Devices {
			got, ok := store.DeviceByKey(v.Group.APIKey, d.DeviceID)
			if !ok || got.EntityName != d.EntityName || len(got.Attributes) != len(d.Attributes) || len(got.Commands) != len(d.Commands) {
				t.Errorf("stored device %+v, want %+v", got, d)
			}
		}
	}

	// A rerun with another seed: same groups (rotated), devices updated in
	// place (other types at the same ids, other places).
	f2 := sim.NewFleet(sim.FleetConfig{Count: 250, Seed: 7, Tenant: "prov", Protocols: sim.Protocols})
	creds2, err := sim.Provision(ctx, f2, sim.ProvisionConfig{URL: srv.URL, AdminToken: admin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, cr := range creds2 {
		if old, ok := creds[key]; ok {
			if old.Password == cr.Password {
				t.Errorf("%s: credentials not rotated", key)
			}
			if _, ok := store.CheckMQTT(old.Username, old.Password); ok {
				t.Errorf("%s: the old credentials still work", key)
			}
		}
	}
	for _, v := range f2.Vendors(nil) {
		for _, d := range v.Devices {
			got, ok := store.DeviceByKey(v.Group.APIKey, d.DeviceID)
			if !ok || got.EntityType != d.EntityType || len(got.Commands) != len(d.Commands) ||
				string(got.StaticAttributes[0].Value.AppendJSON(nil)) != string(d.StaticAttributes[0].Value.AppendJSON(nil)) {
				t.Fatalf("device %s after the rerun: %+v, want %+v", d.DeviceID, got, d)
			}
		}
	}

	// Errors name what to fix.
	_, err = sim.Provision(ctx, f, sim.ProvisionConfig{URL: srv.URL, AdminToken: "wrong-token-0123456789"}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "DATA_DIR/admin-token") {
		t.Errorf("wrong token: %v", err)
	}
	if err := store.CreateGroup(ctx, iota.Group{Service: "other", ServicePath: "/", APIKey: "taken-acoustics-ul", Resource: "/iot/d"}); err != nil {
		t.Fatal(err)
	}
	taken := sim.NewFleet(sim.FleetConfig{Count: 20, Tenant: "taken", Protocols: []sim.Protocol{sim.ProtocolUL}})
	if _, err := sim.Provision(ctx, taken, sim.ProvisionConfig{URL: srv.URL, AdminToken: admin}, nil); err == nil || !strings.Contains(err.Error(), "taken-acoustics-ul") {
		t.Errorf("apikey of another service: %v", err)
	}
	for _, pc := range []sim.ProvisionConfig{{URL: "ftp://x", AdminToken: admin}, {URL: srv.URL}} {
		if _, err := sim.Provision(ctx, f, pc, nil); !errors.Is(err, sim.ErrInvalidConfig) {
			t.Errorf("Provision(%+v) = %v, want ErrInvalidConfig", pc, err)
		}
	}
	// Nothing to provision for an NGSI fleet, and no request.
	if c, err := sim.Provision(context.Background(), sim.NewFleet(sim.FleetConfig{Count: 5}), sim.ProvisionConfig{}, nil); err != nil || len(c) != 0 {
		t.Errorf("NGSI fleet: %v %v", c, err)
	}
	// No server: an error naming the address, after the retries.
	srv.Close()
	if _, err := sim.Provision(ctx, f, sim.ProvisionConfig{URL: srv.URL, AdminToken: admin}, nil); err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("no server: %v", err)
	}
}
