// Package dynsec manages Mosquitto's dynamic-security plugin (shipped in
// Debian's mosquitto package) over MQTT: citytwin connects as the plugin's
// admin and sends commands on $CONTROL/dynamic-security/v1, reading the
// answers on …/response. It is how the vendors' fence is enforced by an
// external Mosquitto: one role per service group, allowed to publish only
// its apikey's device-to-agent topics and to subscribe only to its devices'
// command, error and configuration topics, and one client (the group's MQTT
// credentials) holding that role.
package dynsec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const (
	controlTopic  = "$CONTROL/dynamic-security/v1"
	responseTopic = controlTopic + "/response"
)

// Command is one dynamic-security command, e.g.
// {"command":"createClient","username":"…","password":"…"}.
type Command map[string]any

// Client sends commands to the plugin. Safe for concurrent use: commands
// are serialised, one request in flight at a time.
type Client struct {
	mqtt    paho.Client
	mu      sync.Mutex // one request at a time
	waiting chan response
	timeout time.Duration
}

type response struct {
	Responses []struct {
		Command string `json:"command"`
		Error   string `json:"error"`
	} `json:"responses"`
	CorrelationData string `json:"correlationData"`
}

// Dial connects to the broker at url with the plugin admin's credentials.
func Dial(ctx context.Context, url, username, password string) (*Client, error) {
	c := &Client{waiting: make(chan response, 1), timeout: 10 * time.Second}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	o := paho.NewClientOptions().AddBroker(url).SetClientID("citytwin-dynsec-" + hex.EncodeToString(id)).
		SetUsername(username).SetPassword(password).SetCleanSession(true).SetAutoReconnect(true).
		SetConnectRetry(false).SetOrderMatters(false)
	onResponse := func(_ paho.Client, m paho.Message) {
		var r response
		if json.Unmarshal(m.Payload(), &r) == nil {
			select {
			case c.waiting <- r:
			default:
			}
		}
	}
	// Resubscribe after a reconnect (clean session).
	o.SetOnConnectHandler(func(pc paho.Client) { pc.Subscribe(responseTopic, 1, onResponse) })
	c.mqtt = paho.NewClient(o)
	tok := c.mqtt.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if tok.Error() != nil {
		return nil, fmt.Errorf("dynsec: connect %s as %s: %w", url, username, tok.Error())
	}
	// The first command must not be sent before the answer topic is
	// subscribed: wait for a SUBACK of our own.
	if st := c.mqtt.Subscribe(responseTopic, 1, onResponse); !st.WaitTimeout(c.timeout) || st.Error() != nil {
		c.mqtt.Disconnect(0)
		return nil, fmt.Errorf("dynsec: subscribe %s: %v", responseTopic, st.Error())
	}
	return c, nil
}

// Close disconnects.
func (c *Client) Close() { c.mqtt.Disconnect(250) }

