package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/citytwin/citytwin/ingest/iota"
)

// Config configures a Bolt store.
type Config struct {
	// Path of the database file, conventionally {data-dir}/registry.db; its
	// directory is created. Required.
	Path string
	// FlushInterval is how often Run writes the changed device statuses;
	// default 10 s.
	FlushInterval time.Duration
	// Logger; default discards.
	Logger *slog.Logger
}

// Bucket names and the schema version.
var (
	bucketMeta     = []byte("meta")
	bucketGroups   = []byte("groups")      // apikey -> iota.Group JSON
	bucketDevices  = []byte("devices")     // service \0 path \0 device_id -> iota.Device JSON
	bucketCreds    = []byte("credentials") // apikey -> Credentials JSON
	bucketStatus   = []byte("status")      // service \0 path \0 device_id -> DeviceStatus JSON
	bucketCommands = []byte("commands")    // apikey \0 device_id \0 name -> CommandRecord JSON
	keySchema      = []byte("schema")
)

const schemaVersion = "1"

// Bolt is the Store in an embedded bbolt file, with every group, device,
// credential and status also held in memory. Commands are read from disk.
type Bolt struct {
	cfg Config
	db  *bolt.DB
	log *slog.Logger

	// writeMu serialises writes, Flush and Close; writers read idx without
	// mu, and Watch callbacks run while it is held, in commit order.
	writeMu   sync.Mutex
	closed    atomic.Bool
	lastFlush time.Time // under writeMu

	mu  sync.RWMutex // guards idx
	idx index

	watchMu  sync.Mutex
	watchers []func(Change)
}

var _ Store = (*Bolt)(nil)

// Open opens (or creates) the registry file at path with the default
// configuration.
func Open(path string) (*Bolt, error) { return New(Config{Path: path}) }

// New opens (or creates) the registry file and loads it into memory.
func New(cfg Config) (*Bolt, error) {
	if cfg.Path == "" {
		return nil, errors.New("registry: Config.Path is required (e.g. {data-dir}/registry.db)")
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("registry: create the directory of %s: %w", cfg.Path, err)
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("registry: open %s: the file is locked; is another citytwin running with the same data directory? %w", cfg.Path, err)
		}
		return nil, fmt.Errorf("registry: open %s: %w", cfg.Path, err)
	}
	b := &Bolt{cfg: cfg, db: db, log: cfg.Logger.With("component", "registry"), idx: newIndex()}
	if err := b.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: load %s: %w", cfg.Path, err)
	}
	return b, nil
}

func (b *Bolt) load() error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketGroups, bucketDevices, bucketCreds, bucketStatus, bucketCommands} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
				return err
			}
		case string(v) != schemaVersion:
			return fmt.Errorf("schema version %q, this citytwin reads %q", v, schemaVersion)
		}
		x := &b.idx
		err := tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
			g := new(iota.Group)
			if err := json.Unmarshal(v, g); err != nil {
				return fmt.Errorf("group %q: %w", k, err)
			}
			x.addGroup(g)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketCreds).ForEach(func(k, v []byte) error {
			c := new(Credentials)
			if err := json.Unmarshal(v, c); err != nil {
				return fmt.Errorf("credentials of %q: %w", k, err)
			}
			if x.groups[string(k)] != nil && len(c.TokenHash) == sha256.Size {
				x.setCreds(string(k), c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketDevices).ForEach(func(k, v []byte) error {
			e := new(deviceEntry)
			if err := json.Unmarshal(v, &e.dev); err != nil {
				return fmt.Errorf("device %q: %w", k, err)
			}
			x.addDevice(e)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketStatus).ForEach(func(k, v []byte) error {
			parts := strings.SplitN(string(k), "\x00", 3)
			if len(parts) != 3 {
				return nil
			}
			e := x.devices[devID{parts[0], parts[1], parts[2]}]
			if e == nil {
				return nil
			}
			return json.Unmarshal(v, &e.status)
		})
	})
}

// Run writes the changed device statuses every Config.FlushInterval until
// ctx ends. Close writes the last ones.
func (b *Bolt) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := b.Flush(); err != nil && !errors.Is(err, ErrClosed) {
				b.log.Error("flush device statuses", "err", err)
			}
		}
	}
}

// Watch registers fn; see Store.
func (b *Bolt) Watch(fn func(Change)) {
	b.watchMu.Lock()
	b.watchers = append(b.watchers, fn)
	b.watchMu.Unlock()
}

