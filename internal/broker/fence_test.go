package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/internal/broker"
)

func TestVendorTopicRules(t *testing.T) {
	for _, tc := range []struct {
		topic    string
		pub, sub bool
	}{
		{"/ul/k1/dev1/attrs", true, false},
		{"/json/k1/dev1/attrs/temperature", true, false},
		{"k1/dev1/attrs", true, false},
		{"/k1/dev1/cmdexe", true, false},
		{"/k2/dev1/attrs", false, false},
		{"/ul/k2/dev1/attrs", false, false},
		{"ngsi/t/noise/x", false, false},
		{"/k1/dev1/cmd", false, true},
		{"/k1/+/cmd", false, true},
		{"/ul/k1/+/cmd", false, true},
		{"/k1/dev1/errors", false, true},
		{"/k1/dev1/configuration/values", false, true},
		{"/k1/#", false, false},
		{"/k1/dev1/#", false, false},
		{"/k1/dev1/attrs", true, false},
		{"/+/dev1/cmd", false, false},
		{"#", false, false},
		{"/k2/dev1/cmd", false, false},
	} {
		if got := broker.VendorMayPublish("k1", tc.topic); got != tc.pub {
			t.Errorf("publish %s: %v, want %v", tc.topic, got, tc.pub)
		}
		if got := broker.VendorMaySubscribe("k1", tc.topic); got != tc.sub {
			t.Errorf("subscribe %s: %v, want %v", tc.topic, got, tc.sub)
		}
	}
}

// TestFence: vendors are confined to their apikey's topics, wrong
// credentials are refused, anonymous clients may publish only NGSI data.
func TestFence(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	creds := map[string][2]string{"vendor-a": {"pa", "ka"}, "vendor-b": {"pb", "kb"}}
	b, err := broker.New(broker.Config{Listen: addr, DataDir: dir, Fence: &broker.Fence{
		Vendor: func(u, p string) (string, bool) {
			c, ok := creds[u]
			return c[1], ok && c[0] == p
		},
		AdminUser: "admin", AdminPassword: "secret",
		AnonymousPublish: []string{"ngsi/#"},
	}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := b.OpenPublic(); err != nil {
		t.Fatal(err)
	}
	url := "tcp://" + addr
	dial := func(id, user, pass string) (paho.Client, error) {
		o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).SetAutoReconnect(false)
		c := paho.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		return c, tok.Error()
	}

	// Citytwin's own view: everything published, through the internal listener.
	var mu sync.Mutex
	seen := map[string]bool{}
	own := connect(t, b.InternalURL(), "citytwin", true, nil)
	defer own.Disconnect(100)
	if tok := own.Subscribe("#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		seen[m.Topic()] = true
		mu.Unlock()
		m.Ack()
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	if _, err := dial("bad", "vendor-a", "wrong"); err == nil {
		t.Error("wrong password accepted")
	}
	if _, err := dial("nobody", "stranger", "x"); err == nil {
		t.Error("unknown user accepted")
	}
	a, err := dial("dev-a", "vendor-a", "pa")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Disconnect(100)
	anon, err := dial("anon", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Disconnect(100)
	admin, err := dial("adm", "admin", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Disconnect(100)

	// Subscriptions first: a vendor reads its own commands only.
	subOK := func(c paho.Client, filter string) bool {
		tok := c.Subscribe(filter, 1, func(paho.Client, paho.Message) {})
		tok.WaitTimeout(5 * time.Second)
		st := tok.(*paho.SubscribeToken)
		return tok.Error() == nil && st.Result()[filter] < 0x80
	}
	if !subOK(a, "/ka/+/cmd") {
		t.Error("vendor A cannot subscribe to its own commands")
	}
	for _, f := range []string{"/kb/+/cmd", "#", "/ul/kb/d1/attrs", "/ka/#"} {
		if subOK(a, f) {
			t.Errorf("vendor A may subscribe to %s", f)
		}
	}
	if subOK(anon, "ngsi/#") {
		t.Error("anonymous client may subscribe")
	}

	// Publications. A refused QoS 1 publish makes the broker drop an MQTT
	// 3.1.1 client (it has no negative PUBACK), so each refused attempt
	// uses its own connection.
	pub := func(c paho.Client, topic string) {
		c.Publish(topic, 1, false, "x|1").WaitTimeout(2 * time.Second)
	}
	fresh := func(id, user, pass string) paho.Client {
		c, err := dial(id, user, pass)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	pub(a, "/ul/ka/d1/attrs")                                  // allowed
	pub(anon, "ngsi/t/noise/y")                                // allowed
	pub(admin, "/ul/kb/d9/attrs")                              // admin may
	pub(fresh("a2", "vendor-a", "pa"), "/ul/kb/d1/attrs")      // another vendor's device
	pub(fresh("a3", "vendor-a", "pa"), "ngsi/t/noise/x")       // NGSI topics are not a vendor's
	pub(fresh("anon2", "", ""), "/ul/ka/d1/attrs/temperature") // anonymous cannot impersonate a device
	// Revoking the vendor (its credentials rotated) drops its connections.
	if n := b.RevokeVendor("ka"); n < 1 {
		t.Errorf("RevokeVendor disconnected %d clients", n)
	}
	time.Sleep(300 * time.Millisecond)
	if a.IsConnectionOpen() {
		t.Error("vendor A still connected after its credentials were revoked")
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"/ul/ka/d1/attrs": true, "ngsi/t/noise/y": true, "/ul/kb/d9/attrs": true}
	for topic := range seen {
		if !want[topic] {
			t.Errorf("fenced publish reached subscribers: %s", topic)
		}
	}
	for topic := range want {
		if !seen[topic] {
			t.Errorf("allowed publish lost: %s", topic)
		}
	}
}