// Do sends commands and returns an error naming each command the plugin
// refused. Errors listed in ignore (e.g. "Client already exists") are not
// errors.
func (c *Client) Do(ctx context.Context, ignore []string, cmds ...Command) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	corr := make([]byte, 8)
	_, _ = rand.Read(corr)
	id := hex.EncodeToString(corr)
	for _, cmd := range cmds {
		cmd["correlationData"] = id
	}
	body, err := json.Marshal(map[string]any{"commands": cmds})
	if err != nil {
		return err
	}
	for {
		select {
		case <-c.waiting: // a stale answer
			continue
		default:
		}
		break
	}
	tok := c.mqtt.Publish(controlTopic, 1, false, body)
	if !tok.WaitTimeout(c.timeout) || tok.Error() != nil {
		return fmt.Errorf("dynsec: publish: %v", tok.Error())
	}
	deadline := time.NewTimer(c.timeout)
	defer deadline.Stop()
	for {
		select {
		case r := <-c.waiting:
			var errs []error
			for i, res := range r.Responses {
				if res.Error != "" && !contains(ignore, res.Error) {
					name := res.Command
					if i < len(cmds) {
						name = fmt.Sprint(cmds[i]["command"])
					}
					errs = append(errs, fmt.Errorf("dynsec %s: %s", name, res.Error))
				}
			}
			return errors.Join(errs...)
		case <-deadline.C:
			return errors.New("dynsec: no answer from the broker within 10 s (is the dynamic-security plugin loaded and is this user its admin?)")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// VendorRole is the role name of a service group.
func VendorRole(apikey string) string { return "citytwin-vendor-" + apikey }

// vendorACLs are a vendor's permissions: publish the device-to-agent topics
// of its apikey in every IoT Agent form; subscribe to its devices' cmd,
// errors and configuration/values topics.
func vendorACLs(apikey string) []map[string]any {
	var acls []map[string]any
	add := func(typ, topic string) {
		acls = append(acls, map[string]any{"acltype": typ, "topic": topic, "allow": true})
	}
	for _, lead := range []string{"/", ""} {
		for _, prefix := range []string{"ul/", "json/", ""} {
			base := lead + prefix + apikey + "/+/"
			for _, s := range []string{"attrs", "attrs/+", "cmdexe", "configuration/commands"} {
				add("publishClientSend", base+s)
			}
			for _, s := range []string{"cmd", "errors", "configuration/values"} {
				add("subscribePattern", base+s)
			}
		}
	}
	return acls
}

// EnsureVendor creates (or recreates) the role of a service group and its
// MQTT client with password. An existing client gets the new password.
func (c *Client) EnsureVendor(ctx context.Context, apikey, username, password string) error {
	role := VendorRole(apikey)
	if err := c.Do(ctx, []string{"Role not found"}, Command{"command": "deleteRole", "rolename": role}); err != nil {
		return err
	}
	if err := c.Do(ctx, nil, Command{"command": "createRole", "rolename": role, "textdescription": "citytwin service group " + apikey, "acls": vendorACLs(apikey)}); err != nil {
		return err
	}
	err := c.Do(ctx, nil, Command{"command": "createClient", "username": username, "password": password,
		"textdescription": "citytwin vendor " + apikey, "roles": []map[string]any{{"rolename": role}}})
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return c.Do(ctx, nil,
			Command{"command": "setClientPassword", "username": username, "password": password},
			Command{"command": "addClientRole", "username": username, "rolename": role})
	}
	return err
}

// RemoveVendor deletes a service group's client and role.
func (c *Client) RemoveVendor(ctx context.Context, apikey, username string) error {
	return c.Do(ctx, []string{"Client not found", "Role not found"},
		Command{"command": "deleteClient", "username": username},
		Command{"command": "deleteRole", "rolename": VendorRole(apikey)})
}

// EnsureService creates citytwin's own ingest client: it may subscribe to
// and receive everything, and publish rejection notices, alert events and
// commands.
func (c *Client) EnsureService(ctx context.Context, username, password string) error {
	const role = "citytwin-service"
	acls := []map[string]any{
		{"acltype": "subscribePattern", "topic": "#", "allow": true},
		{"acltype": "publishClientReceive", "topic": "#", "allow": true},
		{"acltype": "publishClientSend", "topic": "#", "allow": true},
	}
	if err := c.Do(ctx, []string{"Role already exists"}, Command{"command": "createRole", "rolename": role, "acls": acls}); err != nil {
		return err
	}
	err := c.Do(ctx, nil, Command{"command": "createClient", "username": username, "password": password,
		"textdescription": "citytwin", "roles": []map[string]any{{"rolename": role}}})
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return c.Do(ctx, nil, Command{"command": "setClientPassword", "username": username, "password": password},
			Command{"command": "addClientRole", "username": username, "rolename": role})
	}
	return err
}

// AllowAnonymousPublish lets clients without credentials publish to the
// given topic filters (NGSI data, e.g. ngsi/#) through the plugin's
// anonymous group; nil removes nothing.
func (c *Client) AllowAnonymousPublish(ctx context.Context, filters []string) error {
	const role, group = "citytwin-anonymous", "citytwin-anonymous"
	var acls []map[string]any
	for _, f := range filters {
		acls = append(acls, map[string]any{"acltype": "publishClientSend", "topic": f, "allow": true})
	}
	return c.Do(ctx, []string{"Role not found", "Group not found", "Group already exists"},
		Command{"command": "deleteRole", "rolename": role},
		Command{"command": "createRole", "rolename": role, "acls": acls},
		Command{"command": "createGroup", "groupname": group},
		Command{"command": "addGroupRole", "groupname": group, "rolename": role},
		Command{"command": "setAnonymousGroup", "groupname": group})
}

// GrantVendor is EnsureVendor: it implements provision.BrokerAccess.
func (c *Client) GrantVendor(ctx context.Context, apikey, username, password string) error {
	return c.EnsureVendor(ctx, apikey, username, password)
}

// RevokeVendor is RemoveVendor: it implements provision.BrokerAccess.
func (c *Client) RevokeVendor(ctx context.Context, apikey, username string) error {
	return c.RemoveVendor(ctx, apikey, username)
}
