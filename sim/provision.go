package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
)

// Vendor is one simulated vendor's service group for one protocol, with
// its devices, as the IoT Agent provisioning API takes them.
type Vendor struct {
	// Group is in service (Fiware-Service) = the fleet's tenant and service
	// path "/{vendor}", with the apikey of its sensors, resource /iot/d
	// (UltraLight) or /iot/json, the vendor's entity type and autoprovision
	// off.
	Group iota.Group
	// Devices are the vendor's devices of the group's protocol: device_id
	// LocalID, entity_name the sensor's NGSI id, attributes mapping the
	// short object_ids to the Smart Data Models names (with unitCode
	// metadata), static attributes for the location, constant texts and
	// the road or park the sensor belongs to, and the open_valve command
	// for irrigation controllers.
	Devices []iota.Device
	// Sensors are the fleet indices of Devices, in order.
	Sensors []int
}

// IoT Agent protocol names and southbound resources of the groups.
var (
	protocolName = map[Protocol]string{ProtocolUL: "PDI-IoTA-UltraLight", ProtocolJSON: "IoTA-JSON"}
	resourceOf   = map[Protocol]string{ProtocolUL: "/iot/d", ProtocolJSON: "/iot/json"}
)

// CommandOpenValve is the command of irrigation controllers; its value is
// the number of minutes to water (0 closes the valve).
const CommandOpenValve = "open_valve"

// Vendors returns the service groups and devices of the fleet's IoT Agent
// sensors, ordered by apikey. With only non-nil, only those sensors (fleet
// indices) are listed, and only the groups they need.
func (f *Fleet) Vendors(only []int) []Vendor {
	byKey := map[string]*Vendor{}
	var keys []string
	add := func(i int) {
		s := &f.sensors[i]
		if !s.Protocol.iotAgent() {
			return
		}
		v := byKey[s.APIKey]
		if v == nil {
			no := false
			v = &Vendor{Group: iota.Group{
				Service: f.tenant, ServicePath: "/" + s.Vendor,
				Resource: resourceOf[s.Protocol], APIKey: s.APIKey, EntityType: s.Type,
				Autoprovision: &no, Protocol: protocolName[s.Protocol], Transport: "MQTT",
				Description: "citytwin simulate: " + s.Vendor + " " + s.Type + " devices",
			}}
			byKey[s.APIKey] = v
			keys = append(keys, s.APIKey)
		}
		v.Devices = append(v.Devices, f.device(i))
		v.Sensors = append(v.Sensors, i)
	}
	if only == nil {
		for i := range f.sensors {
			add(i)
		}
	} else {
		for _, i := range only {
			add(i)
		}
	}
	slices.Sort(keys)
	out := make([]Vendor, len(keys))
	for k, key := range keys {
		out[k] = *byKey[key]
	}
	return out
}

// device returns the provisioning of IoT Agent sensor i.
func (f *Fleet) device(i int) iota.Device {
	s := &f.sensors[i]
	m := f.model(i)
	d := iota.Device{
		Service: f.tenant, ServicePath: "/" + s.Vendor,
		DeviceID: s.LocalID, APIKey: s.APIKey, EntityName: s.ID, EntityType: s.Type,
		Protocol: protocolName[s.Protocol], Transport: "MQTT",
	}
	for _, a := range m.attrs {
		at := iota.Attribute{ObjectID: a.objectID, Name: a.name, Type: "Number"}
		if a.boolean {
			at.Type = "Boolean"
		}
		if a.unitCode != "" {
			at.Metadata = map[string]iota.Metadata{"unitCode": {Type: "Text", Value: iota.Text(a.unitCode)}}
		}
		d.Attributes = append(d.Attributes, at)
	}
	e := entity{s: s, m: m}
	geo := iota.Value{Kind: iota.ValueJSON, Str: string(e.appendGeo(nil))}
	d.StaticAttributes = append(d.StaticAttributes, iota.Attribute{Name: "location", Type: "geo:json", Value: &geo})
	for _, x := range m.texts {
		v := iota.Text(x[1])
		d.StaticAttributes = append(d.StaticAttributes, iota.Attribute{Name: x[0], Type: "Text", Value: &v})
	}
	if rn, ro := e.ref(); rn != "" {
		v := iota.Text(ro)
		d.StaticAttributes = append(d.StaticAttributes, iota.Attribute{Name: rn, Type: "Relationship", Value: &v})
	}
	if s.Controller {
		d.Commands = []iota.Command{{Name: CommandOpenValve, Type: "command"}}
	}
	return d
}

