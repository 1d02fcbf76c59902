package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/ingest/iota"
)

// command is a command received for an irrigation controller.
type command struct {
	lane    *lane
	sensor  int
	payload []byte
}

// controllers answers the commands of a Run's irrigation controllers.
type controllers struct {
	fleet *Fleet
	irr   *irrigation
	clock func() time.Time
	log   *slog.Logger
	// queue holds received commands for run; full, commands are dropped.
	queue    chan command
	stop     chan struct{}
	dropped  atomic.Int64
	answered atomic.Int64
}

// subscriber returns the on-connect handler of a group's first connection:
// it subscribes to the group's command topics (again after every
// reconnect, the session being clean) and reports the first outcome on
// done.
func (c *controllers) subscriber(ln *lane, done chan<- error) paho.OnConnectHandler {
	filter := "/" + ln.apikey + "/+/cmd"
	return func(cl paho.Client) {
		tok := cl.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { c.receive(ln, m) })
		var err error
		if !tok.WaitTimeout(10 * time.Second) {
			err = errors.New("no SUBACK within 10 s")
		} else if err = tok.Error(); err == nil {
			if st, ok := tok.(*paho.SubscribeToken); ok && st.Result()[filter] >= 0x80 {
				err = fmt.Errorf("the broker refused the subscription to %s", filter)
			}
		}
		select {
		case done <- err:
		default:
		}
	}
}

// receive runs in paho's handler: it only queues the command.
func (c *controllers) receive(ln *lane, m paho.Message) {
	lv := strings.Split(strings.TrimPrefix(m.Topic(), "/"), "/")
	if len(lv) != 3 {
		return
	}
	i, ok := ln.controllers[lv[1]]
	if !ok {
		return
	}
	select {
	case c.queue <- command{lane: ln, sensor: i, payload: append([]byte(nil), m.Payload()...)}:
	default:
		if c.dropped.Add(1) == 1 {
			c.log.Warn("command queue full: commands dropped", "topic", m.Topic())
		}
	}
}

// run handles queued commands until stop is closed.
func (c *controllers) run() {
	for {
		select {
		case <-c.stop:
			return
		case cmd := <-c.queue:
			c.handle(cmd)
		}
	}
}

// handle executes one command and publishes the controller's answer.
func (c *controllers) handle(cmd command) {
	s := &c.fleet.sensors[cmd.sensor]
	name, value, err := parseCommand(s.Protocol, s.LocalID, cmd.payload)
	if err != nil {
		c.log.Warn("bad command", "device_id", s.LocalID, "apikey", s.APIKey, "err", err)
		return
	}
	result := c.execute(cmd.sensor, name, value)
	var payload []byte
	if s.Protocol == ProtocolJSON {
		payload, _ = json.Marshal(map[string]string{name: result})
	} else {
		payload = iota.FormatUL([]iota.ULGroup{{Result: &iota.ULResult{DeviceID: s.LocalID, Command: name, Raw: result}}})
	}
	topic := "/" + string(s.Protocol) + "/" + s.APIKey + "/" + s.LocalID + "/cmdexe"
	tok := cmd.lane.clients[0].Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		c.log.Warn("command result not published", "device_id", s.LocalID, "topic", topic, "err", tok.Error())
		return
	}
	c.answered.Add(1)
	c.log.Info("command answered", "device_id", s.LocalID, "apikey", s.APIKey, "command", name, "result", result)
}

// execute runs a command on controller i and returns its result text.
func (c *controllers) execute(i int, name, value string) string {
	if name != CommandOpenValve {
		return "unknown command " + name
	}
	minutes, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil || minutes < 0 || minutes > 24*60 {
		return fmt.Sprintf("refused: the value must be the minutes to water, 0 to 1440, got %q", value)
	}
	c.irr.open(i, c.clock(), minutes)
	if minutes == 0 {
		return "closed"
	}
	return "opened for " + strconv.FormatFloat(minutes, 'f', -1, 64) + " min"
}

// parseCommand reads a command payload as a device of protocol p would:
// "{device}@{command}|{value}" (UltraLight 2.0) or {"{command}": value}
// (JSON).
func parseCommand(p Protocol, device string, payload []byte) (name, value string, err error) {
	if p == ProtocolJSON {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(payload, &m); err != nil || len(m) != 1 {
			return "", "", fmt.Errorf("a JSON command must be an object with one member, got %.100q", payload)
		}
		for k, raw := range m {
			var text string
			if json.Unmarshal(raw, &text) != nil {
				text = string(raw)
			}
			return k, text, nil
		}
	}
	c, err := iota.ParseULCommand(payload)
	if err != nil {
		return "", "", err
	}
	if c.DeviceID != device {
		return "", "", fmt.Errorf("command for device %q on the topic of %q", c.DeviceID, device)
	}
	if len(c.Params) > 0 {
		return c.Command, "", nil // parameters are not what open_valve takes
	}
	return c.Command, c.Value, nil
}
