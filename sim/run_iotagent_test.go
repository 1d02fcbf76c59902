package sim_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/sim"
)

// TestRunIoTAgent runs a fleet of UltraLight and JSON devices against a
// real Mosquitto: every device publishes on its group's attrs topic, and
// the irrigation controllers answer open_valve commands on cmdexe and water
// their soil.
func TestRunIoTAgent(t *testing.T) {
	broker := startMosquitto(t)
	ignore := goleak.IgnoreCurrent()
	f := sim.NewFleet(sim.FleetConfig{Count: 60, Seed: 1, Protocols: []sim.Protocol{sim.ProtocolUL, sim.ProtocolJSON}})
	ctl := map[sim.Protocol]sim.Sensor{}
	bySensor := map[string]sim.Sensor{}
	for _, s := range f.Sensors() {
		bySensor[s.LocalID] = s
		if s.Controller && ctl[s.Protocol].ID == "" {
			ctl[s.Protocol] = s
		}
	}
	if ctl[sim.ProtocolUL].ID == "" || ctl[sim.ProtocolJSON].ID == "" {
		t.Fatalf("want a controller of each protocol: %v", ctl)
	}

	// The operator's side: sees measures and command results.
	type msg struct{ topic, payload string }
	var mu sync.Mutex
	var got []msg
	results := make(chan msg, 16)
	op := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("operator").SetCleanSession(true))
	if tok := op.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer op.Disconnect(100)
	if tok := op.SubscribeMultiple(map[string]byte{"/+/+/+/attrs": 1, "/+/+/+/cmdexe": 1}, func(_ paho.Client, m paho.Message) {
		x := msg{m.Topic(), string(m.Payload())}
		if strings.HasSuffix(x.topic, "/cmdexe") {
			results <- x
			return
		}
		mu.Lock()
		got = append(got, x)
		mu.Unlock()
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	// Simulated time runs 600× faster, so 10 minutes of watering take 1 s.
	t0 := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	real0 := time.Now()
	clock := func() time.Time { return t0.Add(600 * time.Since(real0)) }
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan sim.Stats, 1)
	go func() {
		st, err := sim.Run(ctx, broker, f, sim.RunConfig{Rate: 300, Publishers: 1, Clock: clock}, nil)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- st
	}()
	// Run subscribes before it publishes: the first measure means commands
	// are heard.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no measure published")
		}
		time.Sleep(20 * time.Millisecond)
	}

	send := func(s sim.Sensor, payload string) {
		t.Helper()
		if tok := op.Publish(iota.CommandTopic(iota.ProtocolUnknown, s.APIKey, s.LocalID), 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	expect := func(s sim.Sensor, want string) {
		t.Helper()
		select {
		case r := <-results:
			if wantTopic := "/" + string(s.Protocol) + "/" + s.APIKey + "/" + s.LocalID + "/cmdexe"; r.topic != wantTopic || r.payload != want {
				t.Errorf("result %s %s, want %s %s", r.topic, r.payload, wantTopic, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no result for %s, want %s", s.LocalID, want)
		}
	}
	ul, js := ctl[sim.ProtocolUL], ctl[sim.ProtocolJSON]
	send(ul, ul.LocalID+"@open_valve|abc")
	expect(ul, ul.LocalID+`@open_valve|refused: the value must be the minutes to water, 0 to 1440, got "abc"`)
	send(ul, ul.LocalID+"@self_destruct|1")
	expect(ul, ul.LocalID+"@self_destruct|unknown command self_destruct")
	sent := time.Now()
	// 600 minutes: still open when the test ends, however slow the machine.
	send(ul, ul.LocalID+"@open_valve|600")
	expect(ul, ul.LocalID+"@open_valve|opened for 600 min")
	send(js, `{"open_valve":600}`)
	expect(js, `{"open_valve":"opened for 600 min"}`)
	time.Sleep(2 * time.Second) // 20 simulated minutes of watering
	cancel()
	st := <-done
	if st.Failed != 0 || st.Published == 0 || st.Commands != 4 {
		t.Errorf("stats %+v, want 4 commands answered", st)
	}

	// Every device published on its own topic; the controllers' soil rose
	// while their valves were open.
	mu.Lock()
	defer mu.Unlock()
	type reading struct {
		vwc  float64
		open bool
	}
	var series = map[string][]reading{}
	for _, m := range got {
		top, err := iota.ParseTopic(m.topic)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := bySensor[top.DeviceID]
		if !ok || top.APIKey != s.APIKey || top.Protocol.String() != string(s.Protocol) {
			t.Fatalf("measure on %s from an unknown device", m.topic)
		}
		if s.ID != ul.ID && s.ID != js.ID {
			continue
		}
		ms, err := iota.ParseMeasures(top, top.Protocol, []byte(m.payload))
		if err != nil || len(ms.Groups) != 1 {
			t.Fatalf("%s %s: %v", m.topic, m.payload, err)
		}
		var r reading
		if v, ok := ms.Groups[0].Get("m"); ok {
			r.vwc = v.Num
		}
		if v, ok := ms.Groups[0].Get("v"); ok {
			r.open = v.Bool
		}
		series[s.ID] = append(series[s.ID], r)
	}
	for _, s := range []sim.Sensor{ul, js} {
		rs := series[s.ID]
		if len(rs) < 5 {
			t.Fatalf("%s: %d readings", s.ID, len(rs))
		}
		first, last := rs[0], rs[len(rs)-1]
		if first.open || !last.open || !(last.vwc > first.vwc+0.05) {
			t.Errorf("%s: soil %.3f (open %v) → %.3f (open %v) over ~%v of watering", s.ID, first.vwc, first.open, last.vwc, last.open,
				600*time.Since(sent).Round(time.Minute))
		}
	}
	op.Disconnect(100)
	goleak.VerifyNone(t, ignore)
}
