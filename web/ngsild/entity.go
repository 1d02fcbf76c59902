package ngsild

import (
	"sort"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// Entity types of the city's features.
const (
	TypeArea           = "AdministrativeArea"
	TypeRoad           = "RoadSegment"
	TypeGreenspace     = "Greenspace"
	TypeIrrigationZone = "IrrigationZone"
)

// featureTypes maps a feature entity type to its layers.
var featureTypes = map[string][]geo.Kind{
	TypeArea:           {geo.KindDistrict, geo.KindNeighbourhood},
	TypeRoad:           {geo.KindRoad},
	TypeGreenspace:     {geo.KindGreenArea},
	TypeIrrigationZone: {geo.KindIrrigationZone},
}

func typeOfKind(k geo.Kind) string {
	switch k {
	case geo.KindDistrict, geo.KindNeighbourhood:
		return TypeArea
	case geo.KindRoad:
		return TypeRoad
	case geo.KindGreenArea:
		return TypeGreenspace
	}
	return TypeIrrigationZone
}

// FeatureID is the NGSI-LD id of a city feature:
// urn:ngsi-ld:AdministrativeArea:{district|neighbourhood}:{id},
// urn:ngsi-ld:RoadSegment:{id}, urn:ngsi-ld:Greenspace:{id} or
// urn:ngsi-ld:IrrigationZone:{id}.
func FeatureID(k geo.Kind, id string) string {
	if k == geo.KindDistrict || k == geo.KindNeighbourhood {
		return "urn:ngsi-ld:" + TypeArea + ":" + string(k) + ":" + id
	}
	return "urn:ngsi-ld:" + typeOfKind(k) + ":" + id
}

// parseFeatureID is the inverse of FeatureID.
func parseFeatureID(id string) (geo.Kind, string, bool) {
	const p = "urn:ngsi-ld:"
	if len(id) <= len(p) || id[:len(p)] != p {
		return "", "", false
	}
	rest := id[len(p):]
	for typ, kinds := range featureTypes {
		if len(rest) <= len(typ)+1 || rest[:len(typ)] != typ || rest[len(typ)] != ':' {
			continue
		}
		local := rest[len(typ)+1:]
		if typ != TypeArea {
			return kinds[0], local, true
		}
		for _, k := range kinds {
			if len(local) > len(k)+1 && local[:len(k)] == string(k) && local[len(k)] == ':' {
				return k, local[len(k)+1:], true
			}
		}
	}
	return "", "", false
}

// attrKind is an NGSI-LD attribute type.
type attrKind uint8

const (
	property attrKind = iota
	geoProperty
	relationship
)

// attr is one attribute of an entity. Value is float64, bool, string,
// orb.Geometry (GeoProperty) or the object URI (Relationship).
type attr struct {
	name       string
	kind       attrKind
	value      any
	observedAt time.Time
	unit       string
}

// entity is the common form of sensors and features before rendering.
type entity struct {
	id, typ string
	attrs   []attr // sorted by name
	geom    orb.Geometry
	dist    float64 // distance to a near query point, metres
	// feat, when set, is the city feature whose attributes (its live
	// indicators) are not computed yet: a query that filters on no
	// attribute pages first and computes them for its page only.
	feat *geo.Feature
}

func (e *entity) attr(name string) (*attr, bool) {
	i := sort.Search(len(e.attrs), func(i int) bool { return e.attrs[i].name >= name })
	if i < len(e.attrs) && e.attrs[i].name == name {
		return &e.attrs[i], true
	}
	return nil, false
}

// get resolves a q path: the attribute's value, or its observedAt or
// unitCode; a GeoProperty's value is its GeoJSON type.
func (e *entity) get(path []string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	if path[0] == "id" && len(path) == 1 {
		return e.id, true
	}
	a, ok := e.attr(path[0])
	if !ok {
		return nil, false
	}
	if len(path) == 1 {
		if g, ok := a.value.(orb.Geometry); ok {
			return g.GeoJSONType(), true
		}
		return a.value, true
	}
	if len(path) == 2 {
		switch path[1] {
		case "observedAt":
			if !a.observedAt.IsZero() {
				return a.observedAt, true
			}
		case "unitCode":
			if a.unit != "" {
				return a.unit, true
			}
		}
	}
	return nil, false
}

func sortAttrs(a []attr) {
	sort.Slice(a, func(i, j int) bool { return a[i].name < a[j].name })
}

// sensorEntity converts a twin sensor. stale adds the citytwin-specific
// property "stale" (true when the sensor is silent beyond its usual
// interval).
func sensorEntity(s twin.Sensor, stale bool) entity {
	e := entity{id: s.ID, typ: s.Type, geom: s.Location}
	e.attrs = make([]attr, 0, len(s.Values)+6)
	for name, v := range s.Values {
		a := attr{name: name, observedAt: v.Time, unit: v.Unit}
		switch v.Kind {
		case twin.KindNumber:
			a.value = v.Num
		case twin.KindBool:
			a.value = v.Bool
		default:
			a.value = v.Str
		}
		e.attrs = append(e.attrs, a)
	}
	if s.Location != nil {
		e.attrs = append(e.attrs, attr{name: "location", kind: geoProperty, value: s.Location})
	}
	rel := func(name string, k geo.Kind, id string) {
		if id != "" {
			e.attrs = append(e.attrs, attr{name: name, kind: relationship, value: FeatureID(k, id)})
		}
	}
	rel("refDistrict", geo.KindDistrict, s.Links.District)
	rel("refNeighbourhood", geo.KindNeighbourhood, s.Links.Neighbourhood)
	rel("refRoadSegment", geo.KindRoad, s.Links.Road)
	rel("refGreenspace", geo.KindGreenArea, s.Links.GreenArea)
	rel("refIrrigationZone", geo.KindIrrigationZone, s.Links.IrrigationZone)
	e.attrs = append(e.attrs, attr{name: "stale", value: stale})
	sortAttrs(e.attrs)
	return e
}

// featureEntity converts a city feature with its indicators. Indicator
// names follow Smart Data Models where one exists (LAeq, no2, pm10, pm25,
// o3, intensity, averageVehicleSpeed, soilMoistureVwc); the others are
// aqiBand, aqiPollutant, congestionIndex, waterDeficit (mm), needsWater,
// sensorCount and staleSensorCount.
func featureEntity(f *geo.Feature, in twin.Indicators) entity {
	e := entity{id: FeatureID(f.Kind, f.ID), typ: typeOfKind(f.Kind), geom: f.Geometry}
	e.attrs = make([]attr, 0, 20)
	add := func(name string, v any, unit string) {
		e.attrs = append(e.attrs, attr{name: name, value: v, unit: unit})
	}
	num := func(name string, v *float64, unit string) {
		if v != nil {
			add(name, *v, unit)
		}
	}
	e.attrs = append(e.attrs, attr{name: "location", kind: geoProperty, value: f.Geometry})
	if f.Name != "" {
		add("name", f.Name, "")
	}
	switch f.Kind {
	case geo.KindDistrict, geo.KindNeighbourhood:
		add("adminLevel", string(f.Kind), "")
		if f.Kind == geo.KindNeighbourhood && f.Parent != "" {
			e.attrs = append(e.attrs, attr{name: "refDistrict", kind: relationship, value: FeatureID(geo.KindDistrict, f.Parent)})
		}
	case geo.KindRoad:
		if f.RoadClass != "" {
			add("roadClass", f.RoadClass, "")
		}
		if f.Lanes > 0 {
			add("totalLaneNumber", float64(f.Lanes), "")
		}
		if f.SpeedLimit > 0 {
			add("maximumAllowedSpeed", f.SpeedLimit, "KMH")
		}
	case geo.KindIrrigationZone:
		if f.Parent != "" {
			e.attrs = append(e.attrs, attr{name: "refGreenspace", kind: relationship, value: FeatureID(geo.KindGreenArea, f.Parent)})
		}
	}
	add("sensorCount", float64(in.Sensors), "")
	add("staleSensorCount", float64(in.StaleSensors), "")
	num("LAeq", in.LAeq, "2N")
	if in.AQIBand != "" {
		add("aqiBand", in.AQIBand, "")
		add("aqiPollutant", in.AQIPollutant, "")
	}
	num("pm25", in.PM25, "GQ")
	num("pm10", in.PM10, "GQ")
	num("no2", in.NO2, "GQ")
	num("o3", in.O3, "GQ")
	num("congestionIndex", in.Congestion, "")
	num("intensity", in.Flow, "")
	num("averageVehicleSpeed", in.Speed, "KMH")
	num("soilMoistureVwc", in.SoilMoisture, "")
	num("waterDeficit", in.WaterDeficitMM, "MMT")
	if in.NeedsWater != nil {
		add("needsWater", *in.NeedsWater, "")
	}
	sortAttrs(e.attrs)
	return e
}
