package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/citytwin/citytwin/geo"
)

// Shape is the wire representation a sensor uses for its readings.
type Shape string

// The payload shapes a fleet can emit. Every LD shape uses NGSI-LD attribute
// kinds (ETSI GS CIM 009 clause 4.5); every v2 shape follows the Orion NGSI-v2
// API. Entity ids are identical in all shapes.
const (
	// ShapeLDNormalized is an NGSI-LD normalized entity with an inline
	// "@context": Property{value, unitCode, observedAt}, Relationship{object},
	// GeoProperty{value}.
	ShapeLDNormalized Shape = "ld-normalized"
	// ShapeLDConcise is the NGSI-LD concise format (ETSI GS CIM 009 clause
	// 4.5.11) with an inline "@context": properties keep {value, unitCode,
	// observedAt} without "type", relationships are {object}, location is bare
	// GeoJSON.
	ShapeLDConcise Shape = "ld-concise"
	// ShapeLDKeyValues is the NGSI-LD keyValues (simplified) format with a
	// "dateObserved" string. Every other sensor of this shape carries an
	// inline "@context"; the rest carry none (the broker-side default applies).
	ShapeLDKeyValues Shape = "ld-keyvalues"
	// ShapeV2Normalized is an NGSI-v2 normalized entity: {type, value,
	// metadata{unitCode}} attributes, "geo:json" location, DateTime
	// dateObserved.
	ShapeV2Normalized Shape = "v2-normalized"
	// ShapeV2KeyValues is an NGSI-v2 keyValues entity (options=keyValues).
	ShapeV2KeyValues Shape = "v2-keyvalues"
	// ShapeV2Notification is an Orion notification
	// {"subscriptionId":…,"data":[v2-normalized entity]}.
	ShapeV2Notification Shape = "v2-notification"
	// ShapeLDNotification is an NGSI-LD notification {"id":
	// "urn:ngsi-ld:Notification:…","type":"Notification","subscriptionId":…,
	// "notifiedAt":…,"data":[ld-normalized entity without @context]}.
	ShapeLDNotification Shape = "ld-notification"
	// ShapeArray is a JSON array holding the one entity of the reading. Every
	// other sensor of this shape puts an NGSI-LD normalized entity with inline
	// "@context" in it (as in an NGSI-LD batch upsert); the rest put an
	// NGSI-v2 keyValues entity.
	ShapeArray Shape = "array"
)

// Shapes lists every shape, in the order a default fleet assigns them.
var Shapes = []Shape{
	ShapeLDNormalized, ShapeLDConcise, ShapeLDKeyValues,
	ShapeV2Normalized, ShapeV2KeyValues,
	ShapeV2Notification, ShapeLDNotification, ShapeArray,
}

// Protocol is how a sensor sends its readings.
type Protocol string

// The protocols a fleet's sensors speak.
const (
	// ProtocolNGSI publishes NGSI entities (in the sensor's Shape) on
	// ngsi/{tenant}/{domain}/{LocalID}.
	ProtocolNGSI Protocol = "ngsi"
	// ProtocolUL publishes FIWARE IoT Agent UltraLight 2.0 measures,
	// "{time}|l|61.2|x|70.4", on /ul/{APIKey}/{LocalID}/attrs.
	ProtocolUL Protocol = "ul"
	// ProtocolJSON publishes FIWARE IoT Agent JSON measures,
	// {"TimeInstant":"…","l":61.2,"x":70.4}, on /json/{APIKey}/{LocalID}/attrs.
	ProtocolJSON Protocol = "json"
)

// Protocols lists every protocol; a "mixed" fleet uses them all.
var Protocols = []Protocol{ProtocolNGSI, ProtocolUL, ProtocolJSON}

// iotAgent reports whether the protocol is one of the IoT Agents'.
func (p Protocol) iotAgent() bool { return p == ProtocolUL || p == ProtocolJSON }

// Domains of the fleet; they form the third topic level.
const (
	DomainNoise      = "noise"
	DomainAir        = "air"
	DomainTraffic    = "traffic"
	DomainIrrigation = "irrigation"
)

