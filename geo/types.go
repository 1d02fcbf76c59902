package geo

import (
	"github.com/paulmach/orb"
)

// Kind is what a layer holds.
type Kind string

// Layer kinds. Areas come in two levels (districts such as Milan's 9 Municipi,
// and neighbourhoods such as its 88 NIL).
const (
	KindDistrict       Kind = "district"       // Polygon/MultiPolygon, level 1 administrative area
	KindNeighbourhood  Kind = "neighbourhood"  // Polygon/MultiPolygon, level 2 administrative area
	KindRoad           Kind = "road"           // LineString/MultiLineString road segment
	KindGreenArea      Kind = "greenarea"      // Polygon/MultiPolygon park or garden
	KindIrrigationZone Kind = "irrigationzone" // Polygon/MultiPolygon irrigation sector of a green area
)

// Kinds lists every layer kind in a stable order.
var Kinds = []Kind{KindDistrict, KindNeighbourhood, KindRoad, KindGreenArea, KindIrrigationZone}

// Feature is one feature of the city's cartography. Geometry is WGS84
// [lon, lat], already validated and repaired. Features are immutable once a
// City is built.
type Feature struct {
	// ID is unique within its layer, e.g. "nil-12" or the source's own id.
	ID   string
	Kind Kind
	Name string
	// Geometry is an orb.Polygon or orb.MultiPolygon for areas, an
	// orb.LineString or orb.MultiLineString for roads.
	Geometry orb.Geometry
	// Road attributes, zero when unknown.
	RoadClass  string  // e.g. primary, secondary, residential
	Lanes      int     // total lanes
	SpeedLimit float64 // km/h
	// Parent is the id of the containing feature where the source says so
	// (a neighbourhood's district, an irrigation zone's green area).
	Parent string
	// Props keeps the source's other properties (strings and numbers).
	Props map[string]any
}

// Links are the features a sensor is tied to. Empty strings mean none.
type Links struct {
	District       string  `json:"district,omitempty"`       // containing district id
	Neighbourhood  string  `json:"neighbourhood,omitempty"`  // containing neighbourhood id
	Road           string  `json:"road,omitempty"`           // nearest road segment id within the link distance
	RoadDistance   float64 `json:"roadDistance,omitempty"`   // metres to Road
	GreenArea      string  `json:"greenArea,omitempty"`      // containing green area id
	IrrigationZone string  `json:"irrigationZone,omitempty"` // containing irrigation zone id
}
