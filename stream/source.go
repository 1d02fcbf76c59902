package stream

import "time"

// Section names of the arrays of a snapshot or delta message. Every layer
// belongs to one of them.
const (
	SectionSensors  = "sensors"
	SectionFeatures = "features"
	SectionAlerts   = "alerts"
)

// sections lists the sections in the order they appear in a message.
var sections = [...]string{SectionSensors, SectionFeatures, SectionAlerts}

// maxLayers bounds the layers of a Source: a subscription's layers are a
// bit set.
const maxLayers = 64

// Layer is a named set of items a client can subscribe to.
type Layer struct {
	// Name is what a client lists in a subscribe message, e.g. "noise" or
	// "district"; unique within a Source.
	Name string
	// Section is the message array the layer's items go to: SectionSensors,
	// SectionFeatures or SectionAlerts.
	Section string
	// Merge, when not nil, says that the layer's items may be partial (see
	// Item.Partial) and names the members of an item that are objects
	// merged member by member (a sensor's "values"); every other top-level
	// member of a partial item replaces the previous one. nil: every item
	// is complete.
	Merge []string
}

// Bound is an axis-aligned box [minLon, minLat, maxLon, maxLat] in WGS84
// degrees. Edges belong to the box.
type Bound [4]float64

// Meets reports whether b and o share at least one point.
func (b Bound) Meets(o Bound) bool {
	return b[0] <= o[2] && o[0] <= b[2] && b[1] <= o[3] && o[1] <= b[3]
}

// Item is the current state of one entity of a layer, already encoded: the
// hub never looks inside JSON, it only copies it into messages. An item
// replaces the client's previous item with the same layer, tenant and key.
type Item struct {
	// Layer is the name of one of the Source's layers.
	Layer string
	// Tenant owns the item; empty means the item is visible to every tenant
	// (the city's features).
	Tenant string
	// Key identifies the entity within its layer and tenant (an entity id,
	// a feature id, an alert id).
	Key string
	// Located reports whether Bound is set. An item without a location is
	// sent only to subscriptions without a bbox.
	Located bool
	// Bound is the bounding box of the entity's geometry.
	Bound Bound
	// Partial, for a layer with Merge, says that JSON is a JSON object
	// holding only the members that changed since the entity's previous
	// item: the client merges it into the item it holds (see Layer.Merge),
	// and so does the hub when it conflates the deltas of a lagging client.
	// A complete item (Partial false) holds every member; the hub's
	// conflation lets it replace the earlier ones.
	Partial bool
	// JSON is the item's encoding: one JSON value. The hub keeps a reference
	// and may send it long after: the Source must not modify it afterwards.
	JSON []byte
}

// Query says which items a snapshot needs.
type Query struct {
	// Tenant is the subscriber's tenant; items of other tenants are not
	// wanted (items with an empty Tenant are).
	Tenant string
	// Layers are the subscribed layer names.
	Layers []string
	// BBox, when not nil, keeps located items whose Bound meets it.
	BBox *Bound
	// Now is the hub's clock at the time of the query (for staleness).
	Now time.Time
}

// Discarder is a Source that can forget its pending changes cheaply. While
// no client is connected the hub calls Discard instead of Changes at each
// flush, so that an idle live map costs no encoding. A client that connects
// later starts from a snapshot; the Source must then report complete items
// for anything it forgot (it cannot know what a new client holds beyond the
// snapshot).
type Discarder interface {
	Discard(now time.Time)
}

// Source is what the hub streams: a fixed set of layers whose items change
// over time. The hub pulls changes at every flush tick, so that a Source can
// record changes in O(1) per update and encode each changed entity once per
// tick, however many clients receive it.
type Source interface {
	// Layers returns the source's layers; called once, by New.
	Layers() []Layer
	// Changes appends to dst the current state of every item that changed
	// since the previous call and returns the extended slice, with at most
	// one item per (layer, tenant, key). For a layer with Merge, an item
	// may hold only what changed since the previous call (see Layer.Merge). The hub calls it from one goroutine
	// at a time, once per flush.
	Changes(dst []Item, now time.Time) []Item
	// Snapshot calls emit with the current state of every item that q asks
	// for. The hub filters again, so a Source may emit more than asked. It
	// may run concurrently with Changes and with other Snapshots. Changes
	// made after Snapshot starts must be reported by a later Changes call.
	Snapshot(q Query, emit func(Item))
}