// Smart Data Models entity types emitted by the fleet.
const (
	TypeNoise   = "NoiseLevelObserved"
	TypeAir     = "AirQualityObserved"
	TypeTraffic = "TrafficFlowObserved"
	TypeSoil    = "GreenspaceRecord"
	TypeWeather = "WeatherObserved"
)

// Sensor is one simulated device. Coordinates are WGS84 degrees.
type Sensor struct {
	// ID is the NGSI-LD entity id, urn:ngsi-ld:{Type}:{LocalID}.
	ID string
	// LocalID is "{tenant}-{n}", where n is the sensor's index in the fleet;
	// it is the last topic level.
	LocalID string
	// Type is the Smart Data Models entity type.
	Type string
	// Domain is noise, air, traffic or irrigation (WeatherObserved stations
	// belong to irrigation).
	Domain string
	// Shape is the payload shape of the sensor's readings.
	Shape Shape
	// Lon and Lat locate the sensor; for traffic, the midpoint of Road.
	Lon, Lat float64
	// Road is the 2-point [lon, lat] LineString a traffic sensor observes;
	// nil for other types.
	Road [][2]float64
	// RefRoadSegment is urn:ngsi-ld:RoadSegment:{tenant}-r{k} for traffic.
	RefRoadSegment string
	// RefGreenspace is urn:ngsi-ld:Greenspace:{tenant}-g{k} for
	// GreenspaceRecord sensors (two sensors per greenspace).
	RefGreenspace string

	// Protocol is how the sensor publishes.
	Protocol Protocol
	// Vendor is the simulated maker of an IoT Agent device (one per entity
	// type: acoustics, airlab, trafficount, irrigo, meteo); its service
	// group lives in service path /{Vendor}. Empty for NGSI sensors.
	Vendor string
	// APIKey is the apikey of the vendor's service group for the sensor's
	// protocol, "{tenant}-{Vendor}-{ul|json}"; empty for NGSI sensors. The
	// device id is LocalID.
	APIKey string
	// Controller marks an irrigation controller: a GreenspaceRecord soil
	// probe speaking an IoT Agent protocol, wired to a valve that the
	// open_valve command opens (value: minutes). It also reports valveOpen.
	Controller bool
}

// topic returns the MQTT topic the sensor publishes on:
// ngsi/{tenant}/{domain}/{LocalID}, or /{ul|json}/{APIKey}/{LocalID}/attrs.
func (s Sensor) topic(tenant string) string {
	if s.Protocol.iotAgent() {
		return "/" + string(s.Protocol) + "/" + s.APIKey + "/" + s.LocalID + "/attrs"
	}
	return "ngsi/" + tenant + "/" + s.Domain + "/" + s.LocalID
}

// Default fleet settings.
const (
	DefaultCount  = 100
	DefaultTenant = "demo"
)

// DefaultBBox is the area around Milan where a default fleet is placed:
// minLon, minLat, maxLon, maxLat.
var DefaultBBox = [4]float64{9.10, 45.42, 9.26, 45.52}

// FleetConfig configures NewFleet. The zero value is a valid default fleet.
type FleetConfig struct {
	// Count is the number of sensors; 0 means DefaultCount.
	Count int
	// Tenant is the second topic level and part of every id; "" means
	// DefaultTenant.
	Tenant string
	// Seed makes the fleet and all its readings reproducible.
	Seed int64
	// BBox is minLon, minLat, maxLon, maxLat; the zero value means DefaultBBox.
	BBox [4]float64
	// Shapes are assigned round-robin: sensor i uses Shapes[i%len(Shapes)];
	// nil means all shapes (the package variable Shapes).
	Shapes []Shape
	// Protocols are assigned round-robin like Shapes: sensor i speaks
	// Protocols[i%len(Protocols)]; nil means NGSI only. With an IoT Agent
	// protocol the tenant is also the devices' Fiware-Service.
	Protocols []Protocol
	// City, when set, places the fleet on the city's features instead of in
	// BBox: traffic sensors on road segments (refRoadSegment names the
	// segment), noise and air sensors 5–15 m beside a road, soil probes
	// inside green areas (refGreenspace names the park) and weather stations
	// at a park's centre.
	City *geo.City
}