// notify tells the watchers; the caller holds writeMu.
func (b *Bolt) notify(changes ...Change) {
	b.watchMu.Lock()
	ws := slices.Clone(b.watchers)
	b.watchMu.Unlock()
	for _, c := range changes {
		for _, fn := range ws {
			fn(c)
		}
	}
}

// lockWrite takes writeMu unless the store is closed or ctx ended.
func (b *Bolt) lockWrite(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.writeMu.Lock()
	if b.closed.Load() {
		b.writeMu.Unlock()
		return ErrClosed
	}
	return nil
}

func devKey(service, path, id string) []byte {
	return []byte(service + "\x00" + path + "\x00" + id)
}

func cmdKey(apikey, id, name string) []byte {
	return []byte(apikey + "\x00" + id + "\x00" + name)
}

// encode returns the JSON of v and decodes it into out: the stored copy is
// exactly what is on disk and shares nothing with the caller's value.
func encode[T any](v *T, out *T) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return raw, json.Unmarshal(raw, out)
}

// Stats are counts for metrics and tests.
type Stats struct {
	Groups, Devices, Credentials int
	// DirtyStatuses are device statuses changed since the last flush.
	DirtyStatuses int
	// LastFlush is when Flush last wrote statuses.
	LastFlush time.Time
}

// Stats returns the current counts.
func (b *Bolt) Stats() Stats {
	b.writeMu.Lock()
	last := b.lastFlush
	b.writeMu.Unlock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := Stats{Groups: len(b.idx.groups), Devices: len(b.idx.devices), Credentials: len(b.idx.creds), LastFlush: last}
	for _, e := range b.idx.devices {
		e.mu.Lock()
		if e.dirty {
			s.DirtyStatuses++
		}
		e.mu.Unlock()
	}
	return s
}

// --- groups

// CreateGroup adds a group; see Store. An empty service path is "/".
func (b *Bolt) CreateGroup(ctx context.Context, g iota.Group) error {
	if g.ServicePath == "" {
		g.ServicePath = "/"
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("registry: group: %w", err)
	}
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	x := &b.idx
	s := groupScope(&g)
	if old := x.groups[g.APIKey]; old != nil {
		if groupScope(old) == s && old.Resource == g.Resource {
			return fmt.Errorf("%w: a group with resource %q and apikey %q", ErrExists, g.Resource, g.APIKey)
		}
		return fmt.Errorf("%w: apikey %q is already used by another group (a topic names only the apikey)", ErrConflict, g.APIKey)
	}
	if x.ownedElsewhere(g.APIKey, s) {
		return fmt.Errorf("%w: apikey %q is already used by devices of another service or service path", ErrConflict, g.APIKey)
	}
	stored := new(iota.Group)
	raw, err := encode(&g, stored)
	if err != nil {
		return fmt.Errorf("registry: encode group %q: %w", g.APIKey, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroups).Put([]byte(g.APIKey), raw)
	})
	if err != nil {
		return fmt.Errorf("registry: store group %q: %w", g.APIKey, err)
	}
	b.mu.Lock()
	x.addGroup(stored)
	b.mu.Unlock()
	b.notify(Change{Kind: ChangeGroup, Op: OpCreate, Service: g.Service, ServicePath: g.ServicePath, APIKey: g.APIKey})
	return nil
}

// findGroup returns the group with this identity; the caller holds writeMu.
func (b *Bolt) findGroup(service, path, apikey, resource string) (*iota.Group, error) {
	g := b.idx.groups[apikey]
	if g == nil || g.Service != service || g.ServicePath != path || g.Resource != resource {
		return nil, fmt.Errorf("%w: no group with resource %q and apikey %q in service %q path %q", ErrNotFound, resource, apikey, service, path)
	}
	return g, nil
}

