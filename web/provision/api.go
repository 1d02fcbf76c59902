package provision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/iota/registry"
	"github.com/citytwin/citytwin/internal/bearer"
)

// MaxBodyBytes bounds a request body; larger ones are answered 413.
const MaxBodyBytes = 1 << 20

// MaxDevicesPage bounds the devices of one GET /iot/devices answer; it is
// also the default limit.
const MaxDevicesPage = 1000

// API serves the IoT Agent provisioning API; see the package documentation.
type API struct {
	// Store is the device registry. Required.
	Store registry.Store
	// AdminToken is the bearer token of the administrator; empty: none.
	AdminToken string
	// Now is the clock of issued credentials; default time.Now.
	Now func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
	// Broker, when set, mirrors each group's MQTT credentials into an
	// external broker (Mosquitto's dynamic-security plugin) before the
	// answer is sent; the embedded broker reads the registry instead.
	Broker BrokerAccess
	// Commands publishes commands to devices; nil answers 503 to command
	// requests.
	Commands CommandSender
}

// errBroker marks a failure of the broker to apply a vendor's access.
var errBroker = errors.New("the MQTT broker did not apply the group's credentials")

// BrokerAccess grants and revokes a service group's MQTT access in the
// broker.
type BrokerAccess interface {
	GrantVendor(ctx context.Context, apikey, username, password string) error
	RevokeVendor(ctx context.Context, apikey, username string) error
}

// NewAdminToken draws a random admin token (32 random bytes in base64url),
// for a deployment that has none configured.
func NewAdminToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("provision: draw an admin token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// access says who may call a route.
type access uint8

const (
	// adminOnly: the admin token.
	adminOnly access = 0
	// inService: the admin, or a vendor token of the Fiware-Service.
	inService access = 1
	// adminAnyService: the admin, with no Fiware-Service needed.
	adminAnyService access = 2
)

// call is an authorised request.
type call struct {
	admin   bool
	service string
	path    string
}

// Register adds the routes to mux (a *web.Server or an *http.ServeMux).
func (a *API) Register(mux interface{ Handle(string, http.Handler) }) {
	for _, key := range []string{"services", "groups"} {
		p := "/iot/" + key
		mux.Handle("POST "+p, a.route(adminOnly, func(w http.ResponseWriter, r *http.Request, c call) { a.createGroups(w, r, c, key) }))
		mux.Handle("GET "+p, a.route(inService, func(w http.ResponseWriter, r *http.Request, c call) { a.listGroups(w, r, c, key) }))
		mux.Handle("PUT "+p, a.route(inService, a.updateGroup))
		mux.Handle("DELETE "+p, a.route(adminOnly, a.deleteGroup))
		mux.Handle("POST "+p+"/credentials", a.route(adminAnyService, a.rotate))
	}
	mux.Handle("POST /iot/devices", a.route(inService, a.createDevices))
	mux.Handle("GET /iot/devices", a.route(inService, a.listDevices))
	mux.Handle("GET /iot/devices/{id}", a.route(inService, a.getDevice))
	mux.Handle("PUT /iot/devices/{id}", a.route(inService, a.updateDevice))
	mux.Handle("DELETE /iot/devices/{id}", a.route(inService, a.deleteDevice))
	mux.Handle("POST /iot/devices/{id}/commands", a.route(inService, a.sendCommand))
	mux.Handle("GET /iot/devices/{id}/commands", a.route(inService, a.getCommands))
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger.With("component", "provision")
	}
	return slog.New(slog.DiscardHandler)
}