// ErrInvalidConfig is wrapped by every FleetConfig and RunConfig validation error.
var ErrInvalidConfig = errors.New("sim: invalid config")

// Validate reports whether NewFleet accepts c.
func (c FleetConfig) Validate() error {
	if c.Count < 0 {
		return fmt.Errorf("%w: Count %d is negative", ErrInvalidConfig, c.Count)
	}
	if c.BBox != ([4]float64{}) {
		b := c.BBox
		if !(b[0] < b[2] && b[1] < b[3]) || b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 {
			return fmt.Errorf("%w: BBox %v must be minLon,minLat,maxLon,maxLat within WGS84 bounds", ErrInvalidConfig, b)
		}
	}
	for _, s := range c.Shapes {
		if !knownShape(s) {
			return fmt.Errorf("%w: unknown shape %q (want one of %v)", ErrInvalidConfig, s, Shapes)
		}
	}
	if c.Shapes != nil && len(c.Shapes) == 0 {
		return fmt.Errorf("%w: Shapes is empty (use nil for all shapes)", ErrInvalidConfig)
	}
	for _, r := range c.Tenant {
		if r == '/' || r == '+' || r == '#' || r == '"' || r == '\\' || r < ' ' {
			return fmt.Errorf("%w: tenant %q contains %q, not allowed in a topic level or id", ErrInvalidConfig, c.Tenant, r)
		}
	}
	if c.Protocols != nil && len(c.Protocols) == 0 {
		return fmt.Errorf("%w: Protocols is empty (use nil for NGSI only)", ErrInvalidConfig)
	}
	iotAgent := false
	for _, p := range c.Protocols {
		if !slices.Contains(Protocols, p) {
			return fmt.Errorf("%w: unknown protocol %q (want one of %v)", ErrInvalidConfig, p, Protocols)
		}
		iotAgent = iotAgent || p.iotAgent()
	}
	if iotAgent {
		tenant := c.Tenant
		if tenant == "" {
			tenant = DefaultTenant
		}
		if !serviceName(tenant) {
			return fmt.Errorf("%w: tenant %q: IoT Agent devices are provisioned with the tenant as Fiware-Service, so it must be 1-%d characters of [a-z0-9_] (lower case, as the twin stores tenants)",
				ErrInvalidConfig, tenant, maxServiceLen)
		}
	}
	return nil
}

// maxServiceLen bounds a tenant used as Fiware-Service: Orion allows 50
// characters, and the apikeys "{tenant}-{vendor}-{protocol}" must stay
// within 64.
const maxServiceLen = 40

