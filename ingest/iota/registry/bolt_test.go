package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/iota/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string) *registry.Bolt {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "registry.db")
	}
	b, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func group(service, path, apikey string) iota.Group {
	return iota.Group{
		Service: service, ServicePath: path, Resource: "/iot/d", APIKey: apikey, EntityType: "NoiseLevelObserved",
		Attributes: []iota.Attribute{{ObjectID: "l", Name: "LAeq", Type: "Number"}},
	}
}

func device(service, path, id, apikey string) iota.Device {
	return iota.Device{
		Service: service, ServicePath: path, DeviceID: id, APIKey: apikey, EntityType: "NoiseLevelObserved",
		Attributes: []iota.Attribute{{ObjectID: "l", Name: "LAeq", Type: "Number"}},
	}
}

func mustCreateGroup(t *testing.T, s registry.Store, g iota.Group) {
	t.Helper()
	if err := s.CreateGroup(t.Context(), g); err != nil {
		t.Fatalf("CreateGroup(%s): %v", g.APIKey, err)
	}
}

func mustCreateDevice(t *testing.T, s registry.Store, d iota.Device) {
	t.Helper()
	if err := s.CreateDevice(t.Context(), d); err != nil {
		t.Fatalf("CreateDevice(%s): %v", d.DeviceID, err)
	}
}