// UpdateGroup changes a group; see Store.
func (b *Bolt) UpdateGroup(ctx context.Context, service, path, apikey, resource string, patch func(*iota.Group) error) error {
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	old, err := b.findGroup(service, path, apikey, resource)
	if err != nil {
		return err
	}
	var g iota.Group
	if _, err := encode(old, &g); err != nil {
		return fmt.Errorf("registry: copy group %q: %w", apikey, err)
	}
	if err := patch(&g); err != nil {
		return err
	}
	g.Service, g.ServicePath, g.APIKey = old.Service, old.ServicePath, old.APIKey
	if err := g.Validate(); err != nil {
		return fmt.Errorf("registry: group: %w", err)
	}
	stored := new(iota.Group)
	raw, err := encode(&g, stored)
	if err != nil {
		return fmt.Errorf("registry: encode group %q: %w", apikey, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroups).Put([]byte(apikey), raw)
	})
	if err != nil {
		return fmt.Errorf("registry: store group %q: %w", apikey, err)
	}
	b.mu.Lock()
	b.idx.groups[apikey] = stored
	b.mu.Unlock()
	b.notify(Change{Kind: ChangeGroup, Op: OpUpdate, Service: service, ServicePath: path, APIKey: apikey})
	return nil
}

// DeleteGroup removes a group; see Store.
func (b *Bolt) DeleteGroup(ctx context.Context, service, path, apikey, resource string) error {
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	if _, err := b.findGroup(service, path, apikey, resource); err != nil {
		return err
	}
	_, hadCreds := b.idx.creds[apikey]
	err := b.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketGroups).Delete([]byte(apikey)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketCreds).Delete([]byte(apikey)); err != nil {
			return err
		}
		return deletePrefix(tx.Bucket(bucketCommands), []byte(apikey+"\x00"))
	})
	if err != nil {
		return fmt.Errorf("registry: delete group %q: %w", apikey, err)
	}
	b.mu.Lock()
	b.idx.removeGroup(apikey)
	b.mu.Unlock()
	changes := []Change{{Kind: ChangeGroup, Op: OpDelete, Service: service, ServicePath: path, APIKey: apikey}}
	if hadCreds {
		changes = append(changes, Change{Kind: ChangeCredentials, Op: OpDelete, Service: service, ServicePath: path, APIKey: apikey})
	}
	b.notify(changes...)
	return nil
}

