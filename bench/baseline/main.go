// Command citytwin-baseline is the minimal consumer citytwin bench compares
// citytwin with: a paho subscriber that decodes each NGSI-v2 keyValues
// message with encoding/json and hands one point per message to
// influxdb-client-go's non-blocking WriteAPI (default batching: 5,000
// points or 1 s, plus gzip). It does no validation and, with -clean (the
// default, like Telegraf's mqtt_consumer), paho acknowledges each QoS 1
// message as soon as the handler has queued the point, before it is
// written: a message in the client's buffers is lost if the process dies.
//
// Every flag can also be set through a BASELINE_* environment variable
// (BASELINE_MQTT_URL, BASELINE_INFLUX_URL, …). It prints nothing per
// message, and on SIGTERM or SIGINT it disconnects, flushes and exits.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

func main() {
	env := func(name, def string) string {
		if v := os.Getenv("BASELINE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	mqttURL := flag.String("mqtt-url", env("mqtt-url", "tcp://127.0.0.1:1883"), "MQTT broker")
	topic := flag.String("topic", env("topic", "ngsi/#"), "subscription filter")
	qos := flag.Int("qos", atoi(env("qos", "1")), "subscription QoS")
	clean := flag.Bool("clean", env("clean", "true") == "true", "clean session: paho acknowledges before the write (Telegraf's default)")
	clientID := flag.String("client-id", env("client-id", fmt.Sprintf("citytwin-baseline-%d", os.Getpid())), "MQTT client id")
	influxURL := flag.String("influx-url", env("influx-url", "http://127.0.0.1:8086"), "InfluxDB URL")
	token := flag.String("token", env("token", ""), "InfluxDB token (1.8: user:password or anything with auth off)")
	org := flag.String("org", env("org", "citytwin"), "InfluxDB organisation (ignored by 1.8)")
	bucket := flag.String("bucket", env("bucket", "citytwin"), "InfluxDB bucket (1.8: database/retention-policy)")
	flag.Parse()

	client := influxdb2.NewClientWithOptions(*influxURL, *token, influxdb2.DefaultOptions().SetUseGZip(true))
	writeAPI := client.WriteAPI(*org, *bucket)
	go func() {
		for err := range writeAPI.Errors() {
			fmt.Fprintln(os.Stderr, "baseline: write:", err)
		}
	}()

	handler := func(_ paho.Client, m paho.Message) {
		if p := toPoint(m.Topic(), m.Payload()); p != nil {
			writeAPI.WritePoint(p)
		}
	}
	opts := paho.NewClientOptions().
		AddBroker(*mqttURL).
		SetClientID(*clientID).
		SetCleanSession(*clean).
		SetAutoReconnect(true).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(c paho.Client) {
			if tok := c.Subscribe(*topic, byte(*qos), handler); tok.Wait() && tok.Error() != nil {
				fmt.Fprintln(os.Stderr, "baseline: subscribe:", tok.Error())
			}
		})
	mqtt := paho.NewClient(opts)
	if tok := mqtt.Connect(); tok.Wait() && tok.Error() != nil {
		fmt.Fprintln(os.Stderr, "baseline: connect:", tok.Error())
		os.Exit(1)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	mqtt.Disconnect(250)
	writeAPI.Flush()
	client.Close()
}

// toPoint converts an NGSI-v2 keyValues entity to a point: measurement =
// type, tags entity_id and tenant (the topic's second level), numeric and
// boolean attributes as fields, time = dateObserved (or now).
func toPoint(topic string, payload []byte) *write.Point {
	var e map[string]any
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil
	}
	typ, _ := e["type"].(string)
	id, _ := e["id"].(string)
	if typ == "" || id == "" {
		return nil
	}
	tenant := ""
	if parts := strings.SplitN(topic, "/", 3); len(parts) > 1 {
		tenant = parts[1]
	}
	ts := time.Now()
	if s, ok := e["dateObserved"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			ts = t
		}
	}
	fields := make(map[string]any, len(e))
	for k, v := range e {
		switch v.(type) {
		case float64, bool:
			fields[k] = v
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return write.NewPoint(typ, map[string]string{"entity_id": id, "tenant": tenant}, fields, ts)
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