// route authorises a request, reads its scope headers and calls h.
func (a *API) route(acc access, h func(http.ResponseWriter, *http.Request, call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer.Header(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="citytwin provisioning"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "an Authorization: Bearer <token> header is required: the admin token or the vendor token issued with a group")
			return
		}
		var c call
		vendorService := ""
		if a.isAdmin(token) {
			c.admin = true
		} else if vendorService, ok = a.Store.CheckToken(token); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="citytwin provisioning", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the bearer token is neither the admin token nor a valid vendor token")
			return
		}
		if acc != inService && !c.admin {
			writeError(w, http.StatusForbidden, "ACCESS_FORBIDDEN", "only the admin token may create or delete groups and rotate credentials")
			return
		}
		if acc != adminAnyService {
			if _, ok := r.Header["Fiware-Service"]; !ok {
				writeError(w, http.StatusBadRequest, "MISSING_HEADERS", `Some headers were missing from the request: ["fiware-service"]`)
				return
			}
			c.service = r.Header.Get("Fiware-Service")
			c.path = r.Header.Get("Fiware-ServicePath")
			if c.path == "" {
				c.path = "/"
			}
			if !c.admin && c.service != vendorService {
				writeError(w, http.StatusForbidden, "ACCESS_FORBIDDEN", fmt.Sprintf("this vendor token is for service %q, not %q", vendorService, c.service))
				return
			}
		}
		h(w, r, c)
	})
}

// isAdmin compares in constant time (hashing first makes the time
// independent of the lengths too).
func (a *API) isAdmin(token string) bool {
	if a.AdminToken == "" {
		return false
	}
	x, y := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(a.AdminToken))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// --- groups

// mqttSecret is the MQTT access of a group, in answers.
type mqttSecret struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// createdGroup is a group as the creation answers it.
type createdGroup struct {
	iota.Group
	MQTT  mqttSecret `json:"mqtt"`
	Token string     `json:"token"`
}