func deletePrefix(bk *bolt.Bucket, prefix []byte) error {
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func allPaths(path string) bool { return path == "" || path == "/*" }

// Groups lists groups; see Store.
func (b *Bolt) Groups(ctx context.Context, service, path string) ([]iota.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	out := []iota.Group{}
	for _, g := range b.idx.groups {
		if g.Service == service && (allPaths(path) || g.ServicePath == path) {
			out = append(out, *g)
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(a, c iota.Group) int {
		if n := strings.Compare(a.ServicePath, c.ServicePath); n != 0 {
			return n
		}
		return strings.Compare(a.APIKey, c.APIKey)
	})
	return out, nil
}

// GroupByAPIKey returns the group of an apikey from memory; see Store.
func (b *Bolt) GroupByAPIKey(apikey string) (iota.Group, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if g := b.idx.groups[apikey]; g != nil {
		return *g, true
	}
	return iota.Group{}, false
}

// --- devices

// CreateDevice adds a device; see Store.
func (b *Bolt) CreateDevice(ctx context.Context, d iota.Device) error {
	return b.CreateDevices(ctx, []iota.Device{d})
}

// CreateDevices adds devices atomically; see Store. An empty service path
// is "/".
func (b *Bolt) CreateDevices(ctx context.Context, ds []iota.Device) error {
	ds = slices.Clone(ds)
	for i := range ds {
		if ds[i].ServicePath == "" {
			ds[i].ServicePath = "/"
		}
		if err := ds[i].Validate(); err != nil {
			return fmt.Errorf("registry: device %q: %w", ds[i].DeviceID, err)
		}
	}
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	x := &b.idx
	seen := make(map[devID]bool, len(ds))
	batchOwner := map[string]scope{}
	entries := make([]*deviceEntry, len(ds))
	raws := make([][]byte, len(ds))
	for i := range ds {
		d := &ds[i]
		id := devID{d.Service, d.ServicePath, d.DeviceID}
		if x.devices[id] != nil || seen[id] {
			return fmt.Errorf("%w: device %q in service %q path %q", ErrExists, d.DeviceID, d.Service, d.ServicePath)
		}
		seen[id] = true
		if k := d.APIKey; k != "" {
			o, inBatch := batchOwner[k]
			if x.ownedElsewhere(k, id.scope()) || (inBatch && o != id.scope()) {
				return fmt.Errorf("%w: device %q: apikey %q belongs to another service or service path", ErrConflict, d.DeviceID, k)
			}
			batchOwner[k] = id.scope()
		}
		e := new(deviceEntry)
		raw, err := encode(d, &e.dev)
		if err != nil {
			return fmt.Errorf("registry: encode device %q: %w", d.DeviceID, err)
		}
		entries[i], raws[i] = e, raw
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk, st := tx.Bucket(bucketDevices), tx.Bucket(bucketStatus)
		for i, e := range entries {
			k := devKey(e.dev.Service, e.dev.ServicePath, e.dev.DeviceID)
			if err := bk.Put(k, raws[i]); err != nil {
				return err
			}
			if err := st.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: store %d devices: %w", len(ds), err)
	}
	b.mu.Lock()
	for _, e := range entries {
		x.addDevice(e)
	}
	b.mu.Unlock()
	changes := make([]Change, len(entries))
	for i, e := range entries {
		changes[i] = Change{Kind: ChangeDevice, Op: OpCreate, Service: e.dev.Service, ServicePath: e.dev.ServicePath, APIKey: e.dev.APIKey, DeviceID: e.dev.DeviceID}
	}
	b.notify(changes...)
	return nil
}

func (b *Bolt) findDevice(service, path, id string) (*deviceEntry, error) {
	e := b.idx.devices[devID{service, path, id}]
	if e == nil {
		return nil, fmt.Errorf("%w: no device %q in service %q path %q", ErrNotFound, id, service, path)
	}
	return e, nil
}

// UpdateDevice changes a device; see Store.
func (b *Bolt) UpdateDevice(ctx context.Context, service, path, id string, patch func(*iota.Device) error) error {
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	e, err := b.findDevice(service, path, id)
	if err != nil {
		return err
	}
	var d iota.Device
	if _, err := encode(&e.dev, &d); err != nil {
		return fmt.Errorf("registry: copy device %q: %w", id, err)
	}
	if err := patch(&d); err != nil {
		return err
	}
	d.Service, d.ServicePath, d.DeviceID = service, path, id
	if err := d.Validate(); err != nil {
		return fmt.Errorf("registry: device %q: %w", id, err)
	}
	x := &b.idx
	if d.APIKey != "" && x.ownedElsewhere(d.APIKey, scope{service, path}) {
		return fmt.Errorf("%w: device %q: apikey %q belongs to another service or service path", ErrConflict, id, d.APIKey)
	}
	var stored iota.Device
	raw, err := encode(&d, &stored)
	if err != nil {
		return fmt.Errorf("registry: encode device %q: %w", id, err)
	}
	lost := lostKeys(x.deviceKeys(&e.dev), x.deviceKeys(&stored))
	err = b.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDevices).Put(devKey(service, path, id), raw); err != nil {
			return err
		}
		for _, k := range lost {
			if err := deletePrefix(tx.Bucket(bucketCommands), []byte(k+"\x00"+id+"\x00")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: store device %q: %w", id, err)
	}
	b.mu.Lock()
	x.replaceDevice(e, stored)
	b.mu.Unlock()
	b.notify(Change{Kind: ChangeDevice, Op: OpUpdate, Service: service, ServicePath: path, APIKey: stored.APIKey, DeviceID: id})
	return nil
}

// lostKeys are the keys of old that are not in new.
func lostKeys(old, new []string) []string {
	var out []string
	for _, k := range old {
		if !slices.Contains(new, k) {
			out = append(out, k)
		}
	}
	return out
}

// DeleteDevice removes a device; see Store.
func (b *Bolt) DeleteDevice(ctx context.Context, service, path, id string) error {
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	e, err := b.findDevice(service, path, id)
	if err != nil {
		return err
	}
	keys := b.idx.deviceKeys(&e.dev)
	err = b.db.Update(func(tx *bolt.Tx) error {
		k := devKey(service, path, id)
		if err := tx.Bucket(bucketDevices).Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketStatus).Delete(k); err != nil {
			return err
		}
		for _, ak := range keys {
			if err := deletePrefix(tx.Bucket(bucketCommands), []byte(ak+"\x00"+id+"\x00")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: delete device %q: %w", id, err)
	}
	b.mu.Lock()
	b.idx.removeDevice(e)
	b.mu.Unlock()
	b.notify(Change{Kind: ChangeDevice, Op: OpDelete, Service: service, ServicePath: path, APIKey: e.dev.APIKey, DeviceID: id})
	return nil
}

// Device returns a device from memory; see Store.
func (b *Bolt) Device(ctx context.Context, service, path, id string) (iota.Device, bool, error) {
	if err := ctx.Err(); err != nil {
		return iota.Device{}, false, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e := b.idx.devices[devID{service, path, id}]; e != nil {
		return e.dev, true, nil
	}
	return iota.Device{}, false, nil
}

// Devices lists devices from disk, in key order; see Store.
func (b *Bolt) Devices(ctx context.Context, service, path string, limit, offset int) ([]iota.Device, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if b.closed.Load() {
		return nil, 0, ErrClosed
	}
	prefix := service + "\x00"
	if !allPaths(path) {
		prefix += path + "\x00"
	}
	p := []byte(prefix)
	out := []iota.Device{}
	total := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDevices).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			total++
			if total <= offset || (limit > 0 && len(out) >= limit) {
				continue
			}
			var d iota.Device
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("device %q: %w", k, err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("registry: list devices: %w", err)
	}
	return out, total, nil
}

// DeviceByKey returns the device a topic names, from memory; see Store.
func (b *Bolt) DeviceByKey(apikey, deviceID string) (iota.Device, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e := b.idx.byKey[keyID{apikey, deviceID}]; e != nil {
		return e.dev, true
	}
	return iota.Device{}, false
}

// --- credentials

// SetCredentials sets a group's credentials; see Store. The hashes must be
// HashSecret values and the username must be free.
func (b *Bolt) SetCredentials(ctx context.Context, apikey string, c Credentials) error {
	if c.MQTTUsername == "" || len(c.MQTTPasswordHash) != sha256.Size || len(c.TokenHash) != sha256.Size {
		return errors.New("registry: credentials need an MQTT username and SHA-256 hashes of the password and the token")
	}
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	x := &b.idx
	g := x.groups[apikey]
	if g == nil {
		return fmt.Errorf("%w: no group with apikey %q", ErrNotFound, apikey)
	}
	if owner, ok := x.users[c.MQTTUsername]; ok && owner != apikey {
		return fmt.Errorf("%w: MQTT username %q belongs to another group", ErrConflict, c.MQTTUsername)
	}
	if owner, ok := x.tokens[[32]byte(c.TokenHash)]; ok && owner != apikey {
		return fmt.Errorf("%w: token already issued to another group", ErrConflict)
	}
	stored := new(Credentials)
	raw, err := encode(&c, stored)
	if err != nil {
		return fmt.Errorf("registry: encode credentials: %w", err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCreds).Put([]byte(apikey), raw)
	})
	if err != nil {
		return fmt.Errorf("registry: store credentials of %q: %w", apikey, err)
	}
	op := OpCreate
	if x.creds[apikey] != nil {
		op = OpUpdate
	}
	b.mu.Lock()
	x.setCreds(apikey, stored)
	b.mu.Unlock()
	b.notify(Change{Kind: ChangeCredentials, Op: op, Service: g.Service, ServicePath: g.ServicePath, APIKey: apikey})
	return nil
}

// Credentials returns a group's credentials from memory; see Store.
func (b *Bolt) Credentials(apikey string) (Credentials, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if c := b.idx.creds[apikey]; c != nil {
		return *c, true
	}
	return Credentials{}, false
}

// dummyHash is compared against when a username is unknown, so that the
// answer takes as long as for a known one.
var dummyHash = HashSecret("citytwin: no such user")

// CheckMQTT checks MQTT credentials in memory, in constant time; see Store.
func (b *Bolt) CheckMQTT(username, password string) (string, bool) {
	b.mu.RLock()
	apikey, known := b.idx.users[username]
	want := dummyHash
	if known {
		want = b.idx.creds[apikey].MQTTPasswordHash
	}
	b.mu.RUnlock()
	got := sha256.Sum256([]byte(password))
	if subtle.ConstantTimeCompare(got[:], want) != 1 || !known || password == "" {
		return "", false
	}
	return apikey, true
}

// CheckToken checks a vendor token in memory; see Store. The token's hash
// is looked up: timing can tell at most something about the hash, which
// does not help to find a token.
func (b *Bolt) CheckToken(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	h := sha256.Sum256([]byte(token))
	b.mu.RLock()
	defer b.mu.RUnlock()
	apikey, ok := b.idx.tokens[h]
	if !ok {
		return "", false
	}
	g := b.idx.groups[apikey]
	if g == nil {
		return "", false
	}
	return g.Service, true
}

// --- status

// RecordMeasure updates a device's status in memory; see Store.
func (b *Bolt) RecordMeasure(apikey, deviceID string, at time.Time, accepted, rejected int, lastErr string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e := b.idx.byKey[keyID{apikey, deviceID}]
	if e == nil {
		return
	}
	e.mu.Lock()
	s := &e.status
	if at.After(s.LastSeen) {
		s.LastSeen = at
	}
	s.Accepted += int64(accepted)
	s.Rejected += int64(rejected)
	if lastErr != "" {
		s.LastError, s.LastErrorAt = lastErr, at
	}
	e.dirty = true
	e.mu.Unlock()
}

func (e *deviceEntry) statusCopy() DeviceStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// Status returns the status of the device a topic names; see Store.
func (b *Bolt) Status(apikey, deviceID string) (DeviceStatus, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e := b.idx.byKey[keyID{apikey, deviceID}]; e != nil {
		return e.statusCopy(), true
	}
	return DeviceStatus{}, false
}

// DeviceStatus returns a device's status; see Store.
func (b *Bolt) DeviceStatus(service, path, id string) (DeviceStatus, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e := b.idx.devices[devID{service, path, id}]; e != nil {
		return e.statusCopy(), true
	}
	return DeviceStatus{}, false
}

// Flush writes the statuses changed since the last flush in one
// transaction; see Store.
func (b *Bolt) Flush() error {
	if err := b.lockWrite(context.Background()); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	return b.flushLocked()
}

func (b *Bolt) flushLocked() error {
	type item struct {
		e   *deviceEntry
		key []byte
		raw []byte
	}
	var items []item
	b.mu.RLock()
	for id, e := range b.idx.devices {
		e.mu.Lock()
		if e.dirty {
			raw, err := json.Marshal(e.status)
			if err == nil {
				items = append(items, item{e, devKey(id.service, id.path, id.id), raw})
				e.dirty = false
			}
		}
		e.mu.Unlock()
	}
	b.mu.RUnlock()
	if len(items) == 0 {
		return nil
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketStatus)
		for _, it := range items {
			if err := bk.Put(it.key, it.raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, it := range items {
			it.e.mu.Lock()
			it.e.dirty = true
			it.e.mu.Unlock()
		}
		return fmt.Errorf("registry: flush %d device statuses: %w", len(items), err)
	}
	b.lastFlush = time.Now()
	return nil
}

// --- commands

// PutCommand stores a command record; see Store.
func (b *Bolt) PutCommand(ctx context.Context, c CommandRecord) error {
	if c.APIKey == "" || c.DeviceID == "" || c.Name == "" {
		return errors.New("registry: a command record needs an apikey, a device_id and a name")
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("registry: encode command %q: %w", c.Name, err)
	}
	if err := b.lockWrite(ctx); err != nil {
		return err
	}
	defer b.writeMu.Unlock()
	err = b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCommands).Put(cmdKey(c.APIKey, c.DeviceID, c.Name), raw)
	})
	if err != nil {
		return fmt.Errorf("registry: store command %q of %q: %w", c.Name, c.DeviceID, err)
	}
	return nil
}

// Command reads a command record from disk; see Store.
func (b *Bolt) Command(ctx context.Context, apikey, deviceID, name string) (CommandRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return CommandRecord{}, false, err
	}
	if b.closed.Load() {
		return CommandRecord{}, false, ErrClosed
	}
	var c CommandRecord
	var found bool
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCommands).Get(cmdKey(apikey, deviceID, name))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &c)
	})
	if err != nil {
		return CommandRecord{}, false, fmt.Errorf("registry: read command %q of %q: %w", name, deviceID, err)
	}
	return c, found, nil
}

// PendingCommands lists the commands not in a final state; see Store.
func (b *Bolt) PendingCommands(ctx context.Context) ([]CommandRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.closed.Load() {
		return nil, ErrClosed
	}
	var out []CommandRecord
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCommands).ForEach(func(k, v []byte) error {
			var c CommandRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("command %q: %w", k, err)
			}
			if !c.Status.Final() {
				out = append(out, c)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list pending commands: %w", err)
	}
	slices.SortStableFunc(out, func(a, c CommandRecord) int { return a.CreatedAt.Compare(c.CreatedAt) })
	return out, nil
}

// Close writes the changed statuses and closes the file; it is idempotent.
// The in-memory lookups keep answering from the last state.
func (b *Bolt) Close() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if b.closed.Load() {
		return nil
	}
	ferr := b.flushLocked()
	b.closed.Store(true)
	return errors.Join(ferr, b.db.Close())
}
