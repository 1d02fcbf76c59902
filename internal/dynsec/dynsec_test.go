package dynsec_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/internal/dynsec"
	"github.com/citytwin/citytwin/internal/testenv"
)

// TestVendorFenceOnMosquitto: with the roles and clients citytwin creates
// through the dynamic-security plugin, a real Mosquitto confines each vendor
// to its apikey's topics, refuses wrong passwords, and lets anonymous
// clients publish only NGSI data.
func TestVendorFenceOnMosquitto(t *testing.T) {
	mq := testenv.StartMosquitto(t, testenv.WithDynsec(t))
	ctx := context.Background()
	ds, err := dynsec.Dial(ctx, mq.URL, testenv.DynsecAdmin, testenv.DynsecAdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for _, step := range []error{
		ds.EnsureService(ctx, "citytwin", "svc-pw"),
		ds.EnsureVendor(ctx, "ka", "vendor-a", "pa"),
		ds.EnsureVendor(ctx, "kb", "vendor-b", "pb"),
		ds.EnsureVendor(ctx, "ka", "vendor-a", "pa2"), // again: rotates the password
		ds.AllowAnonymousPublish(ctx, []string{"ngsi/#"}),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	dial := func(id, user, pass string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID(id).SetUsername(user).SetPassword(pass).SetAutoReconnect(false))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			t.Cleanup(func() { c.Disconnect(100) })
		}
		return c, tok.Error()
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	svc, err := dial("citytwin", "citytwin", "svc-pw")
	if err != nil {
		t.Fatal(err)
	}
	if tok := svc.Subscribe("#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		seen[m.Topic()] = true
		mu.Unlock()
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if _, err := dial("x1", "vendor-a", "pa"); err == nil {
		t.Error("the old password still works after rotation")
	}
	if _, err := dial("x2", "vendor-a", "wrong"); err == nil {
		t.Error("wrong password accepted")
	}
	a, err := dial("dev-a", "vendor-a", "pa2")
	if err != nil {
		t.Fatal(err)
	}
	anon, err := dial("anon", "", "")
	if err != nil {
		t.Fatal(err)
	}
	subOK := func(c paho.Client, filter string) bool {
		tok := c.Subscribe(filter, 1, func(paho.Client, paho.Message) {})
		tok.WaitTimeout(5 * time.Second)
		return tok.Error() == nil && tok.(*paho.SubscribeToken).Result()[filter] < 0x80
	}
	if !subOK(a, "/ka/+/cmd") || !subOK(a, "/ka/d1/errors") {
		t.Error("vendor A cannot subscribe to its own command and error topics")
	}
	for _, f := range []string{"/kb/+/cmd", "#", "/ul/kb/+/attrs", "/ka/+/attrs"} {
		if subOK(a, f) {
			t.Errorf("vendor A may subscribe to %s", f)
		}
	}
	pub := func(c paho.Client, topic string) {
		if tok := c.Publish(topic, 1, false, "t|1"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	pub(a, "/ul/ka/d1/attrs")
	pub(a, "ka/d1/attrs/t")
	pub(anon, "ngsi/x/noise/2")
	// A refused QoS 1 publish costs an MQTT 3.1.1 client its connection
	// (Mosquitto 2 disconnects it), so each attempt has its own.
	for i, try := range []struct{ user, pass, topic string }{
		{"vendor-a", "pa2", "/ul/kb/d1/attrs"}, // B's device
		{"vendor-a", "pa2", "ngsi/x/noise/1"},  // NGSI topics are not a vendor's
		{"", "", "/ul/ka/d1/attrs"},            // anonymous impersonating a device
	} {
		c, err := dial(fmt.Sprint("try", i), try.user, try.pass)
		if err != nil {
			t.Fatal(err)
		}
		c.Publish(try.topic, 1, false, "t|1").WaitTimeout(2 * time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"/ul/ka/d1/attrs": true, "ka/d1/attrs/t": true, "ngsi/x/noise/2": true}
	for topic := range seen {
		if !want[topic] {
			t.Errorf("fenced publish delivered: %s", topic)
		}
	}
	for topic := range want {
		if !seen[topic] {
			t.Errorf("allowed publish not delivered: %s", topic)
		}
	}
	if err := ds.RemoveVendor(ctx, "kb", "vendor-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := dial("x3", "vendor-b", "pb"); err == nil {
		t.Error("a removed vendor can still connect")
	}
}
