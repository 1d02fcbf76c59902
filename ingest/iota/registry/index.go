package registry

import (
	"slices"
	"sync"

	"github.com/citytwin/citytwin/ingest/iota"
)

// scope is a (service, service path).
type scope struct{ service, path string }

// devID is a device's provisioning identity.
type devID struct{ service, path, id string }

func (d devID) scope() scope { return scope{d.service, d.path} }

// keyID is what a topic names.
type keyID struct{ apikey, id string }

// deviceEntry is a device and its status. dev is replaced under Bolt.mu;
// the status fields are guarded by mu, so that RecordMeasure, which holds
// only Bolt.mu's read lock, contends per device.
type deviceEntry struct {
	dev iota.Device

	mu     sync.Mutex
	status DeviceStatus
	dirty  bool
}

func (e *deviceEntry) key() devID {
	return devID{e.dev.Service, e.dev.ServicePath, e.dev.DeviceID}
}

// index is the in-memory registry. Only writers (holding Bolt.writeMu)
// mutate it, under Bolt.mu; they may read it without Bolt.mu.
type index struct {
	groups       map[string]*iota.Group // by apikey
	scopeGroups  map[scope][]string     // apikeys of the groups of a scope, sorted
	devices      map[devID]*deviceEntry
	scopeDevices map[scope]map[string]*deviceEntry // by device_id
	byKey        map[keyID]*deviceEntry
	// owner is the scope an apikey belongs to, while ownerRefs (groups and
	// devices naming it) is positive.
	owner     map[string]scope
	ownerRefs map[string]int
	creds     map[string]*Credentials // by apikey
	users     map[string]string       // MQTT username -> apikey
	tokens    map[[32]byte]string     // token hash -> apikey
}

func newIndex() index {
	return index{
		groups:       map[string]*iota.Group{},
		scopeGroups:  map[scope][]string{},
		devices:      map[devID]*deviceEntry{},
		scopeDevices: map[scope]map[string]*deviceEntry{},
		byKey:        map[keyID]*deviceEntry{},
		owner:        map[string]scope{},
		ownerRefs:    map[string]int{},
		creds:        map[string]*Credentials{},
		users:        map[string]string{},
		tokens:       map[[32]byte]string{},
	}
}

func groupScope(g *iota.Group) scope { return scope{g.Service, g.ServicePath} }

func (x *index) ref(apikey string, s scope) {
	x.owner[apikey] = s
	x.ownerRefs[apikey]++
}

func (x *index) unref(apikey string) {
	if x.ownerRefs[apikey]--; x.ownerRefs[apikey] <= 0 {
		delete(x.ownerRefs, apikey)
		delete(x.owner, apikey)
	}
}

// ownedElsewhere tells whether apikey belongs to a scope other than s.
func (x *index) ownedElsewhere(apikey string, s scope) bool {
	o, ok := x.owner[apikey]
	return ok && o != s
}

func (x *index) addGroup(g *iota.Group) {
	s := groupScope(g)
	x.groups[g.APIKey] = g
	keys := x.scopeGroups[s]
	i, _ := slices.BinarySearch(keys, g.APIKey)
	x.scopeGroups[s] = slices.Insert(keys, i, g.APIKey)
	x.ref(g.APIKey, s)
	for id, e := range x.scopeDevices[s] {
		if e.dev.APIKey == "" {
			x.byKey[keyID{g.APIKey, id}] = e
		}
	}
}

func (x *index) removeGroup(apikey string) {
	g := x.groups[apikey]
	if g == nil {
		return
	}
	s := groupScope(g)
	delete(x.groups, apikey)
	keys := x.scopeGroups[s]
	if i, ok := slices.BinarySearch(keys, apikey); ok {
		keys = slices.Delete(keys, i, i+1)
	}
	if len(keys) == 0 {
		delete(x.scopeGroups, s)
	} else {
		x.scopeGroups[s] = keys
	}
	x.unref(apikey)
	for id, e := range x.scopeDevices[s] {
		if e.dev.APIKey == "" {
			delete(x.byKey, keyID{apikey, id})
		}
	}
	x.removeCreds(apikey)
}

// deviceKeys are the apikeys that reach a device (see the package
// documentation).
func (x *index) deviceKeys(d *iota.Device) []string {
	if d.APIKey != "" {
		return []string{d.APIKey}
	}
	return x.scopeGroups[scope{d.Service, d.ServicePath}]
}

func (x *index) addDevice(e *deviceEntry) {
	id := e.key()
	x.devices[id] = e
	m := x.scopeDevices[id.scope()]
	if m == nil {
		m = map[string]*deviceEntry{}
		x.scopeDevices[id.scope()] = m
	}
	m[id.id] = e
	x.linkDevice(e)
}

func (x *index) linkDevice(e *deviceEntry) {
	if e.dev.APIKey != "" {
		x.ref(e.dev.APIKey, scope{e.dev.Service, e.dev.ServicePath})
	}
	for _, k := range x.deviceKeys(&e.dev) {
		x.byKey[keyID{k, e.dev.DeviceID}] = e
	}
}

func (x *index) unlinkDevice(e *deviceEntry) {
	for _, k := range x.deviceKeys(&e.dev) {
		delete(x.byKey, keyID{k, e.dev.DeviceID})
	}
	if e.dev.APIKey != "" {
		x.unref(e.dev.APIKey)
	}
}

func (x *index) removeDevice(e *deviceEntry) {
	id := e.key()
	x.unlinkDevice(e)
	delete(x.devices, id)
	if m := x.scopeDevices[id.scope()]; m != nil {
		delete(m, id.id)
		if len(m) == 0 {
			delete(x.scopeDevices, id.scope())
		}
	}
}

// replaceDevice swaps the provisioning of an entry, keeping its status; the
// identity (service, path, device_id) is the same.
func (x *index) replaceDevice(e *deviceEntry, d iota.Device) {
	x.unlinkDevice(e)
	e.dev = d
	x.linkDevice(e)
}

func (x *index) setCreds(apikey string, c *Credentials) {
	x.removeCreds(apikey)
	x.creds[apikey] = c
	x.users[c.MQTTUsername] = apikey
	x.tokens[[32]byte(c.TokenHash)] = apikey
}

func (x *index) removeCreds(apikey string) {
	c := x.creds[apikey]
	if c == nil {
		return
	}
	delete(x.creds, apikey)
	if x.users[c.MQTTUsername] == apikey {
		delete(x.users, c.MQTTUsername)
	}
	if h := [32]byte(c.TokenHash); x.tokens[h] == apikey {
		delete(x.tokens, h)
	}
}
