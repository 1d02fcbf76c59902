package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/iota/registry"
)

// CommandSender publishes a command to a device: QoS 1, not retained; false
// when it could not be queued.
type CommandSender func(topic string, payload []byte) bool

// DefaultCommandTTL is how long a command waits for the device's result
// before it expires, unless the request says otherwise.
const DefaultCommandTTL = 10 * time.Minute

// commandRequest is the body of POST /iot/devices/{id}/commands.
type commandRequest struct {
	Name  string     `json:"name"`
	Value iota.Value `json:"value"`
	// TTL is how long the command may wait for a result, a Go duration
	// ("15m"); default DefaultCommandTTL, at most 24 h.
	TTL string `json:"ttl"`
}

// deviceScope finds a device and the apikey its topics use.
func (a *API) deviceScope(ctx context.Context, c call, id string) (iota.Device, iota.Group, error) {
	d, ok, err := a.Store.Device(ctx, c.service, c.path, id)
	if err != nil {
		return d, iota.Group{}, err
	}
	if !ok {
		return d, iota.Group{}, fmt.Errorf("%w: no device %q in this service and path", registry.ErrNotFound, id)
	}
	groups, err := a.Store.Groups(ctx, c.service, c.path)
	if err != nil {
		return d, iota.Group{}, err
	}
	for _, g := range groups {
		if d.APIKey == "" || g.APIKey == d.APIKey {
			if d.APIKey == "" {
				d.APIKey = g.APIKey
			}
			return d, g, nil
		}
	}
	if d.APIKey == "" {
		return d, iota.Group{}, fmt.Errorf("%w: device %q has no apikey and its service path has no group", registry.ErrNotFound, id)
	}
	return d, iota.Group{}, nil
}

// sendCommand serves POST /iot/devices/{id}/commands: the command, declared
// on the device or its group, is published on /{apikey}/{deviceId}/cmd in
// the device's protocol and recorded PENDING until the device answers on
// …/cmdexe or it expires.
func (a *API) sendCommand(w http.ResponseWriter, r *http.Request, c call) {
	if a.Commands == nil {
		writeError(w, http.StatusServiceUnavailable, "COMMANDS_UNAVAILABLE", "this instance cannot publish commands")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req commandRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "WRONG_SYNTAX", "body: "+err.Error())
		return
	}
	if req.Name == "" {
		writeFieldErrors(w, []*iota.FieldError{{Field: "name", Rule: "required"}})
		return
	}
	ttl := DefaultCommandTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 || d > 24*time.Hour {
			writeFieldErrors(w, []*iota.FieldError{{Field: "ttl", Rule: "must be a duration from 1s to 24h, e.g. \"15m\""}})
			return
		}
		ttl = d
	}
	id := r.PathValue("id")
	dev, grp, err := a.deviceScope(r.Context(), c, id)
	if err != nil {
		a.fail(w, err, "device")
		return
	}
	payload, _, err := iota.EncodeCommand(iota.ProtocolOf(&dev, &grp), &dev, &grp, req.Name, req.Value)
	if err != nil {
		writeFieldErrors(w, []*iota.FieldError{{Field: "name", Rule: err.Error()}})
		return
	}
	now := a.now()
	rec := registry.CommandRecord{APIKey: dev.APIKey, DeviceID: dev.DeviceID, Name: req.Name, Service: dev.Service,
		ServicePath: dev.ServicePath, Value: req.Value, Status: registry.CommandPending, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.Store.PutCommand(r.Context(), rec); err != nil {
		a.fail(w, err, "device")
		return
	}
	if !a.Commands(iota.CommandTopic(iota.ProtocolUnknown, dev.APIKey, dev.DeviceID), payload) {
		rec.Status, rec.Info, rec.UpdatedAt = registry.CommandError, "the MQTT publish queue is full", a.now()
		_ = a.Store.PutCommand(context.WithoutCancel(r.Context()), rec)
		writeError(w, http.StatusServiceUnavailable, "COMMAND_NOT_SENT", "the command could not be queued for publication; retry")
		return
	}
	a.log().Info("command sent", "tenant", dev.Service, "apikey", dev.APIKey, "device", dev.DeviceID, "command", req.Name)
	writeJSON(w, http.StatusAccepted, rec)
}

// getCommands serves GET /iot/devices/{id}/commands: the latest record of
// each command declared on the device or its group.
func (a *API) getCommands(w http.ResponseWriter, r *http.Request, c call) {
	dev, grp, err := a.deviceScope(r.Context(), c, r.PathValue("id"))
	if err != nil {
		a.fail(w, err, "device")
		return
	}
	out := []registry.CommandRecord{}
	seen := map[string]bool{}
	for _, cmd := range append(append([]iota.Command{}, dev.Commands...), grp.Commands...) {
		if seen[cmd.Name] {
			continue
		}
		seen[cmd.Name] = true
		rec, ok, err := a.Store.Command(r.Context(), dev.APIKey, dev.DeviceID, cmd.Name)
		if err != nil {
			a.fail(w, err, "device")
			return
		}
		if ok {
			out = append(out, rec)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "commands": out})
}

// ExpireCommands marks PENDING commands whose time is up EXPIRED; serve
// calls it periodically. It returns how many expired.
func ExpireCommands(ctx context.Context, store registry.Store, now time.Time) (int, error) {
	pending, err := store.PendingCommands(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range pending {
		if c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt) {
			continue
		}
		c.Status, c.Info, c.UpdatedAt = registry.CommandExpired, "no result from the device before "+c.ExpiresAt.UTC().Format(time.RFC3339), now
		if err := store.PutCommand(ctx, c); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CompleteCommand records a device's result for a command (from …/cmdexe):
// OK with the result as info. A result for a command never sent is an
// error naming it.
func CompleteCommand(ctx context.Context, store registry.Store, apikey, deviceID, name, result string, now time.Time) error {
	rec, ok, err := store.Command(ctx, apikey, deviceID, name)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no command " + name + " was sent to this device")
	}
	rec.Status, rec.Info, rec.UpdatedAt = registry.CommandOK, result, now
	return store.PutCommand(ctx, rec)
}
