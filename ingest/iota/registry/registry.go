package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
)

// Errors of the registry; the methods wrap them with what they concern.
var (
	// ErrExists: the group or device being created exists.
	ErrExists = errors.New("registry: already exists")
	// ErrConflict: the write would give an apikey a second group or a
	// second (service, service path), or an MQTT username to a second group.
	ErrConflict = errors.New("registry: conflict")
	// ErrNotFound: no such group or device.
	ErrNotFound = errors.New("registry: not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("registry: closed")
)

// Store is the device registry. See the package documentation for the
// identity rules and the concurrency contract.
type Store interface {
	// CreateGroup adds a config group. It fails with ErrExists when
	// (service, service path, apikey, resource) exists and with ErrConflict
	// when the apikey belongs to another group or scope.
	CreateGroup(ctx context.Context, g iota.Group) error
	// UpdateGroup applies patch to a copy of the group identified by
	// (service, path, apikey, resource) and stores the result; the identity
	// fields service, service path and apikey are kept. An error of patch
	// is returned as is.
	UpdateGroup(ctx context.Context, service, path, apikey, resource string, patch func(*iota.Group) error) error
	// DeleteGroup removes a group with its credentials and its commands.
	DeleteGroup(ctx context.Context, service, path, apikey, resource string) error
	// Groups lists the groups of a service and path, ordered by path and
	// apikey; path "" or "/*" lists every path of the service.
	Groups(ctx context.Context, service, path string) ([]iota.Group, error)
	// GroupByAPIKey is the hot-path lookup of the group of an apikey.
	GroupByAPIKey(apikey string) (iota.Group, bool)

	// CreateDevice adds a device; ErrExists when (service, service path,
	// device_id) exists, ErrConflict when its apikey belongs to another
	// scope.
	CreateDevice(ctx context.Context, d iota.Device) error
	// CreateDevices adds devices in one transaction: all or none.
	CreateDevices(ctx context.Context, ds []iota.Device) error
	// UpdateDevice applies patch to a copy of the device and stores the
	// result; service, service path and device_id are kept.
	UpdateDevice(ctx context.Context, service, path, id string, patch func(*iota.Device) error) error
	// DeleteDevice removes a device with its status and commands.
	DeleteDevice(ctx context.Context, service, path, id string) error
	// Device returns one device.
	Device(ctx context.Context, service, path, id string) (iota.Device, bool, error)
	// Devices lists the devices of a service and path (path "" or "/*": all
	// paths) ordered by path and id: at most limit (0: no limit) after
	// skipping offset, and the total count.
	Devices(ctx context.Context, service, path string, limit, offset int) ([]iota.Device, int, error)
	// DeviceByKey is the hot-path lookup of the device a topic names.
	DeviceByKey(apikey, deviceID string) (iota.Device, bool)

	// SetCredentials sets (or replaces: rotation) the credentials of the
	// group of an apikey.
	SetCredentials(ctx context.Context, apikey string, c Credentials) error
	// Credentials returns the credentials of the group of an apikey.
	Credentials(apikey string) (Credentials, bool)
	// CheckMQTT tells the apikey whose MQTT credentials these are.
	CheckMQTT(username, password string) (apikey string, ok bool)
	// CheckToken tells the service of the group a vendor token was issued
	// for.
	CheckToken(token string) (service string, ok bool)

	// RecordMeasure counts the measures of one message of a provisioned
	// device: when it arrived, how many attributes were accepted and
	// rejected, and the rejection reason (empty: none). Messages of unknown
	// devices are not recorded.
	RecordMeasure(apikey, deviceID string, at time.Time, accepted, rejected int, lastErr string)
	// Status returns the status of the device a topic names.
	Status(apikey, deviceID string) (DeviceStatus, bool)
	// DeviceStatus returns the status of a device by its provisioning
	// identity.
	DeviceStatus(service, path, id string) (DeviceStatus, bool)
	// Flush writes the changed statuses.
	Flush() error

	// PutCommand creates or replaces the command record of (apikey,
	// device_id, name).
	PutCommand(ctx context.Context, c CommandRecord) error
	// Command returns a command record.
	Command(ctx context.Context, apikey, deviceID, name string) (CommandRecord, bool, error)
	// PendingCommands lists the commands in a non-final state (PENDING,
	// DELIVERED), oldest first.
	PendingCommands(ctx context.Context) ([]CommandRecord, error)

	// Watch registers fn to be told of every change of a group, its
	// credentials or a device.
	Watch(fn func(Change))
	// Close flushes and closes the store; it is idempotent.
	Close() error
}

// Credentials are the hashed secrets of a group.
type Credentials struct {
	// MQTTUsername is the username of the group's MQTT access: the broker
	// lets it publish under the group's apikey only.
	MQTTUsername string `json:"mqtt_username"`
	// MQTTPasswordHash is HashSecret of the MQTT password.
	MQTTPasswordHash []byte `json:"mqtt_password_sha256"`
	// TokenHash is HashSecret of the vendor API token, which grants the
	// provisioning API for the group's service.
	TokenHash []byte `json:"token_sha256"`
	// IssuedAt is when the secrets were drawn.
	IssuedAt time.Time `json:"issued_at,omitzero"`
}

// Secrets are the clear-text credentials of a group: shown once, when they
// are drawn, and never stored.
type Secrets struct {
	MQTTUsername string
	MQTTPassword string
	Token        string
}

// TokenPrefix starts every vendor token, so that secret scanners and people
// recognise one.
const TokenPrefix = "ctv_"

// NewCredentials draws new random secrets for the group of an apikey: the
// MQTT username is the apikey, the password 32 random bytes in base64url,
// the token TokenPrefix and 32 random bytes in base64url. It returns the
// secrets and their hashed form for SetCredentials.
func NewCredentials(apikey string, now time.Time) (Credentials, Secrets, error) {
	pw, err := randomSecret()
	if err != nil {
		return Credentials{}, Secrets{}, err
	}
	tok, err := randomSecret()
	if err != nil {
		return Credentials{}, Secrets{}, err
	}
	s := Secrets{MQTTUsername: apikey, MQTTPassword: pw, Token: TokenPrefix + tok}
	c := Credentials{MQTTUsername: apikey, MQTTPasswordHash: HashSecret(s.MQTTPassword), TokenHash: HashSecret(s.Token), IssuedAt: now}
	return c, s, nil
}

func randomSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("registry: draw a secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashSecret is the stored form of a secret: its SHA-256 (see the package
// documentation for why a fast hash is the right one).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// DeviceStatus is the feedback of a device's measures.
type DeviceStatus struct {
	// LastSeen is the arrival of the newest message.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Accepted and Rejected count measures since provisioning.
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	// LastError is the newest rejection reason, at LastErrorAt.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// CommandStatus is the state of a command, as the IoT Agents write it in the
// <command>_status attribute.
type CommandStatus string

// Command states.
const (
	// CommandPending: accepted, not yet published to the device.
	CommandPending CommandStatus = "PENDING"
	// CommandDelivered: published, no result yet.
	CommandDelivered CommandStatus = "DELIVERED"
	// CommandOK and CommandError: the device answered (cmdexe).
	CommandOK    CommandStatus = "OK"
	CommandError CommandStatus = "ERROR"
	// CommandExpired: no result before ExpiresAt.
	CommandExpired CommandStatus = "EXPIRED"
)

// Final tells whether no further transition is expected.
func (s CommandStatus) Final() bool {
	return s != CommandPending && s != CommandDelivered
}

// CommandRecord is a command sent to a device, kept until replaced by the
// next command of the same name.
type CommandRecord struct {
	APIKey   string `json:"apikey"`
	DeviceID string `json:"device_id"`
	Name     string `json:"name"`
	// Service and ServicePath are the device's, where the status goes.
	Service     string `json:"service,omitempty"`
	ServicePath string `json:"service_path,omitempty"`
	// Value is the command's value (its parameters).
	Value  iota.Value    `json:"value"`
	Status CommandStatus `json:"status"`
	// Info is the device's result (<command>_info).
	Info      string    `json:"info,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// ExpiresAt is when a command without result expires; zero: never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// ChangeKind says what changed.
type ChangeKind uint8

// Change kinds.
const (
	ChangeGroup       ChangeKind = 1
	ChangeCredentials ChangeKind = 2
	ChangeDevice      ChangeKind = 3
)

// String names the kind.
func (k ChangeKind) String() string {
	switch k {
	case ChangeGroup:
		return "group"
	case ChangeCredentials:
		return "credentials"
	case ChangeDevice:
		return "device"
	}
	return "unknown"
}

// Op is a change's operation.
type Op uint8

// Operations.
const (
	OpCreate Op = 1
	OpUpdate Op = 2
	OpDelete Op = 3
)

// String names the operation.
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "unknown"
}

// Change is one committed change, told to Watch callbacks.
type Change struct {
	Kind        ChangeKind
	Op          Op
	Service     string
	ServicePath string
	// APIKey is the group's apikey, or the device's own (empty when the
	// device takes its group's).
	APIKey string
	// DeviceID is set for ChangeDevice.
	DeviceID string
}
