package sim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/sim"
)

const mosquittoPath = "/usr/sbin/mosquitto"

// startMosquitto starts a private Mosquitto on a free loopback port and
// returns its URL; the broker is stopped when the test ends.
func startMosquitto(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(mosquittoPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mosquitto not available at %s (install the mosquitto package): %v", mosquittoPath, err)
		}
		t.Skipf("mosquitto not available at %s; install the mosquitto package to run this test", mosquittoPath)
	}
	dir := t.TempDir()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "mosquitto.conf")
		cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n", port)
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, "mosquitto.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(mosquittoPath, "-c", conf)
		cmd.Stdout, cmd.Stderr = logf, logf // *os.File: no copying goroutines.
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("start mosquitto: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = waitListening(addr, exited); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
				logf.Close()
			})
			return "tcp://" + addr
		}
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
	}
	log, _ := os.ReadFile(filepath.Join(dir, "mosquitto.log"))
	t.Fatalf("mosquitto did not start: %v\n%s", lastErr, log)
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(addr string, exited <-chan error) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("mosquitto exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after 5 s", addr)
}

type message struct {
	topic   string
	payload []byte
}

// subscriber collects every message on ngsi/# at QoS 1.
type subscriber struct {
	client paho.Client
	mu     sync.Mutex
	msgs   []message
	n      chan struct{} // one token per message, never blocks (large buffer)
}

