package broker

import (
	"crypto/subtle"
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/citytwin/citytwin/ingest/iota"
)

// Fence authenticates and authorises the embedded broker's public clients,
// the role Mosquitto's dynamic-security plugin plays for an external broker:
//
//   - a vendor connects with its service group's MQTT credentials and may
//     publish only device-to-agent topics of its own apikey (measures,
//     command results; every IoT Agent topic form), and subscribe only to
//     its own devices' agent-to-device topics: /{apikey}/{device|+}/cmd,
//     …/errors and …/configuration/values (also under /ul or /json);
//   - a client with the admin credentials may do anything;
//   - a client without credentials may publish only to AnonymousPublish
//     (NGSI topics such as ngsi/#) and subscribe to nothing;
//   - anything else is refused at CONNECT (bad username or password).
//
// citytwin's own session uses the private internal listener and is not
// fenced.
type Fence struct {
	// Vendor checks a vendor's credentials against the device registry and
	// returns its apikey.
	Vendor func(username, password string) (apikey string, ok bool)
	// AdminUser and AdminPassword, when set, name a client with full access.
	AdminUser, AdminPassword string
	// AnonymousPublish lists the topic filters a client without credentials
	// may publish to; empty refuses clients without credentials.
	AnonymousPublish []string
}

// revoke disconnects every client connected as the vendor of apikey.
func (h *fenceHook) revoke(server *mqtt.Server, apikey string) int {
	h.mu.Lock()
	var victims []*mqtt.Client
	for cl, g := range h.grants {
		if g.apikey == apikey {
			victims = append(victims, cl)
		}
	}
	h.mu.Unlock()
	for _, cl := range victims {
		_ = server.DisconnectClient(cl, packets.ErrNotAuthorized)
	}
	return len(victims)
}

// grant is what a connected client may do.
type grant struct {
	admin  bool
	apikey string // vendor
}

// fenceHook applies a Fence.
type fenceHook struct {
	mqtt.HookBase
	fence   *Fence
	mu      sync.Mutex
	grants  map[*mqtt.Client]grant
	refused func()
}

func (h *fenceHook) ID() string { return "citytwin-fence" }

func (h *fenceHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck || b == mqtt.OnDisconnect
}

func (h *fenceHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if cl.Net.Listener == internalListener {
		return true
	}
	user, pass := string(pk.Connect.Username), string(pk.Connect.Password)
	var g grant
	switch {
	case user == "" && len(pk.Connect.Password) == 0:
		if len(h.fence.AnonymousPublish) == 0 {
			h.refused()
			return false
		}
	case h.fence.AdminUser != "" && user == h.fence.AdminUser && constantTimeEqual(pass, h.fence.AdminPassword):
		g.admin = true
	default:
		apikey, ok := "", false
		if h.fence.Vendor != nil {
			apikey, ok = h.fence.Vendor(user, pass)
		}
		if !ok {
			h.refused()
			return false
		}
		g.apikey = apikey
	}
	h.mu.Lock()
	h.grants[cl] = g
	h.mu.Unlock()
	return true
}

func (h *fenceHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.grants, cl)
	h.mu.Unlock()
}

func (h *fenceHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Listener == internalListener {
		return true
	}
	h.mu.Lock()
	g, ok := h.grants[cl]
	h.mu.Unlock()
	switch {
	case !ok:
		return false
	case g.admin:
		return true
	case g.apikey != "":
		if write {
			return VendorMayPublish(g.apikey, topic)
		}
		return VendorMaySubscribe(g.apikey, topic)
	case write:
		for _, f := range h.fence.AnonymousPublish {
			if topicMatches(f, topic) {
				return true
			}
		}
	}
	return false
}

// VendorMayPublish reports whether the vendor of apikey may publish on
// topic: a device-to-agent IoT Agent topic naming its own apikey.
func VendorMayPublish(apikey, topic string) bool {
	t, err := iota.ParseTopic(topic)
	return err == nil && t.APIKey == apikey
}

// VendorMaySubscribe reports whether the vendor of apikey may subscribe to
// filter: /{apikey}/{device or +}/{cmd|errors|configuration/values}, with
// or without the leading slash and the /ul or /json prefix.
func VendorMaySubscribe(apikey, filter string) bool {
	lv := strings.Split(strings.TrimPrefix(filter, "/"), "/")
	if len(lv) >= 4 && (lv[0] == "ul" || lv[0] == "json") {
		lv = lv[1:]
	}
	if len(lv) < 3 || lv[0] != apikey || lv[1] == "#" || lv[1] == "" {
		return false
	}
	switch {
	case len(lv) == 3 && (lv[2] == "cmd" || lv[2] == "errors"):
		return true
	case len(lv) == 4 && lv[2] == "configuration" && lv[3] == "values":
		return true
	}
	return false
}

// topicMatches reports whether an MQTT filter matches a topic name.
func topicMatches(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, lv := range f {
		if lv == "#" {
			return true
		}
		if i >= len(t) || (lv != "+" && lv != t[i]) {
			return false
		}
	}
	return len(f) == len(t)
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