// serviceName reports whether s is a tenant usable as Fiware-Service.
func serviceName(s string) bool {
	if s == "" || len(s) > maxServiceLen {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func knownShape(s Shape) bool {
	for _, k := range Shapes {
		if s == k {
			return true
		}
	}
	return false
}

// Fleet is an immutable set of simulated sensors. All its methods are safe
// for concurrent use.
type Fleet struct {
	tenant  string
	seed    uint64
	sensors []Sensor
	params  []params
	topics  []string
	// Subscription ids for the notification shapes, fixed per fleet.
	subV2, subLD string
}

// params holds a sensor's private, seeded characteristics.
type params struct {
	salt    uint64  // per-sensor key for the deterministic noise
	variant bool    // chooses @context presence / array element kind
	shift   float64 // hours by which the sensor's daily pattern is shifted
	busy    float64 // traffic load factor of the nearby road
	offset  float64 // additive calibration offset (dB, µg/m³, °C)
	cap     float64 // traffic: vehicles per 5 min at load 1
	free    float64 // traffic: free-flow speed, km/h
	wet     float64 // soil: volumetric water content right after irrigation
	dry     float64 // soil: water content lost over a full day
}

// NewFleet builds a deterministic fleet: the same config yields the same
// sensors and the same readings. It panics if cfg.Validate fails; call
// Validate first for configuration from users.
//
// The mix is about 30 % noise, 25 % air, 30 % traffic and 15 % irrigation.
// Irrigation is mostly GreenspaceRecord soil probes plus about one
// WeatherObserved station per 20 of them (at least one when Count ≥ 10);
// stations count towards the irrigation share. Types are interleaved by a
// seeded shuffle, so any prefix of the fleet is a mix too.
func NewFleet(cfg FleetConfig) *Fleet {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.Count == 0 {
		cfg.Count = DefaultCount
	}
	if cfg.Tenant == "" {
		cfg.Tenant = DefaultTenant
	}
	if cfg.BBox == ([4]float64{}) {
		cfg.BBox = DefaultBBox
	}
	if cfg.Shapes == nil {
		cfg.Shapes = Shapes
	}
	if cfg.Protocols == nil {
		cfg.Protocols = []Protocol{ProtocolNGSI}
	}
	seed := uint64(cfg.Seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed_c17e_7e1e_0001))

	types := typeMix(cfg.Count)
	rng.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })

	f := &Fleet{
		tenant:  cfg.Tenant,
		seed:    seed,
		sensors: make([]Sensor, cfg.Count),
		params:  make([]params, cfg.Count),
		topics:  make([]string, cfg.Count),
		subV2:   fmt.Sprintf("%08x%016x", uint32(mix(seed, 0xa10)), mix(seed, 0xa11)),
		subLD:   "urn:ngsi-ld:Subscription:" + cfg.Tenant + "-" + strconv.FormatUint(mix(seed, 0xb22)%1e6, 10),
	}
	var roads, soils int
	b := cfg.BBox
	for i, typ := range types {
		local := cfg.Tenant + "-" + strconv.Itoa(i)
		s := Sensor{
			ID:      "urn:ngsi-ld:" + typ + ":" + local,
			LocalID: local,
			Type:    typ,
			Domain:  domainOf(typ),
			Shape:   cfg.Shapes[i%len(cfg.Shapes)],
			Lon:     round(b[0]+rng.Float64()*(b[2]-b[0]), 6),
			Lat:     round(b[1]+rng.Float64()*(b[3]-b[1]), 6),
		}
		p := params{
			salt:    mix(seed, uint64(i)+1),
			variant: (i/len(cfg.Shapes))%2 == 1,
			shift:   (rng.Float64() - 0.5) * 0.5,
			busy:    0.85 + rng.Float64()*0.25,
			offset:  (rng.Float64() - 0.5) * 4,
			cap:     110 + rng.Float64()*70,
			free:    45 + rng.Float64()*15,
			wet:     0.34 + rng.Float64()*0.08,
			dry:     0.12 + rng.Float64()*0.06,
		}
		switch typ {
		case TypeTraffic:
			// A road stretch of 80–250 m centred on the sensor.
			half := (80 + rng.Float64()*170) / 2
			bearing := rng.Float64() * math.Pi
			dLat := half * math.Cos(bearing) / metresPerDegLat
			dLon := half * math.Sin(bearing) / (metresPerDegLat * math.Cos(s.Lat*math.Pi/180))
			s.Road = [][2]float64{
				{round(s.Lon-dLon, 6), round(s.Lat-dLat, 6)},
				{round(s.Lon+dLon, 6), round(s.Lat+dLat, 6)},
			}
			s.RefRoadSegment = "urn:ngsi-ld:RoadSegment:" + cfg.Tenant + "-r" + strconv.Itoa(roads)
			roads++
		case TypeSoil:
			s.RefGreenspace = "urn:ngsi-ld:Greenspace:" + cfg.Tenant + "-g" + strconv.Itoa(soils/2)
			soils++
		}
		if cfg.City != nil {
			placeOnCity(&s, cfg.City, rng)
		}
		if s.Protocol = cfg.Protocols[i%len(cfg.Protocols)]; s.Protocol.iotAgent() {
			s.Vendor = modelOf(typ).vendor
			s.APIKey = cfg.Tenant + "-" + s.Vendor + "-" + string(s.Protocol)
			s.Controller = typ == TypeSoil
		}
		f.sensors[i] = s
		f.params[i] = p
		f.topics[i] = s.topic(cfg.Tenant)
	}
	return f
}