func (a *API) createGroups(w http.ResponseWriter, r *http.Request, c call, key string) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	groups, err := iota.DecodeGroups(body, c.service, c.path)
	if err != nil {
		a.fail(w, err, "group")
		return
	}
	ctx := r.Context()
	out := make([]createdGroup, 0, len(groups))
	rollback := func() {
		bg := context.WithoutCancel(ctx)
		for _, g := range out {
			if err := a.Store.DeleteGroup(bg, g.Service, g.ServicePath, g.APIKey, g.Resource); err != nil {
				a.log().Error("roll back a group creation", "tenant", g.Service, "apikey", g.APIKey, "err", err)
			}
		}
	}
	for i, g := range groups {
		if err := a.Store.CreateGroup(ctx, g); err != nil {
			rollback()
			a.fail(w, fmt.Errorf("%s[%d]: %w", key, i, err), "group")
			return
		}
		creds, sec, err := registry.NewCredentials(g.APIKey, a.now())
		if err == nil {
			err = a.Store.SetCredentials(ctx, g.APIKey, creds)
		}
		if err == nil && a.Broker != nil {
			if err = a.Broker.GrantVendor(ctx, g.APIKey, sec.MQTTUsername, sec.MQTTPassword); err != nil {
				err = fmt.Errorf("%w: %v", errBroker, err)
			}
		}
		stored, _ := a.Store.GroupByAPIKey(g.APIKey)
		out = append(out, createdGroup{Group: stored, MQTT: mqttSecret{sec.MQTTUsername, sec.MQTTPassword}, Token: sec.Token})
		if err != nil {
			rollback()
			a.fail(w, err, "group")
			return
		}
	}
	for _, g := range out {
		a.log().Info("group created", "tenant", g.Service, "service_path", g.ServicePath, "apikey", g.APIKey, "resource", g.Resource)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"count": len(out), key: out})
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, c call, key string) {
	limit, offset, ok := page(w, r, 0)
	if !ok {
		return
	}
	groups, err := a.Store.Groups(r.Context(), c.service, c.path)
	if err != nil {
		a.fail(w, err, "group")
		return
	}
	count := len(groups)
	groups = groups[min(offset, count):]
	if limit > 0 && len(groups) > limit {
		groups = groups[:limit]
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": count, key: groups})
}

// groupQuery reads the apikey and resource query parameters that identify a
// group in PUT and DELETE.
func groupQuery(w http.ResponseWriter, r *http.Request) (apikey, resource string, ok bool) {
	q := r.URL.Query()
	var missing []string
	for _, p := range []string{"resource", "apikey"} {
		if !q.Has(p) {
			missing = append(missing, `"`+p+`"`)
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "MISSING_ATTRIBUTES", "Missing query parameters: ["+strings.Join(missing, ",")+"]: a group is identified by its apikey and resource")
		return "", "", false
	}
	return q.Get("apikey"), q.Get("resource"), true
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request, c call) {
	apikey, resource, ok := groupQuery(w, r)
	if !ok {
		return
	}
	fields, ok := readObject(w, r)
	if !ok {
		return
	}
	if v, ok := fields["apikey"]; ok {
		var k string
		if json.Unmarshal(v, &k) != nil || k != apikey {
			a.fail(w, &iota.FieldError{Field: "apikey", Rule: "can't be changed: the group's MQTT credentials are tied to it; create a new group"}, "group")
			return
		}
	}
	// The group's scope comes from the headers; the legacy "type" is
	// entity_type.
	delete(fields, "service")
	delete(fields, "service_path")
	if t, ok := fields["type"]; ok {
		if _, ok := fields["entity_type"]; !ok {
			fields["entity_type"] = t
		}
		delete(fields, "type")
	}
	err := a.Store.UpdateGroup(r.Context(), c.service, c.path, apikey, resource, func(g *iota.Group) error {
		return overlay(g, fields)
	})
	if err != nil {
		a.fail(w, err, "group")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, c call) {
	apikey, resource, ok := groupQuery(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	g, ok := a.Store.GroupByAPIKey(apikey)
	if !ok || g.Service != c.service || g.ServicePath != c.path || g.Resource != resource {
		a.fail(w, fmt.Errorf("%w: no group with resource %q and apikey %q in this service and path", registry.ErrNotFound, resource, apikey), "group")
		return
	}
	// device=true removes the group's devices too, as in the IoT Agents:
	// those naming its apikey and those taking it.
	if r.URL.Query().Get("device") == "true" {
		devices, _, err := a.Store.Devices(ctx, c.service, c.path, 0, 0)
		if err != nil {
			a.fail(w, err, "device")
			return
		}
		for _, d := range devices {
			if d.APIKey == apikey || d.APIKey == "" {
				if err := a.Store.DeleteDevice(ctx, d.Service, d.ServicePath, d.DeviceID); err != nil && !errors.Is(err, registry.ErrNotFound) {
					a.fail(w, err, "device")
					return
				}
			}
		}
	}
	mqttUser := apikey
	if cr, ok := a.Store.Credentials(apikey); ok {
		mqttUser = cr.MQTTUsername
	}
	if err := a.Store.DeleteGroup(ctx, c.service, c.path, apikey, resource); err != nil {
		a.fail(w, err, "group")
		return
	}
	if a.Broker != nil {
		if err := a.Broker.RevokeVendor(ctx, apikey, mqttUser); err != nil {
			a.log().Error("revoke a deleted group's MQTT access", "apikey", apikey, "err", err)
		}
	}
	a.log().Info("group deleted", "tenant", c.service, "service_path", c.path, "apikey", apikey, "resource", resource)
	w.WriteHeader(http.StatusNoContent)
}

// rotate draws new credentials for a group: the old ones stop working.
func (a *API) rotate(w http.ResponseWriter, r *http.Request, _ call) {
	q := r.URL.Query()
	if !q.Has("apikey") {
		writeError(w, http.StatusBadRequest, "MISSING_ATTRIBUTES", `Missing query parameters: ["apikey"]`)
		return
	}
	apikey := q.Get("apikey")
	g, ok := a.Store.GroupByAPIKey(apikey)
	if !ok {
		a.fail(w, fmt.Errorf("%w: no group with apikey %q", registry.ErrNotFound, apikey), "group")
		return
	}
	creds, sec, err := registry.NewCredentials(apikey, a.now())
	if err == nil {
		err = a.Store.SetCredentials(r.Context(), apikey, creds)
	}
	if err == nil && a.Broker != nil {
		if err = a.Broker.GrantVendor(r.Context(), apikey, sec.MQTTUsername, sec.MQTTPassword); err != nil {
			err = fmt.Errorf("%w: %v", errBroker, err)
		}
	}
	if err != nil {
		a.fail(w, err, "group")
		return
	}
	a.log().Info("group credentials rotated", "tenant", g.Service, "service_path", g.ServicePath, "apikey", apikey)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"apikey": apikey, "service": g.Service, "service_path": g.ServicePath, "resource": g.Resource,
		"mqtt": mqttSecret{sec.MQTTUsername, sec.MQTTPassword}, "token": sec.Token,
	})
}

// --- devices

func (a *API) createDevices(w http.ResponseWriter, r *http.Request, c call) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	devices, err := iota.DecodeDevices(body, c.service, c.path)
	if err != nil {
		a.fail(w, err, "device")
		return
	}
	if err := a.Store.CreateDevices(r.Context(), devices); err != nil {
		a.fail(w, err, "device")
		return
	}
	writeJSON(w, http.StatusCreated, struct{}{})
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request, c call) {
	limit, offset, ok := page(w, r, MaxDevicesPage)
	if !ok {
		return
	}
	devices, count, err := a.Store.Devices(r.Context(), c.service, c.path, limit, offset)
	if err != nil {
		a.fail(w, err, "device")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": count, "devices": devices})
}

// statusJSON is the feedback of a device's measures.
type statusJSON struct {
	LastSeen         *time.Time `json:"lastSeen"`
	MeasuresAccepted int64      `json:"measuresAccepted"`
	MeasuresRejected int64      `json:"measuresRejected"`
	LastError        string     `json:"lastError,omitempty"`
	LastErrorAt      *time.Time `json:"lastErrorAt,omitempty"`
}

type deviceJSON struct {
	iota.Device
	Status statusJSON `json:"status"`
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue("id")
	d, ok, err := a.Store.Device(r.Context(), c.service, c.path, id)
	if err != nil {
		a.fail(w, err, "device")
		return
	}
	if !ok {
		a.fail(w, fmt.Errorf("%w: no device %q in this service and path", registry.ErrNotFound, id), "device")
		return
	}
	st, _ := a.Store.DeviceStatus(c.service, c.path, id)
	out := deviceJSON{Device: d, Status: statusJSON{MeasuresAccepted: st.Accepted, MeasuresRejected: st.Rejected, LastError: st.LastError}}
	if !st.LastSeen.IsZero() {
		out.Status.LastSeen = &st.LastSeen
	}
	if !st.LastErrorAt.IsZero() {
		out.Status.LastErrorAt = &st.LastErrorAt
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) updateDevice(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue("id")
	fields, ok := readObject(w, r)
	if !ok {
		return
	}
	if _, ok := fields["device_id"]; ok {
		a.fail(w, &iota.FieldError{Field: "device_id", Rule: "can't change the ID of a preprovisioned device: delete it and create it again"}, "device")
		return
	}
	delete(fields, "service")
	delete(fields, "service_path")
	err := a.Store.UpdateDevice(r.Context(), c.service, c.path, id, func(d *iota.Device) error {
		return overlay(d, fields)
	})
	if err != nil {
		a.fail(w, err, "device")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) deleteDevice(w http.ResponseWriter, r *http.Request, c call) {
	if err := a.Store.DeleteDevice(r.Context(), c.service, c.path, r.PathValue("id")); err != nil {
		a.fail(w, err, "device")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- bodies and answers

// readBody reads at most MaxBodyBytes, answering 413 beyond.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", fmt.Sprintf("the body must be at most %d bytes", MaxBodyBytes))
		} else {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "reading the body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

// readObject reads a PUT body: a JSON object of the fields to change.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return nil, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		writeFieldErrors(w, []*iota.FieldError{{Field: "body", Rule: "must be a JSON object of the fields to change"}})
		return nil, false
	}
	return fields, true
}

// overlay replaces the fields of *v named in fields (as the IoT Agents'
// updates do: a field given replaces the stored one whole, null clears it).
func overlay[T any](v *T, fields map[string]json.RawMessage) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for k, f := range fields {
		m[k] = f
	}
	if raw, err = json.Marshal(m); err != nil {
		return err
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// iota.Group decodes through an embedded alias named plain.
			field := strings.TrimPrefix(te.Field, "plain.")
			return &iota.FieldError{Field: field, Rule: "must be a JSON " + jsonKind(te.Type.Kind().String()) + ", not " + te.Value}
		}
		return &iota.FieldError{Field: "body", Rule: err.Error()}
	}
	*v = out
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool", "ptr":
		return "boolean"
	case "string":
		return "string"
	}
	return "number"
}

