package provision_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota/registry"
	"github.com/citytwin/citytwin/web/provision"
)

func TestExpireAndCompleteCommands(t *testing.T) {
	store, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []registry.CommandRecord{
		{APIKey: "k", DeviceID: "v1", Name: "open", Status: registry.CommandPending, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)},
		{APIKey: "k", DeviceID: "v2", Name: "open", Status: registry.CommandPending, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{APIKey: "k", DeviceID: "v3", Name: "open", Status: registry.CommandPending, CreatedAt: t0},
	} {
		if err := store.PutCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := provision.ExpireCommands(ctx, store, t0.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	for dev, want := range map[string]registry.CommandStatus{"v1": registry.CommandExpired, "v2": registry.CommandPending, "v3": registry.CommandPending} {
		if c, _, _ := store.Command(ctx, "k", dev, "open"); c.Status != want {
			t.Errorf("%s: %s, want %s", dev, c.Status, want)
		}
	}
	// A late result still completes an expired command, as the IoT Agents
	// accept one; a result for a command never sent is refused.
	if err := provision.CompleteCommand(ctx, store, "k", "v1", "open", "done", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := store.Command(ctx, "k", "v1", "open"); c.Status != registry.CommandOK || c.Info != "done" {
		t.Errorf("completed: %+v", c)
	}
	if err := provision.CompleteCommand(ctx, store, "k", "v9", "open", "x", t0); err == nil {
		t.Error("a result for a command never sent was accepted")
	}
}
