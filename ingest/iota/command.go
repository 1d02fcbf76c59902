package iota

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/citytwin/citytwin/twin"
)

// CommandStatus is the lifecycle state of a command, as the IoT Agents
// write it in the entity's {command}_status attribute.
type CommandStatus string

// Command states: PENDING once published to the device, then OK with the
// device's result, ERROR with the failure, or EXPIRED when no result came
// in time.
const (
	CommandPending CommandStatus = "PENDING"
	CommandOK      CommandStatus = "OK"
	CommandError   CommandStatus = "ERROR"
	CommandExpired CommandStatus = "EXPIRED"
)

// Final tells a state no result changes any more (EXPIRED still takes a
// late result, as the agents accept one).
func (s CommandStatus) Final() bool { return s == CommandOK || s == CommandError }

// CommandState is one command issued to a device and what became of it.
// Its methods are pure: they return the new state and never read a clock.
type CommandState struct {
	Service     string
	ServicePath string
	APIKey      string
	DeviceID    string
	// Name is the command (the entity attribute).
	Name string
	// Value is what the command asked for, as sent.
	Value  Value
	Status CommandStatus
	// Info is the device's result, or why the command failed or expired.
	Info    Value
	Issued  time.Time
	Updated time.Time
}

// NewCommand returns a command issued at now, PENDING.
func NewCommand(dev *Device, name string, v Value, now time.Time) CommandState {
	s := CommandState{Name: name, Value: v, Status: CommandPending, Issued: now, Updated: now}
	if dev != nil {
		s.Service, s.ServicePath, s.APIKey, s.DeviceID = dev.Service, dev.ServicePath, dev.APIKey, dev.DeviceID
	}
	return s
}

// Complete records the device's result: OK.
func (s CommandState) Complete(result Value, now time.Time) CommandState {
	s.Status, s.Info, s.Updated = CommandOK, result, now
	return s
}

// Fail records a failure: ERROR, with the reason as info.
func (s CommandState) Fail(reason string, now time.Time) CommandState {
	s.Status, s.Info, s.Updated = CommandError, Text(reason), now
	return s
}

// Expire marks a PENDING command EXPIRED when ttl has passed since it was
// issued, and reports whether it did.
func (s CommandState) Expire(now time.Time, ttl time.Duration) (CommandState, bool) {
	if s.Status != CommandPending || now.Sub(s.Issued) < ttl {
		return s, false
	}
	s.Status, s.Info, s.Updated = CommandExpired, Text("expired"), now
	return s, true
}

// Attrs returns the entity attributes that report the state:
// {command}_status, and {command}_info once there is a result.
func (s CommandState) Attrs() []EntityAttr {
	out := []EntityAttr{{Name: s.Name + "_status", Type: CommandStatusType, Value: Text(string(s.Status))}}
	if s.Status != CommandPending {
		out = append(out, EntityAttr{Name: s.Name + "_info", Type: CommandResultType, Value: s.Info})
	}
	return out
}

// CommandUpdate returns the NGSI update that reports a command's state on
// the device's entity (the PENDING update the agent sends when it publishes
// a command, say).
func CommandUpdate(s CommandState, dev *Device, grp *Group) Entity {
	p := resolve(&Measures{APIKey: s.APIKey, DeviceID: s.DeviceID}, dev, grp)
	return Entity{
		Service: p.service, ServicePath: p.servicePath, ID: p.entityName, Type: p.entityType,
		Attrs: s.Attrs(), Time: s.Updated.UTC(), TimeSource: twin.TimeArrival,
	}
}

// EncodeCommand builds the MQTT payload of a command for a device of
// protocol p: the command's expression (if provisioned) is applied to the
// value, with the command's name holding the value; the result is encoded
// for the protocol (EncodeULCommand, EncodeJSONCommand), unless the
// command's payloadType asks for "text" (the value's text),
// "binaryfromstring" (the text's bytes), "binaryfromhex" (the bytes the hex
// text spells) or "binaryfromjson" (the value's JSON). It also returns the
// command's MQTT options (nil when not provisioned).
func EncodeCommand(p Protocol, dev *Device, grp *Group, name string, v Value) ([]byte, *CommandMQTT, error) {
	if dev == nil && grp == nil {
		return nil, nil, fmt.Errorf("encode command %q: no device or group", name)
	}
	deviceID := ""
	if dev != nil {
		deviceID = dev.DeviceID
	}
	prof := resolve(&Measures{DeviceID: deviceID}, dev, grp)
	var cmd *Command
	for i := range prof.commands {
		if prof.commands[i].Name == name {
			cmd = &prof.commands[i]
			break
		}
	}
	if cmd == nil {
		return nil, nil, fmt.Errorf("encode command %q: not provisioned for device %q", name, prof.deviceID)
	}
	if cmd.Expression != "" {
		env := prof.env(nil)
		env["entity_name"] = prof.entityName
		env[name] = v.Any()
		out, err := evalExpr(cmd.Expression, env)
		if err != nil {
			return nil, nil, fmt.Errorf("encode command %q: expression %w", name, err)
		}
		v = out
	}
	wire := name
	if cmd.ObjectID != "" {
		wire = cmd.ObjectID
	}
	switch cmd.PayloadType {
	case "text":
		return []byte(v.Text()), cmd.MQTT, nil
	case "binaryfromstring":
		return []byte(v.Text()), cmd.MQTT, nil
	case "binaryfromhex":
		b, err := hex.DecodeString(v.Text())
		if err != nil {
			return nil, nil, fmt.Errorf("encode command %q: payloadType binaryfromhex needs hexadecimal text: %w", name, err)
		}
		return b, cmd.MQTT, nil
	case "binaryfromjson":
		return v.AppendJSON(nil), cmd.MQTT, nil
	}
	if p == ProtocolJSON {
		return EncodeJSONCommand(wire, v), cmd.MQTT, nil
	}
	return EncodeULCommand(prof.deviceID, wire, v), cmd.MQTT, nil
}
