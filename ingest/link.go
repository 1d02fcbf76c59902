package ingest

import (
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// Linker ties an observation to the city's features by setting o.Links.
type Linker interface {
	Link(o *twin.Observation)
}

// CityLinker links sensors to a geo.City: the containing areas at both
// levels for every sensor; the nearest road within RoadMetres for traffic,
// noise and air sensors; the containing green area and irrigation zone for
// irrigation sensors. A reference in the payload (refRoadSegment,
// refGreenspace) wins over geometry. A sensor is linked when its first
// reading arrives and again only when its location or references change.
//
// Not safe for concurrent use: the pipeline's single batcher goroutine owns it.
type CityLinker struct {
	City       *geo.City
	RoadMetres float64 // default 50
	cache      map[sensorKey]cachedLinks
}

type sensorKey struct{ tenant, id string }

type cachedLinks struct {
	loc   orb.Geometry
	road  string // refRoadSegment as sent
	green string // refGreenspace as sent
	links geo.Links
}

// maxCachedSensors bounds the link cache; past it the cache starts over.
const maxCachedSensors = 1 << 20

// Link implements Linker.
func (l *CityLinker) Link(o *twin.Observation) {
	if l.City == nil || (o.Location == nil && len(o.Refs) == 0) {
		return
	}
	if l.cache == nil || len(l.cache) >= maxCachedSensors {
		l.cache = make(map[sensorKey]cachedLinks)
	}
	key := sensorKey{o.Tenant, o.EntityID}
	road, green := o.Refs["refRoadSegment"], o.Refs["refGreenspace"]
	if c, ok := l.cache[key]; ok && c.road == road && c.green == green && sameGeometry(c.loc, o.Location) {
		o.Links = c.links
		return
	}
	metres := l.RoadMetres
	if metres <= 0 {
		metres = 50
	}
	var links geo.Links
	if o.Location != nil {
		links = l.City.Link(o.Location, o.Refs, metres)
	} else {
		links = l.City.Link(nil, o.Refs, metres)
	}
	switch o.Domain {
	case twin.DomainTraffic, twin.DomainNoise, twin.DomainAir:
		links.GreenArea, links.IrrigationZone = "", ""
	case twin.DomainIrrigation:
		links.Road, links.RoadDistance = "", 0
	default:
		links.Road, links.RoadDistance, links.GreenArea, links.IrrigationZone = "", 0, "", ""
	}
	o.Links = links
	l.cache[key] = cachedLinks{loc: o.Location, road: road, green: green, links: links}
}

func sameGeometry(a, b orb.Geometry) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case orb.Point:
		bp, ok := b.(orb.Point)
		return ok && a == bp
	case orb.LineString:
		bl, ok := b.(orb.LineString)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if a[i] != bl[i] {
				return false
			}
		}
		return true
	}
	return false
}