// Credentials are what citytwin issued for a vendor's service group.
type Credentials struct {
	// Username and Password are the group's MQTT credentials.
	Username, Password string
	// Token is the vendor's bearer token for the provisioning API.
	Token string
}

// ProvisionConfig configures Provision.
type ProvisionConfig struct {
	// URL is citytwin's HTTP base URL, e.g. http://127.0.0.1:8080.
	URL string
	// AdminToken is the provisioning API's admin token: groups are created
	// and their credentials rotated by the admin.
	AdminToken string
	// Sensors, when non-nil, provisions only these sensors (fleet indices).
	Sensors []int
	// Retry is how long requests that reach no server (citytwin still
	// starting) are retried; 0 means not at all.
	Retry time.Duration
	// Client is the HTTP client; nil means one with a 30 s timeout.
	Client *http.Client
}

// Provision provisions the fleet's IoT Agent devices through citytwin's
// provisioning API (the IoT Agent north API, see web/provision), as a
// city and its vendors would:
//
//   - the admin creates each vendor's service group (POST /iot/services)
//     and keeps the MQTT credentials and vendor token of the answer; when
//     the group exists (a rerun: 409 DUPLICATE_GROUP), it updates the group
//     (PUT /iot/services) and rotates its credentials (POST
//     /iot/services/credentials), since the old ones were shown only once;
//   - the vendor, with its token, creates its devices (POST /iot/devices,
//     100 per request); devices that exist are updated one by one (PUT
//     /iot/devices/{id}), so a rerun with another seed or city moves them.
//
// It returns the credentials by apikey, for RunConfig.Credentials. An NGSI
// only fleet needs nothing and gets an empty map without a request.
func Provision(ctx context.Context, f *Fleet, pc ProvisionConfig, log *slog.Logger) (map[string]Credentials, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sim")
	vendors := f.Vendors(pc.Sensors)
	out := make(map[string]Credentials, len(vendors))
	if len(vendors) == 0 {
		return out, nil
	}
	u, err := url.Parse(pc.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: provisioning URL %q must be citytwin's http(s)://host:port", ErrInvalidConfig, pc.URL)
	}
	if pc.AdminToken == "" {
		return nil, fmt.Errorf("%w: provisioning needs the admin token of citytwin's API", ErrInvalidConfig)
	}
	c := &apiClient{base: strings.TrimRight(pc.URL, "/"), http: pc.Client, retry: pc.Retry}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	for _, v := range vendors {
		g := v.Group
		cr, rotated, err := c.group(ctx, g, pc.AdminToken)
		if err != nil {
			return nil, err
		}
		created, updated, err := c.devices(ctx, g, v.Devices, cr.Token)
		if err != nil {
			return nil, err
		}
		out[g.APIKey] = cr
		log.Info("provisioned", "tenant", g.Service, "service_path", g.ServicePath, "apikey", g.APIKey,
			"credentials_rotated", rotated, "devices_created", created, "devices_updated", updated)
	}
	return out, nil
}

// apiClient calls the provisioning API.
type apiClient struct {
	base  string
	http  *http.Client
	retry time.Duration
}

// apiError is the error body of the API.
type apiError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// group creates a group, or updates it and rotates its credentials when it
// exists.
func (c *apiClient) group(ctx context.Context, g iota.Group, admin string) (Credentials, bool, error) {
	body, _ := json.Marshal(map[string]any{"services": []iota.Group{g}})
	status, resp, err := c.do(ctx, http.MethodPost, "/iot/services", admin, g, body)
	if err != nil {
		return Credentials{}, false, err
	}
	type issued struct {
		MQTT  struct{ Username, Password string } `json:"mqtt"`
		Token string                              `json:"token"`
	}
	switch {
	case status == http.StatusCreated:
		var ans struct {
			Services []issued `json:"services"`
		}
		if err := json.Unmarshal(resp, &ans); err != nil || len(ans.Services) != 1 {
			return Credentials{}, false, fmt.Errorf("sim: create group %s: unexpected answer %.200s", g.APIKey, resp)
		}
		s := ans.Services[0]
		return Credentials{s.MQTT.Username, s.MQTT.Password, s.Token}, false, nil
	case status == http.StatusConflict && errorName(resp) == "DUPLICATE_GROUP":
		q := "?apikey=" + url.QueryEscape(g.APIKey) + "&resource=" + url.QueryEscape(g.Resource)
		fields, _ := json.Marshal(g)
		status, resp, err = c.do(ctx, http.MethodPut, "/iot/services"+q, admin, g, fields)
		if err != nil {
			return Credentials{}, false, err
		}
		if status != http.StatusNoContent {
			return Credentials{}, false, apiFailure("update group "+g.APIKey, status, resp)
		}
		status, resp, err = c.do(ctx, http.MethodPost, "/iot/services/credentials?apikey="+url.QueryEscape(g.APIKey), admin, g, nil)
		if err != nil {
			return Credentials{}, false, err
		}
		var ans issued
		if status != http.StatusOK || json.Unmarshal(resp, &ans) != nil {
			return Credentials{}, false, apiFailure("rotate the credentials of group "+g.APIKey, status, resp)
		}
		return Credentials{ans.MQTT.Username, ans.MQTT.Password, ans.Token}, true, nil
	}
	return Credentials{}, false, apiFailure("create group "+g.APIKey, status, resp)
}