// placeOnCity moves a sensor onto the city's features (see FleetConfig.City).
// Layers the city lacks leave the sensor where it was.
func placeOnCity(s *Sensor, city *geo.City, rng *rand.Rand) {
	roads, parks := city.Features(geo.KindRoad), city.Features(geo.KindGreenArea)
	switch s.Type {
	case TypeTraffic, TypeNoise, TypeAir:
		if len(roads) == 0 {
			return
		}
		r := roads[rng.IntN(len(roads))]
		line, ok := r.Geometry.(orb.LineString)
		if !ok || len(line) < 2 {
			return
		}
		a, b := line[0], line[len(line)-1]
		mid := orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
		if s.Type == TypeTraffic {
			s.Road = [][2]float64{{a[0], a[1]}, {b[0], b[1]}}
			s.Lon, s.Lat = round(mid[0], 6), round(mid[1], 6)
			s.RefRoadSegment = "urn:ngsi-ld:RoadSegment:" + r.ID
			return
		}
		// Beside the road: 5–15 m along its normal.
		cosLat := math.Cos(mid[1] * math.Pi / 180)
		dx, dy := (b[0]-a[0])*cosLat, b[1]-a[1]
		n := math.Hypot(dx, dy)
		if n == 0 {
			return
		}
		off := (5 + rng.Float64()*10) / metresPerDegLat
		s.Lon = round(mid[0]-dy/n*off/cosLat, 6)
		s.Lat = round(mid[1]+dx/n*off, 6)
	case TypeSoil, TypeWeather:
		if len(parks) == 0 {
			return
		}
		g := parks[rng.IntN(len(parks))]
		poly, ok := g.Geometry.(orb.Polygon)
		if !ok {
			return
		}
		bound := poly.Bound()
		at := bound.Center()
		if s.Type == TypeSoil {
			for range 50 {
				p := orb.Point{bound.Min[0] + rng.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1] + rng.Float64()*(bound.Max[1]-bound.Min[1])}
				if planar.PolygonContains(poly, p) {
					at = p
					break
				}
			}
			s.RefGreenspace = "urn:ngsi-ld:Greenspace:" + g.ID
		}
		s.Lon, s.Lat = round(at[0], 6), round(at[1], 6)
	}
}

const metresPerDegLat = 111_320.0

// typeMix returns count entity types in the documented proportions, using
// the largest-remainder method so the counts add up exactly.
func typeMix(count int) []string {
	shares := []struct {
		typ   string
		share float64
	}{{TypeNoise, 0.30}, {TypeAir, 0.25}, {TypeTraffic, 0.30}, {TypeSoil, 0.15}}
	n := make([]int, len(shares))
	rem := make([]float64, len(shares))
	total := 0
	for i, s := range shares {
		x := s.share * float64(count)
		n[i] = int(x)
		rem[i] = x - float64(n[i])
		total += n[i]
	}
	for ; total < count; total++ {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		n[best]++
		rem[best] = -1
	}
	// Weather stations come out of the irrigation share.
	irrigation := n[3]
	weather := int(math.Round(float64(irrigation) / 20))
	if weather == 0 && count >= 10 {
		weather = 1
	}
	if weather > irrigation {
		weather = irrigation
	}
	out := make([]string, 0, count)
	for i, s := range shares {
		k := n[i]
		if i == 3 {
			k -= weather
		}
		for range k {
			out = append(out, s.typ)
		}
	}
	for range weather {
		out = append(out, TypeWeather)
	}
	return out
}

func domainOf(typ string) string {
	switch typ {
	case TypeNoise:
		return DomainNoise
	case TypeAir:
		return DomainAir
	case TypeTraffic:
		return DomainTraffic
	default:
		return DomainIrrigation
	}
}

