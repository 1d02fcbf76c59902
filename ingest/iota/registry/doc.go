// Package registry keeps the IoT Agent provisioning of citytwin: config
// groups, devices, the credentials of each group (fenced MQTT access and a
// vendor API token), per-device status and the commands sent to devices.
//
// Store is the interface the consumers use (the provisioning API, the MQTT
// intake, the broker fence); Bolt implements it in an embedded bbolt file
// ({data-dir}/registry.db) with every record also held in memory, so that a
// shared store can replace it later without touching the consumers.
//
// # Identity rules
//
// A group is identified, as in the IoT Agents, by (service, service path,
// apikey, resource). An MQTT topic names only the apikey, so citytwin asks
// more: an apikey belongs to a single group, and it belongs to one (service,
// service path) — the scope of its group, or of the devices that name it
// when no group has it. Creating a group or a device that would give an
// apikey a second group or a second scope fails with ErrConflict; creating
// one that exists fails with ErrExists.
//
// Devices are unique by (service, service path, device_id), as in the IoT
// Agents. A topic names (apikey, device_id); DeviceByKey resolves it with the
// rule the IoT Agents apply to a measure (find the group of the apikey, then
// the device by id in the group's service and service path):
//
//   - a device with an apikey is reached with that apikey;
//   - a device without apikey is reached with the apikey of every group of
//     its service and service path (usually one), and is unreachable while
//     its scope has no group.
//
// Because an apikey belongs to one scope and device ids are unique in a
// scope, (apikey, device_id) names at most one device.
//
// # Secrets
//
// Only SHA-256 hashes of the MQTT passwords and vendor tokens are stored.
// The secrets are 32 random bytes (NewCredentials), not passwords chosen by
// people, so a dictionary attack on a leaked hash is hopeless and a slow
// hash (bcrypt, argon2) would only make every MQTT CONNECT cost milliseconds
// of CPU: a denial-of-service lever. Comparisons are in constant time.
//
// # Concurrency
//
// Every method is safe for concurrent use. The hot-path lookups
// (GroupByAPIKey, DeviceByKey, Credentials, CheckMQTT, CheckToken, Status,
// RecordMeasure) read memory under a read lock and touch no disk; the groups
// and devices they return share their slices with the registry and must be
// treated as read-only. Writes are serialised; each commits a bbolt
// transaction (an fsync) before memory changes, so a write that returned nil
// survives a crash. Device status is the exception: RecordMeasure updates
// memory only, and Flush (called by Run every Config.FlushInterval and by
// Close) writes the changed statuses, so a restart keeps them approximately.
//
// Watch callbacks run synchronously, in commit order, on the goroutine of
// the write that caused them, after memory was updated: they may read the
// store but must not write to it.
package registry