// devices creates the group's devices in batches, updating those that exist.
func (c *apiClient) devices(ctx context.Context, g iota.Group, devices []iota.Device, token string) (created, updated int, err error) {
	const batch = 100
	for len(devices) > 0 {
		n := min(batch, len(devices))
		chunk := devices[:n]
		devices = devices[n:]
		body, _ := json.Marshal(map[string]any{"devices": chunk})
		status, resp, err := c.do(ctx, http.MethodPost, "/iot/devices", token, g, body)
		if err != nil {
			return created, updated, err
		}
		switch {
		case status == http.StatusCreated:
			created += n
			continue
		case status != http.StatusConflict:
			return created, updated, apiFailure("create devices of group "+g.APIKey, status, resp)
		}
		// Some exist: all or none was created, so go one by one.
		for _, d := range chunk {
			body, _ := json.Marshal(map[string]any{"devices": []iota.Device{d}})
			status, resp, err := c.do(ctx, http.MethodPost, "/iot/devices", token, g, body)
			if err != nil {
				return created, updated, err
			}
			switch {
			case status == http.StatusCreated:
				created++
				continue
			case status != http.StatusConflict || errorName(resp) != "DUPLICATE_DEVICE_ID":
				return created, updated, apiFailure("create device "+d.DeviceID, status, resp)
			}
			status, resp, err = c.do(ctx, http.MethodPut, "/iot/devices/"+url.PathEscape(d.DeviceID), token, g, deviceUpdate(d))
			if err != nil {
				return created, updated, err
			}
			if status != http.StatusNoContent {
				return created, updated, apiFailure("update device "+d.DeviceID, status, resp)
			}
			updated++
		}
	}
	return created, updated, nil
}

// deviceUpdate is the PUT body that makes a stored device d: every field
// but the identity, and null for the commands of a device without any.
func deviceUpdate(d iota.Device) []byte {
	raw, _ := json.Marshal(d)
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	delete(fields, "device_id")
	delete(fields, "service")
	delete(fields, "service_path")
	if _, ok := fields["commands"]; !ok {
		fields["commands"] = json.RawMessage("null")
	}
	b, _ := json.Marshal(fields)
	return b
}

// do sends one request in the group's scope and returns the status and
// body; transport errors are retried for c.retry.
func (c *apiClient) do(ctx context.Context, method, path, token string, g iota.Group, body []byte) (int, []byte, error) {
	deadline := time.Now().Add(c.retry)
	for {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, fmt.Errorf("sim: provisioning request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Fiware-Service", g.Service)
		req.Header.Set("Fiware-ServicePath", g.ServicePath)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if rerr != nil {
				return 0, nil, fmt.Errorf("sim: %s %s: %w", method, c.base+path, rerr)
			}
			return resp.StatusCode, b, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("sim: %s %s (is citytwin serving its API there?): %w", method, c.base+path, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func errorName(body []byte) string {
	var e apiError
	_ = json.Unmarshal(body, &e)
	return e.Name
}

// apiFailure describes an unexpected answer, with the hint a 401 needs.
func apiFailure(what string, status int, body []byte) error {
	var e apiError
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Name != "" {
		msg = e.Name + ": " + e.Message
	}
	err := fmt.Errorf("sim: %s: HTTP %d %s", what, status, msg)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		err = fmt.Errorf("%w (the admin token must be citytwin's: CITYTWIN_ADMIN_TOKEN, or the file DATA_DIR/admin-token serve wrote)", err)
	}
	return err
}