// Tenant returns the fleet's tenant.
func (f *Fleet) Tenant() string { return f.tenant }

// Len returns the number of sensors.
func (f *Fleet) Len() int { return len(f.sensors) }

// Sensors returns a copy of the fleet's sensors; sensor i of the slice is
// the i of Reading and Values.
func (f *Fleet) Sensors() []Sensor {
	out := make([]Sensor, len(f.sensors))
	copy(out, f.sensors)
	for i := range out {
		if out[i].Road != nil {
			out[i].Road = append([][2]float64(nil), out[i].Road...)
		}
	}
	return out
}

// Topic returns the MQTT topic of sensor i: ngsi/{tenant}/{domain}/{LocalID},
// or /{ul|json}/{APIKey}/{LocalID}/attrs for IoT Agent devices.
func (f *Fleet) Topic(i int) string { return f.topics[i] }

// Reading returns the topic and payload of sensor i's reading at time t, in
// the sensor's protocol and shape. The payload is a fresh slice owned by
// the caller. An irrigation controller's reading is the one of a closed
// valve that only the 05:00 programme opened; Run's controllers follow
// their valves instead.
func (f *Fleet) Reading(i int, t time.Time) (topic string, payload []byte) {
	vals := f.compute(i, t)
	return f.topics[i], f.encode(i, t, &vals)
}

// ReadingSince is Reading for a sensor whose previous reading was at prev
// (zero: none): a traffic sensor's intensity is then the number of vehicles
// counted since prev — the Smart Data Models meaning, vehicles in the
// observation period — at the model's current rate (vehicles per 5 min),
// so that a sensor's intensities add up to its traffic volume whatever its
// reporting interval. The counts are differences of the running count
// ⌊rate·t/5 min⌋, so that slow rates still add up (no reading rounds its
// fraction away); a gap over 5 minutes, or no previous reading, counts the
// last 5 minutes. Other sensors read as Reading.
func (f *Fleet) ReadingSince(i int, t, prev time.Time) (topic string, payload []byte) {
	vals := f.compute(i, t)
	if f.sensors[i].Type == TypeTraffic {
		vals[0] = countSince(vals[0], t, prev)
	}
	return f.topics[i], f.encode(i, t, &vals)
}

// countPeriod is the period of the traffic model's rate.
const countPeriod = 5 * time.Minute

// countSince is the vehicles counted in (prev, t] at ratePer5Min.
func countSince(ratePer5Min float64, t, prev time.Time) float64 {
	if prev.IsZero() || !prev.Before(t) || t.Sub(prev) > countPeriod {
		prev = t.Add(-countPeriod)
	}
	perMs := ratePer5Min / float64(countPeriod.Milliseconds())
	return math.Floor(perMs*float64(t.UnixMilli())) - math.Floor(perMs*float64(prev.UnixMilli()))
}

// ReadingAs is the NGSI reading of sensor i in shape s, whatever the
// sensor's own protocol and shape; the numbers are the same, and the topic
// is ngsi/{tenant}/{domain}/{LocalID}.
func (f *Fleet) ReadingAs(i int, t time.Time, s Shape) (topic string, payload []byte) {
	vals := f.compute(i, t)
	topic = f.topics[i]
	if f.sensors[i].Protocol.iotAgent() {
		ngsi := f.sensors[i]
		ngsi.Protocol = ProtocolNGSI
		topic = ngsi.topic(f.tenant)
	}
	return topic, f.render(i, t, s, &vals)
}

// Values returns the attribute values Reading(i, t) carries, keyed by Smart
// Data Models attribute name (not object_id): float64 for numbers, bool for
// booleans. The numbers are rounded exactly as in the payload.
func (f *Fleet) Values(i int, t time.Time) map[string]any {
	m := f.model(i)
	v := f.compute(i, t)
	out := make(map[string]any, len(m.attrs))
	for k, a := range m.attrs {
		if a.boolean {
			out[a.name] = v[k] != 0
		} else {
			out[a.name] = v[k]
		}
	}
	return out
}