// page reads limit and offset; def is the default limit (0: none), and the
// largest one when positive.
func page(w http.ResponseWriter, r *http.Request, def int) (limit, offset int, ok bool) {
	q := r.URL.Query()
	limit = def
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (def > 0 && n > def) {
			rule := "must be a positive integer"
			if def > 0 {
				rule = fmt.Sprintf("must be an integer from 1 to %d", def)
			}
			writeFieldErrors(w, []*iota.FieldError{{Field: "limit", Rule: rule}})
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeFieldErrors(w, []*iota.FieldError{{Field: "offset", Rule: "must be a non-negative integer"}})
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

// apiError is the IoT Agents' error body, with the broken fields listed.
type apiError struct {
	Name    string      `json:"name"`
	Message string      `json:"message"`
	Errors  []fieldRule `json:"errors,omitempty"`
}

type fieldRule struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, name, message string) {
	writeJSON(w, status, apiError{Name: name, Message: message})
}

func writeFieldErrors(w http.ResponseWriter, fes []*iota.FieldError) {
	e := apiError{Name: "WRONG_SYNTAX"}
	msgs := make([]string, len(fes))
	for i, fe := range fes {
		msgs[i] = fe.Error()
		e.Errors = append(e.Errors, fieldRule{fe.Field, fe.Rule})
	}
	e.Message = strings.Join(msgs, "; ")
	writeJSON(w, http.StatusBadRequest, e)
}

// fieldErrors collects the *iota.FieldError in an error tree.
func fieldErrors(err error) []*iota.FieldError {
	var out []*iota.FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *iota.FieldError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// fail answers an error of decoding, validation or the store; what is
// "group" or "device", for the IoT Agents' error names.
func (a *API) fail(w http.ResponseWriter, err error, what string) {
	if fes := fieldErrors(err); len(fes) > 0 {
		writeFieldErrors(w, fes)
		return
	}
	msg := strings.ReplaceAll(err.Error(), "registry: ", "")
	switch {
	case errors.Is(err, registry.ErrNotFound):
		name := "DEVICE_NOT_FOUND"
		if what == "group" {
			name = "DEVICE_GROUP_NOT_FOUND"
		}
		writeError(w, http.StatusNotFound, name, msg)
	case errors.Is(err, registry.ErrExists):
		name := "DUPLICATE_DEVICE_ID"
		if what == "group" {
			name = "DUPLICATE_GROUP"
		}
		writeError(w, http.StatusConflict, name, msg)
	case errors.Is(err, registry.ErrConflict):
		writeError(w, http.StatusConflict, "APIKEY_CONFLICT", msg)
	case errors.Is(err, errBroker):
		a.log().Error("the broker refused a vendor's access", "err", err)
		writeError(w, http.StatusBadGateway, "BROKER_ERROR", msg)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "REQUEST_CANCELLED", "the request was cancelled")
	default:
		a.log().Error("provisioning request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "the registry failed; see the server log")
	}
}
