package ingest

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/iota/registry"
	"github.com/citytwin/citytwin/twin"
)

// DeviceRegistry is what the IoT Agent decoder needs of the device registry
// (registry.Store implements it).
type DeviceRegistry interface {
	GroupByAPIKey(apikey string) (iota.Group, bool)
	DeviceByKey(apikey, deviceID string) (iota.Device, bool)
	CreateDevice(ctx context.Context, d iota.Device) error
	RecordMeasure(apikey, deviceID string, at time.Time, accepted, rejected int, lastErr string)
}

// IoTAgentDecoder decodes FIWARE IoT Agent device measures, UltraLight 2.0
// and JSON, on every topic form ingest/iota accepts (subscribe to
// iota.Subscriptions()). The apikey names a provisioned service group and
// the device must be provisioned in it, or is created when the group allows
// autoprovisioning; otherwise the message is rejected (unknown_device) and
// nothing is stored. Measures are mapped to NGSI entities exactly as the
// IoT Agent would (iota.Map) and validated like every other reading; the
// tenant is the group's Fiware-Service. Each message updates the device's
// status in the registry (last seen, counts, last error).
//
// Command results (…/cmdexe) complete the device's command through
// CommandResult and are stored as the IoT Agent reports them: the
// {command}_status (OK) and {command}_info (the result) attributes of the
// device's entity.
type IoTAgentDecoder struct {
	Registry DeviceRegistry
	// CommandResult records a device's result for a command; an error
	// (e.g. no such command was sent) rejects the result.
	CommandResult func(apikey, deviceID, command, result string, at time.Time) error
}

// Decode implements Decoder.
func (d *IoTAgentDecoder) Decode(topic string, payload []byte, arrival time.Time) ([]twin.Observation, []*twin.InputError) {
	t, err := iota.ParseTopic(topic)
	if err != nil {
		return nil, []*twin.InputError{asInputError(err, twin.ReasonBadTopic)}
	}
	grp, ok := d.Registry.GroupByAPIKey(t.APIKey)
	if !ok {
		return nil, []*twin.InputError{twin.Errorf(twin.ReasonUnknownDevice, t.DeviceID, "apikey",
			"no service group is provisioned with apikey %q", t.APIKey)}
	}
	dev, ok := d.Registry.DeviceByKey(t.APIKey, t.DeviceID)
	if !ok {
		if grp.Autoprovision != nil && !*grp.Autoprovision {
			e := twin.Errorf(twin.ReasonUnknownDevice, t.DeviceID, "device_id",
				"device %q is not provisioned and its group does not allow autoprovisioning", t.DeviceID)
			return nil, []*twin.InputError{e}
		}
		dev = iota.Device{DeviceID: t.DeviceID, Service: grp.Service, ServicePath: grp.ServicePath}
		if err := d.Registry.CreateDevice(context.Background(), dev); err != nil && !errors.Is(err, registry.ErrExists) {
			return nil, []*twin.InputError{twin.Errorf(twin.ReasonUnknownDevice, t.DeviceID, "device_id",
				"autoprovisioning device %q failed: %v", t.DeviceID, err)}
		}
		if got, ok := d.Registry.DeviceByKey(t.APIKey, t.DeviceID); ok {
			dev = got
		}
	}
	if t.Kind != iota.KindAttrs && t.Kind != iota.KindCmdExe {
		// Configuration requests are not served.
		return nil, []*twin.InputError{twin.Errorf(twin.ReasonBadTopic, t.DeviceID, "topic",
			"configuration requests are not supported; devices get commands on %s", iota.CommandTopic(iota.ProtocolUnknown, t.APIKey, t.DeviceID))}
	}
	p := iota.ResolveProtocol(t, payload, &dev, &grp, iota.ProtocolUL)
	m, err := iota.ParseMeasures(t, p, payload)
	if err != nil {
		e := asInputError(err, twin.ReasonBadValue)
		d.Registry.RecordMeasure(t.APIKey, t.DeviceID, arrival, 0, 1, e.Error())
		return nil, []*twin.InputError{e}
	}
	if t.Kind == iota.KindCmdExe {
		return d.commandResults(t, m, &dev, &grp, arrival)
	}
	obs, errs := iota.Map(m, &dev, &grp, arrival)
	lastErr := ""
	if len(errs) > 0 {
		lastErr = errs[len(errs)-1].Error()
	}
	d.Registry.RecordMeasure(t.APIKey, t.DeviceID, arrival, len(obs), len(errs), lastErr)
	return obs, errs
}

// commandResults completes the commands a device answered and returns the
// status updates to store.
func (d *IoTAgentDecoder) commandResults(t iota.Topic, m iota.Measures, dev *iota.Device, grp *iota.Group, arrival time.Time) ([]twin.Observation, []*twin.InputError) {
	var obs []twin.Observation
	var errs []*twin.InputError
	for _, r := range m.Results {
		if d.CommandResult != nil {
			if err := d.CommandResult(t.APIKey, t.DeviceID, r.Command, r.Value.Text(), arrival); err != nil {
				errs = append(errs, twin.Errorf(twin.ReasonBadValue, t.DeviceID, r.Command, "%v", err))
				continue
			}
		}
		st := iota.NewCommand(dev, r.Command, iota.Value{}, arrival).Complete(r.Value, arrival)
		st.APIKey = t.APIKey
		e := iota.CommandUpdate(st, dev, grp)
		o, ie := e.Observations()
		if ie != nil {
			errs = append(errs, ie)
			continue
		}
		obs = append(obs, o...)
	}
	return obs, errs
}

func asInputError(err error, reason twin.Reason) *twin.InputError {
	var ie *twin.InputError
	if errors.As(err, &ie) {
		return ie
	}
	return twin.Errorf(reason, "", "", "%v", err)
}

// TopicDecoder routes NGSI topics (those starting with "ngsi/") to NGSI and
// every other topic to IoTAgent (nil: rejected as bad_topic).
type TopicDecoder struct {
	NGSI     Decoder
	IoTAgent Decoder
}

// Decode implements Decoder.
func (d TopicDecoder) Decode(topic string, payload []byte, arrival time.Time) ([]twin.Observation, []*twin.InputError) {
	if strings.HasPrefix(topic, "ngsi/") || d.IoTAgent == nil {
		return d.NGSI.Decode(topic, payload, arrival)
	}
	return d.IoTAgent.Decode(topic, payload, arrival)
}

// IoTAgentErrorTopic returns where rejections of a message on topic go: the
// device's own feedback topic (iota.ErrorTopic) for IoT Agent topics, else
// prefix + topic.
func IoTAgentErrorTopic(prefix string) func(topic string) string {
	return func(topic string) string {
		if !strings.HasPrefix(topic, "ngsi/") {
			if t, err := iota.ParseTopic(topic); err == nil {
				return iota.ErrorTopic(t.APIKey, t.DeviceID)
			}
		}
		return ErrorTopic(prefix, topic)
	}
}