func subscribe(t *testing.T, broker string, capacity int) *subscriber {
	t.Helper()
	s := &subscriber{n: make(chan struct{}, capacity)}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID("sim-test-sub").SetCleanSession(true)
	s.client = paho.NewClient(opts)
	if tok := s.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	tok := s.client.Subscribe("ngsi/#", 1, func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, message{m.Topic(), append([]byte(nil), m.Payload()...)})
		s.mu.Unlock()
		select {
		case s.n <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// wait blocks until n messages arrived or the timeout passed and returns
// what arrived.
func (s *subscriber) wait(n int, timeout time.Duration) []message {
	deadline := time.After(timeout)
	for range n {
		select {
		case <-s.n:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			return append([]message(nil), s.msgs...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message(nil), s.msgs...)
}

func TestRunIntegration(t *testing.T) {
	broker := startMosquitto(t)
	ignore := goleak.IgnoreCurrent()

	const total = 2000
	sub := subscribe(t, broker, 2*total)
	f := sim.NewFleet(sim.FleetConfig{Count: 100, Seed: 8})
	sensors := map[string]sim.Sensor{}
	for _, s := range f.Sensors() {
		sensors[s.LocalID] = s
	}

	st, err := sim.Run(t.Context(), broker, f, sim.RunConfig{Rate: 1000, Count: total, Publishers: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Published != total || st.Failed != 0 {
		t.Fatalf("stats %+v, want %d published, 0 failed", st, total)
	}
	// 2,000 messages at 1,000/s cannot be done in much less than 2 s.
	if st.Elapsed < 1500*time.Millisecond {
		t.Errorf("elapsed %v: pacing at 1000 msg/s not respected", st.Elapsed)
	}

	msgs := sub.wait(total, 10*time.Second)
	if len(msgs) != total {
		t.Fatalf("received %d messages, want %d", len(msgs), total)
	}
	topicRE := regexp.MustCompile(`^ngsi/demo/(noise|air|traffic|irrigation)/(demo-\d+)$`)
	seen := map[string]bool{}
	perSensor := map[string]int{}
	for _, m := range msgs {
		g := topicRE.FindStringSubmatch(m.topic)
		if g == nil {
			t.Fatalf("topic %q does not match ngsi/{tenant}/{domain}/{sensor}", m.topic)
		}
		s, ok := sensors[g[2]]
		if !ok || s.Domain != g[1] {
			t.Fatalf("topic %q: no such sensor in domain %s", m.topic, g[1])
		}
		d := decode(t, s.Shape, m.payload)
		if d.id != s.ID {
			t.Fatalf("topic %q carries entity %q, want %q", m.topic, d.id, s.ID)
		}
		key := s.ID + " " + d.time
		if seen[key] {
			t.Errorf("duplicate (sensor, time) %s", key)
		}
		seen[key] = true
		perSensor[s.ID]++
	}
	// Round robin: every sensor published 20 times.
	for id, n := range perSensor {
		if n != total/f.Len() {
			t.Errorf("%s published %d times, want %d", id, n, total/f.Len())
		}
	}
	if len(perSensor) != f.Len() {
		t.Errorf("%d sensors published, want %d", len(perSensor), f.Len())
	}

	sub.client.Disconnect(250)
	goleak.VerifyNone(t, ignore)
}

func TestRunStopsAndBumpsTime(t *testing.T) {
	broker := startMosquitto(t)
	ignore := goleak.IgnoreCurrent()
	f := sim.NewFleet(sim.FleetConfig{Count: 10, Seed: 2, Shapes: []sim.Shape{sim.ShapeV2KeyValues}})

	t.Run("fixed clock", func(t *testing.T) {
		sub := subscribe(t, broker, 1000)
		defer sub.client.Disconnect(250)
		fixed := time.Date(2025, 5, 6, 6, 0, 0, 0, time.UTC)
		st, err := sim.Run(t.Context(), broker, f, sim.RunConfig{
			Count: 300, Publishers: 3, Clock: func() time.Time { return fixed },
		}, nil)
		if err != nil || st.Published != 300 || st.Failed != 0 {
			t.Fatalf("Run = %+v, %v", st, err)
		}
		msgs := sub.wait(300, 10*time.Second)
		times := map[string]map[string]bool{}
		for _, m := range msgs {
			d := decode(t, sim.ShapeV2KeyValues, m.payload)
			if times[d.id] == nil {
				times[d.id] = map[string]bool{}
			}
			times[d.id][d.time] = true
		}
		for id, ts := range times {
			// 30 readings each, at fixed, fixed+1ms, …, fixed+29ms.
			if len(ts) != 30 {
				t.Errorf("%s: %d distinct times, want 30", id, len(ts))
			}
			for k := range 30 {
				want := fixed.Add(time.Duration(k) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
				if !ts[want] {
					t.Errorf("%s: no reading at %s", id, want)
				}
			}
		}
	})

	t.Run("duration flat out", func(t *testing.T) {
		st, err := sim.Run(t.Context(), broker, f, sim.RunConfig{Duration: 300 * time.Millisecond, Publishers: 2}, nil)
		if err != nil || st.Published == 0 || st.Failed != 0 {
			t.Fatalf("Run = %+v, %v", st, err)
		}
		t.Logf("flat out for 300 ms: %d messages (%.0f/s)", st.Published, float64(st.Published)/st.Elapsed.Seconds())
	})

	t.Run("context cancel", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		st, err := sim.Run(ctx, broker, f, sim.RunConfig{Rate: 200}, nil)
		if err != nil || st.Failed != 0 {
			t.Fatalf("Run = %+v, %v", st, err)
		}
		// The bucket starts with one token and refills at 200/s.
		if limit := int64(200*st.Elapsed.Seconds()) + 2; st.Published > limit {
			t.Errorf("published %d in %v at 200 msg/s, want ≤ %d", st.Published, st.Elapsed, limit)
		}
	})

	goleak.VerifyNone(t, ignore)
}

func TestRunErrors(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	defer goleak.VerifyNone(t, ignore)
	f := sim.NewFleet(sim.FleetConfig{Count: 10})
	bad := []struct {
		url string
		rc  sim.RunConfig
	}{
		{"tcp://127.0.0.1:1883", sim.RunConfig{Rate: -1}},
		{"tcp://127.0.0.1:1883", sim.RunConfig{QoS: 3}},
		{"tcp://127.0.0.1:1883", sim.RunConfig{Count: -5}},
		{"http://127.0.0.1:1883", sim.RunConfig{}},
		{"tcp://", sim.RunConfig{}},
	}
	for _, b := range bad {
		if _, err := sim.Run(t.Context(), b.url, f, b.rc, nil); !errors.Is(err, sim.ErrInvalidConfig) {
			t.Errorf("Run(%q, %+v) = %v, want ErrInvalidConfig", b.url, b.rc, err)
		}
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Run(t.Context(), "tcp://127.0.0.1:"+strconv.Itoa(port), f, sim.RunConfig{Count: 1}, nil); err == nil {
		t.Error("Run against a closed port succeeded")
	}
}
