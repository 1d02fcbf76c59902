// Package provision serves the provisioning ("north") API of the FIWARE IoT
// Agents (telefonicaid/iotagent-node-lib doc/api.md) over a registry.Store,
// so that the tools and scripts written for the IoT Agents provision
// citytwin unchanged:
//
//	POST|GET|PUT|DELETE /iot/services        config groups, body {"services": […]}
//	POST|GET|PUT|DELETE /iot/groups          the same, body {"groups": […]}
//	POST /iot/services/credentials?apikey=K  rotate a group's secrets (also /iot/groups/credentials)
//	POST|GET            /iot/devices         devices, body {"devices": […]}; GET: limit, offset
//	GET|PUT|DELETE      /iot/devices/{id}
//
// # Scope
//
// Every request but the credential rotation names its tenant in the
// Fiware-Service header, which is required (400 MISSING_HEADERS without it,
// as the IoT Agents answer). Fiware-ServicePath defaults to "/"; on the GET
// of groups and devices, "/*" lists every path of the service, as in the IoT
// Agents. PUT and DELETE of a group identify it by the query parameters
// apikey and resource (both required) within the headers' scope.
//
// # Answers
//
// Status codes are the IoT Agents': 201 created, 200 read, 204 updated or
// deleted, 400 invalid, 404 unknown, 409 duplicate; in addition 401, 403,
// 413 (bodies over 1 MiB) and 405. Errors have the IoT Agents' shape
// {"name": "DUPLICATE_GROUP", "message": "…"}; a validation error names
// every broken field and rule ("devices[0].device_id: required") in the
// message and lists them in "errors": [{"field", "rule"}]. Unknown fields
// are ignored, as the IoT Agents do. Creating groups answers 201 with the
// groups and, for each, its MQTT credentials and vendor token: shown once,
// since only their hashes are stored. GET /iot/devices/{id} adds a "status"
// object (lastSeen, measuresAccepted, measuresRejected, lastError) with the
// feedback of the device's measures.
//
// # Access
//
// Every request needs "Authorization: Bearer <token>" (401 without a valid
// one). The admin token (API.AdminToken, compared in constant time) may do
// anything. A vendor token, issued with a group, is limited to the group's
// service (403 for another): it may read and update the service's groups
// and manage its devices; creating and deleting groups and rotating
// credentials are the admin's. With an empty AdminToken no request is an
// admin's: groups can't be created, and vendor tokens issued before keep
// working.
//
// API holds no state beyond its Store and is safe for concurrent use.
package provision