func TestGroups(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	mustCreateGroup(t, s, group("milan", "/noise", "k1"))
	mustCreateGroup(t, s, group("milan", "/air", "k2"))
	mustCreateGroup(t, s, group("turin", "/", "k3"))

	for _, tc := range []struct {
		name string
		g    iota.Group
		want error
	}{
		{"same identity", group("milan", "/noise", "k1"), registry.ErrExists},
		{"apikey of another service", group("turin", "/", "k1"), registry.ErrConflict},
		{"apikey of another path", group("milan", "/air", "k1"), registry.ErrConflict},
		{"apikey with another resource", func() iota.Group { g := group("milan", "/noise", "k1"); g.Resource = "/iot/json"; return g }(), registry.ErrConflict},
	} {
		if err := s.CreateGroup(ctx, tc.g); !errors.Is(err, tc.want) {
			t.Errorf("%s: CreateGroup = %v, want %v", tc.name, err, tc.want)
		}
	}
	bad := group("milan", "/noise", "")
	var fe *iota.FieldError
	if err := s.CreateGroup(ctx, bad); !errors.As(err, &fe) || fe.Field != "apikey" {
		t.Errorf("CreateGroup without apikey = %v, want a FieldError on apikey", err)
	}

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/*", []string{"k2", "k1"}}, // ordered by path: /air, /noise
		{"", []string{"k2", "k1"}},
		{"/noise", []string{"k1"}},
		{"/nothing", nil},
	} {
		gs, err := s.Groups(ctx, "milan", tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range gs {
			got = append(got, g.APIKey)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Groups(milan, %q) = %v, want %v", tc.path, got, tc.want)
		}
	}

	if g, ok := s.GroupByAPIKey("k3"); !ok || g.Service != "turin" || g.ServicePath != "/" {
		t.Errorf("GroupByAPIKey(k3) = %+v, %v", g, ok)
	}
	if _, ok := s.GroupByAPIKey("nope"); ok {
		t.Error("GroupByAPIKey(nope) found a group")
	}

	err := s.UpdateGroup(ctx, "milan", "/noise", "k1", "/iot/d", func(g *iota.Group) error {
		g.EntityType = "NoisePollution"
		g.APIKey, g.Service = "hijack", "turin" // identity is kept
		g.Attributes[0].Name = "LAmax"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := s.GroupByAPIKey("k1"); g.EntityType != "NoisePollution" || g.Service != "milan" || g.Attributes[0].Name != "LAmax" {
		t.Errorf("after UpdateGroup: %+v", g)
	}
	if _, ok := s.GroupByAPIKey("hijack"); ok {
		t.Error("UpdateGroup changed the apikey")
	}
	errPatch := errors.New("no")
	if err := s.UpdateGroup(ctx, "milan", "/noise", "k1", "/iot/d", func(*iota.Group) error { return errPatch }); err != errPatch {
		t.Errorf("UpdateGroup with failing patch = %v", err)
	}
	if err := s.UpdateGroup(ctx, "milan", "/noise", "k1", "/iot/d", func(g *iota.Group) error { g.EntityType = "_bad"; return nil }); !errors.As(err, &fe) {
		t.Errorf("UpdateGroup to an invalid group = %v, want a FieldError", err)
	}
	for _, id := range [][4]string{{"milan", "/air", "k1", "/iot/d"}, {"milan", "/noise", "k1", "/iot/json"}, {"turin", "/noise", "k1", "/iot/d"}} {
		if err := s.UpdateGroup(ctx, id[0], id[1], id[2], id[3], func(*iota.Group) error { return nil }); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("UpdateGroup%v = %v, want ErrNotFound", id, err)
		}
		if err := s.DeleteGroup(ctx, id[0], id[1], id[2], id[3]); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("DeleteGroup%v = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.DeleteGroup(ctx, "milan", "/noise", "k1", "/iot/d"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.GroupByAPIKey("k1"); ok {
		t.Error("deleted group still found")
	}
	// The apikey is free again, in any scope.
	mustCreateGroup(t, s, group("turin", "/", "k1"))
}

func TestDeviceLookupRule(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	mustCreateGroup(t, s, group("milan", "/noise", "K"))
	mustCreateDevice(t, s, device("milan", "/noise", "d1", ""))   // takes its group's apikey
	mustCreateDevice(t, s, device("milan", "/noise", "d2", "K"))  // names its group's apikey
	mustCreateDevice(t, s, device("milan", "/air", "d3", ""))     // no group in its scope
	mustCreateDevice(t, s, device("milan", "/air", "d4", "solo")) // an apikey without group

	reach := func(apikey, id string, want bool) {
		t.Helper()
		d, ok := s.DeviceByKey(apikey, id)
		if ok != want || (ok && d.DeviceID != id) {
			t.Errorf("DeviceByKey(%s, %s) = %s, %v; want found=%v", apikey, id, d.DeviceID, ok, want)
		}
	}
	reach("K", "d1", true)
	reach("K", "d2", true)
	reach("K", "d3", false)
	reach("solo", "d4", true)
	reach("solo", "d3", false)

	// A device id is unique per (service, path); the same id elsewhere is
	// another device.
	if err := s.CreateDevice(ctx, device("milan", "/noise", "d1", "")); !errors.Is(err, registry.ErrExists) {
		t.Errorf("duplicate device = %v, want ErrExists", err)
	}
	mustCreateDevice(t, s, device("milan", "/other", "d1", ""))
	reach("K", "d1", true)
	if d, _ := s.DeviceByKey("K", "d1"); d.ServicePath != "/noise" {
		t.Errorf("DeviceByKey(K, d1) is in %s", d.ServicePath)
	}

	// An apikey belongs to one scope.
	for _, d := range []iota.Device{device("turin", "/", "x", "K"), device("milan", "/air", "x", "K"), device("milan", "/noise", "x", "solo")} {
		if err := s.CreateDevice(ctx, d); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("device %s/%s with apikey %s = %v, want ErrConflict", d.Service, d.ServicePath, d.APIKey, err)
		}
	}
	if err := s.CreateGroup(ctx, group("turin", "/", "solo")); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("group with an apikey devices of another scope use = %v, want ErrConflict", err)
	}
	// But a group may take the apikey its own scope's devices name.
	mustCreateGroup(t, s, group("milan", "/air", "solo"))
	reach("solo", "d3", true) // d3 has no apikey: it now takes the group's

	// A second group of the scope reaches the devices without apikey too.
	mustCreateGroup(t, s, group("milan", "/noise", "K2"))
	reach("K2", "d1", true)
	reach("K2", "d2", false)

	// Changing a device's apikey moves it.
	err := s.UpdateDevice(ctx, "milan", "/noise", "d1", func(d *iota.Device) error { d.APIKey = "K"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	reach("K", "d1", true)
	reach("K2", "d1", false)
	if err := s.UpdateDevice(ctx, "milan", "/noise", "d1", func(d *iota.Device) error { d.APIKey = "solo"; return nil }); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("UpdateDevice to another scope's apikey = %v, want ErrConflict", err)
	}
	if err := s.UpdateDevice(ctx, "milan", "/noise", "nope", func(*iota.Device) error { return nil }); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("UpdateDevice(nope) = %v, want ErrNotFound", err)
	}

	// Deleting the group unlinks the devices that took its apikey.
	if err := s.DeleteGroup(ctx, "milan", "/noise", "K2", "/iot/d"); err != nil {
		t.Fatal(err)
	}
	mustCreateDevice(t, s, device("milan", "/noise", "d5", ""))
	reach("K", "d5", true)
	reach("K2", "d5", false)

	if err := s.DeleteDevice(ctx, "milan", "/noise", "d1"); err != nil {
		t.Fatal(err)
	}
	reach("K", "d1", false)
	if err := s.DeleteDevice(ctx, "milan", "/noise", "d1"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("second DeleteDevice = %v, want ErrNotFound", err)
	}
	if _, ok, _ := s.Device(ctx, "milan", "/other", "d1"); !ok {
		t.Error("the other d1 went too")
	}
}

func TestCreateDevicesIsAtomic(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	batch := []iota.Device{device("milan", "/", "a", ""), device("milan", "/", "b", ""), device("milan", "/", "a", "")}
	if err := s.CreateDevices(ctx, batch); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("batch with a duplicate = %v, want ErrExists", err)
	}
	batch = []iota.Device{device("milan", "/", "a", "k"), device("milan", "/x", "b", "k")}
	if err := s.CreateDevices(ctx, batch); !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("batch giving an apikey two scopes = %v, want ErrConflict", err)
	}
	bad := device("milan", "/", "c", "")
	bad.Attributes = append(bad.Attributes, iota.Attribute{Name: "x"})
	var fe *iota.FieldError
	if err := s.CreateDevices(ctx, []iota.Device{device("milan", "/", "a", ""), bad}); !errors.As(err, &fe) || fe.Field != "attributes[1].type" {
		t.Fatalf("batch with an invalid device = %v, want a FieldError on attributes[1].type", err)
	}
	if _, n, _ := s.Devices(ctx, "milan", "/*", 0, 0); n != 0 {
		t.Fatalf("failed batches left %d devices", n)
	}
	// Empty path means "/".
	if err := s.CreateDevices(ctx, []iota.Device{device("milan", "", "a", ""), device("milan", "/", "b", "")}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Device(ctx, "milan", "/", "a"); !ok {
		t.Error("device created with an empty path is not in /")
	}
}

func TestDevicesList(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	var batch []iota.Device
	for i := range 25 {
		batch = append(batch, device("milan", "/a", fmt.Sprintf("d%02d", i), ""))
	}
	batch = append(batch, device("milan", "/a/b", "z", ""), device("milan", "/b", "y", ""), device("turin", "/a", "w", ""))
	if err := s.CreateDevices(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path          string
		limit, offset int
		count         int
		first, last   string
		n             int
	}{
		{"/a", 0, 0, 25, "d00", "d24", 25},
		{"/a", 10, 0, 25, "d00", "d09", 10},
		{"/a", 10, 20, 25, "d20", "d24", 5},
		{"/a", 10, 30, 25, "", "", 0},
		{"/*", 0, 0, 27, "d00", "y", 27},
		{"/a/b", 0, 0, 1, "z", "z", 1},
		{"/c", 0, 0, 0, "", "", 0},
	} {
		ds, count, err := s.Devices(ctx, "milan", tc.path, tc.limit, tc.offset)
		if err != nil {
			t.Fatal(err)
		}
		if count != tc.count || len(ds) != tc.n {
			t.Errorf("Devices(%s, %d, %d): %d devices of %d, want %d of %d", tc.path, tc.limit, tc.offset, len(ds), count, tc.n, tc.count)
			continue
		}
		if tc.n > 0 && (ds[0].DeviceID != tc.first || ds[len(ds)-1].DeviceID != tc.last) {
			t.Errorf("Devices(%s, %d, %d) from %s to %s, want %s to %s", tc.path, tc.limit, tc.offset, ds[0].DeviceID, ds[len(ds)-1].DeviceID, tc.first, tc.last)
		}
	}
}

func TestCredentials(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "registry.db")
	s := open(t, path)
	mustCreateGroup(t, s, group("milan", "/", "k1"))
	mustCreateGroup(t, s, group("turin", "/", "k2"))
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	c1, sec1, err := registry.NewCredentials("k1", now)
	if err != nil {
		t.Fatal(err)
	}
	if sec1.MQTTUsername != "k1" || len(sec1.MQTTPassword) != 43 || !strings.HasPrefix(sec1.Token, registry.TokenPrefix) {
		t.Fatalf("secrets %+v", sec1)
	}
	if err := s.SetCredentials(ctx, "k1", c1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCredentials(ctx, "nope", c1); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("SetCredentials for no group = %v, want ErrNotFound", err)
	}
	if err := s.SetCredentials(ctx, "k1", registry.Credentials{MQTTUsername: "k1"}); err == nil {
		t.Error("SetCredentials without hashes succeeded")
	}
	c2, sec2, _ := registry.NewCredentials("k2", now)
	c2.MQTTUsername = "k1"
	if err := s.SetCredentials(ctx, "k2", c2); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("SetCredentials with another group's username = %v, want ErrConflict", err)
	}
	c2.MQTTUsername = "k2"
	if err := s.SetCredentials(ctx, "k2", c2); err != nil {
		t.Fatal(err)
	}

	check := func(user, pw, wantKey string) {
		t.Helper()
		k, ok := s.CheckMQTT(user, pw)
		if k != wantKey || ok != (wantKey != "") {
			t.Errorf("CheckMQTT(%s, …) = %q, %v; want %q", user, k, ok, wantKey)
		}
	}
	check("k1", sec1.MQTTPassword, "k1")
	check("k2", sec2.MQTTPassword, "k2")
	check("k1", sec2.MQTTPassword, "")
	check("k1", "", "")
	check("nobody", sec1.MQTTPassword, "")
	if svc, ok := s.CheckToken(sec1.Token); !ok || svc != "milan" {
		t.Errorf("CheckToken(token of k1) = %q, %v", svc, ok)
	}
	if svc, ok := s.CheckToken(sec2.Token); !ok || svc != "turin" {
		t.Errorf("CheckToken(token of k2) = %q, %v", svc, ok)
	}
	if _, ok := s.CheckToken(sec1.Token + "x"); ok {
		t.Error("CheckToken accepted a wrong token")
	}
	if _, ok := s.CheckToken(""); ok {
		t.Error("CheckToken accepted an empty token")
	}

	// Rotation invalidates the old secrets at once.
	c1b, sec1b, _ := registry.NewCredentials("k1", now.Add(time.Hour))
	if err := s.SetCredentials(ctx, "k1", c1b); err != nil {
		t.Fatal(err)
	}
	check("k1", sec1.MQTTPassword, "")
	check("k1", sec1b.MQTTPassword, "k1")
	if _, ok := s.CheckToken(sec1.Token); ok {
		t.Error("the rotated token still works")
	}
	if got, ok := s.Credentials("k1"); !ok || !got.IssuedAt.Equal(now.Add(time.Hour)) || !bytes.Equal(got.TokenHash, registry.HashSecret(sec1b.Token)) {
		t.Errorf("Credentials(k1) = %+v, %v", got, ok)
	}

	// Deleting the group revokes its credentials.
	if err := s.DeleteGroup(ctx, "turin", "/", "k2", "/iot/d"); err != nil {
		t.Fatal(err)
	}
	check("k2", sec2.MQTTPassword, "")
	if _, ok := s.CheckToken(sec2.Token); ok {
		t.Error("the deleted group's token still works")
	}

	// Only hashes reach the disk.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{sec1.MQTTPassword, sec1.Token, sec1b.MQTTPassword, sec1b.Token, sec2.MQTTPassword, sec2.Token} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database file holds a clear-text secret")
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, s, group("milan", "/noise", "K"))
	creds, sec, _ := registry.NewCredentials("K", time.Now())
	if err := s.SetCredentials(ctx, "K", creds); err != nil {
		t.Fatal(err)
	}
	mustCreateDevice(t, s, device("milan", "/noise", "d1", ""))
	mustCreateDevice(t, s, device("milan", "/noise", "d2", ""))
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s.RecordMeasure("K", "d1", at, 3, 1, "attribute x: not a number")
	s.RecordMeasure("K", "d1", at.Add(-time.Minute), 2, 0, "") // older: lastSeen stays
	s.RecordMeasure("K", "nobody", at, 1, 0, "")               // unknown device: ignored
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.RecordMeasure("K", "d2", at, 1, 0, "") // written by Close
	cmd := registry.CommandRecord{APIKey: "K", DeviceID: "d1", Name: "ping", Value: iota.Text("hello"), Status: registry.CommandPending, CreatedAt: at}
	if err := s.PutCommand(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := s.CreateGroup(ctx, group("x", "/", "x")); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("CreateGroup after Close = %v, want ErrClosed", err)
	}

	s = open(t, path)
	if g, ok := s.GroupByAPIKey("K"); !ok || g.Attributes[0].Name != "LAeq" {
		t.Errorf("group after reopen: %+v, %v", g, ok)
	}
	if k, ok := s.CheckMQTT("K", sec.MQTTPassword); !ok || k != "K" {
		t.Error("MQTT credentials lost")
	}
	if svc, ok := s.CheckToken(sec.Token); !ok || svc != "milan" {
		t.Error("token lost")
	}
	if _, ok := s.DeviceByKey("K", "d1"); !ok {
		t.Error("device lost")
	}
	st, ok := s.Status("K", "d1")
	want := registry.DeviceStatus{LastSeen: at, Accepted: 5, Rejected: 1, LastError: "attribute x: not a number", LastErrorAt: at}
	if !ok || st != want {
		t.Errorf("status after reopen = %+v, want %+v", st, want)
	}
	if st, _ := s.DeviceStatus("milan", "/noise", "d2"); st.Accepted != 1 {
		t.Errorf("status flushed by Close = %+v", st)
	}
	if _, ok := s.Status("K", "nobody"); ok {
		t.Error("an unknown device got a status")
	}
	got, ok, err := s.Command(ctx, "K", "d1", "ping")
	if err != nil || !ok || got.Value.Str != "hello" || got.Status != registry.CommandPending {
		t.Errorf("command after reopen = %+v, %v, %v", got, ok, err)
	}
}

func TestCommands(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	mustCreateGroup(t, s, group("milan", "/", "K"))
	mustCreateDevice(t, s, device("milan", "/", "valve1", ""))
	mustCreateDevice(t, s, device("milan", "/", "valve2", ""))
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	put := func(dev, name string, st registry.CommandStatus, at time.Time) {
		t.Helper()
		c := registry.CommandRecord{APIKey: "K", DeviceID: dev, Name: name, Service: "milan", ServicePath: "/", Value: iota.Number(30), Status: st, CreatedAt: at, UpdatedAt: at}
		if err := s.PutCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	put("valve1", "open", registry.CommandPending, t0.Add(2*time.Second))
	put("valve2", "open", registry.CommandDelivered, t0.Add(time.Second))
	put("valve1", "close", registry.CommandOK, t0)
	if err := s.PutCommand(ctx, registry.CommandRecord{APIKey: "K"}); err == nil {
		t.Error("PutCommand without device and name succeeded")
	}
	pending, err := s.PendingCommands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].DeviceID != "valve2" || pending[1].DeviceID != "valve1" {
		t.Errorf("PendingCommands = %+v, want valve2 then valve1", pending)
	}
	put("valve1", "open", registry.CommandOK, t0.Add(3*time.Second)) // the result replaces the record
	if c, _, _ := s.Command(ctx, "K", "valve1", "open"); c.Status != registry.CommandOK {
		t.Errorf("command after result: %+v", c)
	}
	if _, ok, err := s.Command(ctx, "K", "valve1", "nope"); ok || err != nil {
		t.Errorf("Command(nope) = %v, %v", ok, err)
	}
	if err := s.DeleteDevice(ctx, "milan", "/", "valve1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Command(ctx, "K", "valve1", "close"); ok {
		t.Error("a deleted device's commands remain")
	}
	if _, ok, _ := s.Command(ctx, "K", "valve2", "open"); !ok {
		t.Error("another device's command went")
	}
}

func TestWatch(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	var got []string
	s.Watch(func(c registry.Change) {
		// Callbacks may read the store.
		_, found := s.GroupByAPIKey(c.APIKey)
		got = append(got, fmt.Sprintf("%s %s %s/%s %s %s %v", c.Kind, c.Op, c.Service, c.ServicePath, c.APIKey, c.DeviceID, found))
	})
	mustCreateGroup(t, s, group("milan", "/", "K"))
	creds, _, _ := registry.NewCredentials("K", time.Now())
	_ = s.SetCredentials(ctx, "K", creds)
	_ = s.SetCredentials(ctx, "K", creds)
	mustCreateDevice(t, s, device("milan", "/", "d1", ""))
	_ = s.UpdateDevice(ctx, "milan", "/", "d1", func(d *iota.Device) error { d.EntityType = "X"; return nil })
	_ = s.DeleteDevice(ctx, "milan", "/", "d1")
	_ = s.UpdateGroup(ctx, "milan", "/", "K", "/iot/d", func(*iota.Group) error { return nil })
	_ = s.DeleteGroup(ctx, "milan", "/", "K", "/iot/d")
	_ = s.CreateGroup(ctx, group("milan", "/", "")) // invalid: no change
	want := []string{
		"group create milan// K  true",
		"credentials create milan// K  true",
		"credentials update milan// K  true",
		"device create milan//  d1 false", // no apikey of its own
		"device update milan//  d1 false",
		"device delete milan//  d1 false",
		"group update milan// K  true",
		"group delete milan// K  false",
		"credentials delete milan// K  false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestConcurrentHotPath(t *testing.T) {
	ctx := t.Context()
	s := open(t, "")
	mustCreateGroup(t, s, group("milan", "/", "K"))
	creds, sec, _ := registry.NewCredentials("K", time.Now())
	if err := s.SetCredentials(ctx, "K", creds); err != nil {
		t.Fatal(err)
	}
	mustCreateDevice(t, s, device("milan", "/", "stable", ""))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, ok := s.GroupByAPIKey("K"); !ok {
					t.Error("group vanished")
					return
				}
				if d, ok := s.DeviceByKey("K", "stable"); !ok || d.Attributes[0].Name == "" {
					t.Error("device vanished")
					return
				}
				s.DeviceByKey("K", fmt.Sprintf("d%d", i%50))
				s.RecordMeasure("K", "stable", time.Now(), 1, 0, "")
				s.RecordMeasure("K", fmt.Sprintf("d%d", i%50), time.Now(), 1, 1, "bad")
				if r == 0 {
					if _, ok := s.CheckMQTT("K", sec.MQTTPassword); !ok {
						t.Error("MQTT check failed")
						return
					}
					s.CheckToken(sec.Token)
					s.Status("K", "stable")
				}
			}
		})
	}
	for i := range 50 {
		id := fmt.Sprintf("d%d", i)
		mustCreateDevice(t, s, device("milan", "/", id, ""))
		if err := s.UpdateDevice(ctx, "milan", "/", "stable", func(d *iota.Device) error {
			d.Attributes[0].Name = fmt.Sprintf("LAeq%d", i)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := s.DeleteDevice(ctx, "milan", "/", id); err != nil {
				t.Fatal(err)
			}
		}
		if i%10 == 0 {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if st, _ := s.Status("K", "stable"); st.Accepted == 0 {
		t.Error("no measure recorded")
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	s := open(t, "")
	mustCreateGroup(t, s, group("milan", "/", "K"))
	mustCreateDevice(t, s, device("milan", "/", "d1", ""))
	at := time.Now()
	for name, f := range map[string]func(){
		"GroupByAPIKey": func() { s.GroupByAPIKey("K") },
		"DeviceByKey":   func() { s.DeviceByKey("K", "d1") },
		"RecordMeasure": func() { s.RecordMeasure("K", "d1", at, 1, 0, "") },
		"Status":        func() { s.Status("K", "d1") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

func TestRunFlushesPeriodically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := registry.New(registry.Config{Path: filepath.Join(t.TempDir(), "registry.db"), FlushInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustCreateGroup(t, s, group("milan", "/", "K"))
		mustCreateDevice(t, s, device("milan", "/", "d1", ""))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()

		s.RecordMeasure("K", "d1", time.Now(), 1, 0, "")
		if st := s.Stats(); st.DirtyStatuses != 1 || st.Devices != 1 || st.Groups != 1 {
			t.Fatalf("stats before the flush: %+v", st)
		}
		start := time.Now()
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		st := s.Stats()
		if st.DirtyStatuses != 0 || st.LastFlush.Sub(start) != time.Minute {
			t.Errorf("stats after one interval: %+v (start %v)", st, start)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "registry.db")
	open(t, path)
	if _, err := registry.Open(path); err == nil || !strings.Contains(err.Error(), "another citytwin") {
		t.Errorf("second Open = %v, want an error naming the lock", err)
	}
}

func BenchmarkDeviceByKey(b *testing.B) {
	s, err := registry.Open(filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateGroup(b.Context(), group("milan", "/", "K")); err != nil {
		b.Fatal(err)
	}
	var ds []iota.Device
	for i := range 10000 {
		ds = append(ds, device("milan", "/", fmt.Sprintf("d%d", i), ""))
	}
	if err := s.CreateDevices(b.Context(), ds); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.DeviceByKey("K", "d4242")
			s.RecordMeasure("K", "d4242", time.Time{}, 1, 0, "")
		}
	})
}
