package testenv_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestInfluxDBWriteSelectRestart(t *testing.T) {
	db := testenv.StartInfluxDB(t)

	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	db.Write(t, fmt.Sprintf(`noise,sensor_id=n1,district=Centre laeq=61.5,count=3i,ok=true,unit="dBA" %d`, at.UnixNano()))

	want := testenv.Row{
		Measurement: "noise",
		Tags:        map[string]string{"sensor_id": "n1", "district": "Centre"},
		Time:        at,
		Fields:      map[string]any{"laeq": 61.5, "count": int64(3), "ok": true, "unit": "dBA"},
	}
	check := func(when string) {
		t.Helper()
		rows := db.Select(t, `SELECT * FROM "noise"`)
		if len(rows) != 1 {
			t.Fatalf("%s: got %d rows, want 1: %+v", when, len(rows), rows)
		}
		if got := fmt.Sprintf("%#v", rows[0]); got != fmt.Sprintf("%#v", want) {
			t.Errorf("%s:\n got %s\nwant %#v", when, got, want)
		}
		if n := db.Count(t, `SELECT count("laeq") FROM "noise"`); n != 1 {
			t.Errorf("%s: count = %d, want 1", when, n)
		}
	}
	check("before restart")

	db.Restart()
	check("after restart")
	// Writes are accepted at once after Start returns.
	db.Write(t, fmt.Sprintf(`noise,sensor_id=n1,district=Centre laeq=60 %d`, at.Add(time.Second).UnixNano()))
	if n := db.Count(t, `SELECT count("laeq") FROM "noise"`); n != 2 {
		t.Errorf("after a write following the restart: count = %d, want 2", n)
	}
	if n := db.Count(t, `SELECT count("laeq") FROM "absent"`); n != 0 {
		t.Errorf("count of an absent measurement = %d, want 0", n)
	}
}

func TestMosquittoPersistentSessionSurvivesRestart(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	const topic = "citytwin/test/noise"

	received := make(chan string, 10)
	subscriber := connect(t, broker, "citytwin-test-sub", func(_ paho.Client, m paho.Message) {
		received <- string(m.Payload())
	})
	wait(t, "subscribe", subscriber.Subscribe(topic, 1, nil))
	subscriber.Disconnect(250)

	// Published while the persistent subscriber is offline: queued by the broker.
	publisher := connect(t, broker, "citytwin-test-pub", nil)
	wait(t, "publish", publisher.Publish(topic, 1, false, "queued across restart"))
	publisher.Disconnect(250)

	broker.Restart()

	subscriber = connect(t, broker, "citytwin-test-sub", func(_ paho.Client, m paho.Message) {
		received <- string(m.Payload())
	})
	defer subscriber.Disconnect(250)
	select {
	case got := <-received:
		if got != "queued across restart" {
			t.Errorf("received %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message queued for the persistent session was not delivered after the restart")
	}
}

func TestMosquittoConfigFollowsDeploy(t *testing.T) {
	broker := testenv.StartMosquitto(t, testenv.WithMosquittoConfig("max_queued_messages 10"))
	conf, err := os.ReadFile(broker.Dir + "/mosquitto.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\npersistence true\n",
		"\nmax_queued_bytes 1073741824\n",
		"\nmax_inflight_messages 20000\n",
		"\nmax_queued_messages 10\n",
		"\nlistener " + strings.TrimPrefix(broker.Addr, "127.0.0.1:") + " 127.0.0.1\n",
	} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("generated configuration lacks %q:\n%s", strings.TrimSpace(want), conf)
		}
	}
	if strings.Contains(string(conf), "max_queued_messages 0") || strings.Contains(string(conf), "/mosquitto/data") {
		t.Errorf("generated configuration kept a replaced line:\n%s", conf)
	}
}

// connect connects a QoS 1 client with a persistent session (clean session
// false), as citytwin does.
func connect(t *testing.T, broker *testenv.Mosquitto, clientID string, handler paho.MessageHandler) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().
		AddBroker(broker.URL).
		SetClientID(clientID).
		SetCleanSession(false).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetDefaultPublishHandler(handler)
	c := paho.NewClient(opts)
	wait(t, "connect "+clientID, c.Connect())
	return c
}

func wait(t *testing.T, what string, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("%s: timed out", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
