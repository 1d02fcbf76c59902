package twin

import (
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"github.com/citytwin/citytwin/geo"
)

// StateConfig configures a State. The zero value means the documented
// defaults.
type StateConfig struct {
	// StaleFactor multiplies a sensor's usual interval (the EWMA of its
	// inter-arrival times); default 3. A sensor is stale when
	// now − LastSeen > max(MinStale, StaleFactor·Interval).
	StaleFactor float64
	// MinStale is the shortest silence that makes a sensor stale; default
	// 2 minutes. It also applies to sensors with a single observation, whose
	// interval is not known yet.
	MinStale time.Duration
	// RefillVWC is the volumetric soil moisture (m³/m³) at or below which a
	// green area or irrigation zone needs water; default 0.20. It is the
	// sensor-driven form of the FAO-56 trigger "irrigate when Dr ≥ RAW":
	// θrefill = θFC − RAW/(1000·Zr) with RAW = p·TAW and
	// TAW = 1000·(θFC − θWP)·Zr (reference/domain.md §7). With θFC 0.32,
	// θWP 0.12 and p 0.6 this gives 0.32 − 0.6·0.20 = 0.20. The planner's
	// threshold policy refills at the same point (State.RefillVWC).
	RefillVWC float64
	// RefillByFeature overrides RefillVWC per green area or irrigation zone
	// id. An irrigation zone without its own entry uses its green area's.
	RefillByFeature map[string]float64
	// FieldCapacityVWC is θFC (m³/m³) for the water deficit; default 0.32.
	FieldCapacityVWC float64
	// RootDepthM is Zr (m) for the water deficit; default 0.3. The deficit
	// is max(0, θFC − θ)·1000·Zr mm: the depth of water that brings the root
	// zone back to field capacity (FAO-56 root-zone depletion Dr).
	RootDepthM float64
	// IntervalAlpha is the weight of the newest inter-arrival time in the
	// interval EWMA; default 0.2.
	IntervalAlpha float64
}

func (c StateConfig) withDefaults() StateConfig {
	if c.StaleFactor <= 0 {
		c.StaleFactor = 3
	}
	if c.MinStale <= 0 {
		c.MinStale = 2 * time.Minute
	}
	if c.RefillVWC <= 0 {
		c.RefillVWC = 0.20
	}
	if c.FieldCapacityVWC <= 0 {
		c.FieldCapacityVWC = 0.32
	}
	if c.RootDepthM <= 0 {
		c.RootDepthM = 0.3
	}
	if c.IntervalAlpha <= 0 || c.IntervalAlpha > 1 {
		c.IntervalAlpha = 0.2
	}
	m := make(map[string]float64, len(c.RefillByFeature))
	for k, v := range c.RefillByFeature {
		m[k] = v
	}
	c.RefillByFeature = m
	return c
}

// Value is the latest value of one attribute of a sensor.
type Value struct {
	Num  float64
	Bool bool
	Str  string
	Kind Kind
	// Time is the observation time of the value (UTC).
	Time time.Time
	// Unit is the UN/CEFACT unit code sent with the value, if any.
	Unit string
}

// Sensor is a copy of what the twin knows about one sensor (NGSI entity).
type Sensor struct {
	Tenant, ID, Type string
	Domain           Domain
	// Location is the latest location sent, nil if none was ever sent.
	Location orb.Geometry
	// Links are the city features the sensor is tied to, from the latest
	// observation that carried a location or links.
	Links geo.Links
	// LastSeen is the newest observation time received.
	LastSeen time.Time
	// Interval is the sensor's usual interval between observations: an
	// exponentially weighted moving average of its inter-arrival times (zero
	// until a second, newer observation arrives).
	Interval time.Duration
	// Values holds the latest value per attribute name.
	Values map[string]Value
}

// State is the live twin: the latest value of every attribute of every
// sensor, with sensors indexed by the city features they are linked to.
// State does no I/O and starts no goroutines. It is safe for concurrent use:
// Apply takes a write lock, every other method a read lock.
type State struct {
	city *geo.City
	cfg  StateConfig

	mu      sync.RWMutex
	strs    interner // tenants, types, attribute names, units, feature ids
	index   map[sensorKey]int32
	sensors []sensor
	// byFeature[slot][featureID] lists the sensors linked to a feature.
	byFeature [nSlots]map[string][]int32
	// where indexes the bound of each located sensor, per tenant id.
	where map[uint32]*rtree.RTreeG[int32]
}

// Feature slots of the inverted index.
const (
	slotDistrict = iota
	slotNeighbourhood
	slotRoad
	slotGreenArea
	slotIrrigationZone
	nSlots
)

func slotOf(k geo.Kind) int {
	switch k {
	case geo.KindDistrict:
		return slotDistrict
	case geo.KindNeighbourhood:
		return slotNeighbourhood
	case geo.KindRoad:
		return slotRoad
	case geo.KindGreenArea:
		return slotGreenArea
	case geo.KindIrrigationZone:
		return slotIrrigationZone
	}
	return -1
}

type sensorKey struct {
	tenant uint32
	id     string
}

// sensor is the compact internal form of a Sensor: strings that repeat
// across sensors are interned to uint32 ids, times are Unix nanoseconds.
type sensor struct {
	id       string
	tenant   uint32
	typ      uint32
	domain   Domain
	loc      orb.Geometry
	links    geo.Links
	feats    [nSlots]string // the feature ids indexed (green area after zone roll-up)
	lastSeen int64
	interval int64
	// flowPeriod is the observation period (ns) of the latest intensity:
	// the time since the sensor's previous intensity, or its usual interval
	// for its first one; 0 while unknown (see Indicators.Flow).
	flowPeriod int64
	vals       []val
}

// val is one attribute value: 40 bytes.
type val struct {
	name uint32
	unit uint32
	kind Kind
	num  float64 // booleans are stored as 0/1
	t    int64
	str  string
}

type interner struct {
	ids  map[string]uint32
	strs []string
}

func (in *interner) id(s string) uint32 {
	if i, ok := in.ids[s]; ok {
		return i
	}
	if in.ids == nil {
		in.ids = map[string]uint32{"": 0}
		in.strs = []string{""}
		if s == "" {
			return 0
		}
	}
	s = strings.Clone(s)
	i := uint32(len(in.strs))
	in.strs = append(in.strs, s)
	in.ids[s] = i
	return i
}

// lookup returns the id of s without interning it.
func (in *interner) lookup(s string) (uint32, bool) {
	i, ok := in.ids[s]
	return i, ok
}

func (in *interner) str(i uint32) string { return in.strs[i] }

// NewState returns an empty twin state over city, which may be nil (no
// features: sensor state only, feature indicators from links alone).
func NewState(city *geo.City, cfg StateConfig) *State {
	s := &State{city: city, cfg: cfg.withDefaults(), index: make(map[sensorKey]int32),
		where: make(map[uint32]*rtree.RTreeG[int32])}
	s.strs.id("")
	for i := range s.byFeature {
		s.byFeature[i] = make(map[string][]int32)
	}
	return s
}

// Len returns the number of sensors known.
func (s *State) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sensors)
}

// Apply records observations. For each sensor (tenant, entity id) it keeps
// the latest value per attribute: a value older than the stored one for that
// attribute is ignored, an equal time replaces it. Type, location and links
// follow the newest observation; an observation without location and links
// leaves them as they were. LastSeen is the newest observation time, and the
// usual interval is updated from each observation newer than LastSeen.
func (s *State) Apply(obs []Observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range obs {
		s.apply(&obs[i])
	}
}

func (s *State) apply(o *Observation) {
	if o.EntityID == "" {
		return
	}
	ti := s.strs.id(o.Tenant)
	idx, ok := s.index[sensorKey{ti, o.EntityID}]
	if !ok {
		idx = int32(len(s.sensors))
		id := strings.Clone(o.EntityID)
		s.sensors = append(s.sensors, sensor{id: id, tenant: ti})
		s.index[sensorKey{ti, id}] = idx
	}
	sn := &s.sensors[idx]
	t := o.Time.UnixNano()
	newest := !ok || t >= sn.lastSeen
	if newest {
		if ok && t > sn.lastSeen {
			dt := t - sn.lastSeen
			if sn.interval == 0 {
				sn.interval = dt
			} else {
				sn.interval += int64(s.cfg.IntervalAlpha * float64(dt-sn.interval))
			}
		}
		sn.lastSeen = t
		if s.strs.str(sn.typ) != o.EntityType {
			sn.typ = s.strs.id(o.EntityType)
			sn.domain = o.Domain
			if sn.domain == "" {
				sn.domain = DomainOf(o.EntityType)
			}
		}
		if o.Location != nil && (sn.loc == nil || !orb.Equal(sn.loc, o.Location)) {
			s.move(idx, orb.Clone(o.Location))
		}
		if (o.Location != nil || o.Links != geo.Links{}) && o.Links != sn.links {
			s.relink(idx, o.Links)
		}
	}
	for ai := range o.Attrs {
		a := &o.Attrs[ai]
		j := -1
		for k := range sn.vals {
			if s.strs.str(sn.vals[k].name) == a.Name {
				j = k
				break
			}
		}
		if j < 0 {
			sn.vals = append(sn.vals, val{name: s.strs.id(a.Name)})
			j = len(sn.vals) - 1
		} else if t < sn.vals[j].t {
			continue
		}
		v := &sn.vals[j]
		if a.Kind == KindNumber && a.Name == "intensity" {
			switch {
			case o.Period > 0:
				sn.flowPeriod = int64(o.Period)
			case v.t != 0 && t > v.t:
				sn.flowPeriod = t - v.t
			case v.t == 0:
				sn.flowPeriod = sn.interval
			}
		}
		v.t = t
		v.kind = a.Kind
		v.num, v.str = 0, ""
		switch a.Kind {
		case KindNumber:
			v.num = a.Num
		case KindBool:
			if a.Bool {
				v.num = 1
			}
		case KindString:
			if a.Str != v.str {
				v.str = strings.Clone(a.Str)
			}
		}
		if s.strs.str(v.unit) != a.Unit {
			v.unit = s.strs.id(a.Unit)
		}
	}
}

// move sets sensor idx's location and updates the spatial index.
func (s *State) move(idx int32, loc orb.Geometry) {
	sn := &s.sensors[idx]
	tr := s.where[sn.tenant]
	if tr == nil {
		tr = new(rtree.RTreeG[int32])
		s.where[sn.tenant] = tr
	}
	nb := loc.Bound()
	if sn.loc != nil {
		ob := sn.loc.Bound()
		tr.Replace(ob.Min, ob.Max, idx, nb.Min, nb.Max, idx)
	} else {
		tr.Insert(nb.Min, nb.Max, idx)
	}
	sn.loc = loc
}

// relink moves sensor idx from the features of its old links to those of l.
func (s *State) relink(idx int32, l geo.Links) {
	sn := &s.sensors[idx]
	in := func(x string) string { return s.strs.str(s.strs.id(x)) }
	l.District, l.Neighbourhood, l.Road = in(l.District), in(l.Neighbourhood), in(l.Road)
	l.GreenArea, l.IrrigationZone = in(l.GreenArea), in(l.IrrigationZone)
	sn.links = l
	var feats [nSlots]string
	feats[slotDistrict] = l.District
	feats[slotNeighbourhood] = l.Neighbourhood
	feats[slotRoad] = l.Road
	feats[slotIrrigationZone] = l.IrrigationZone
	feats[slotGreenArea] = l.GreenArea
	if l.GreenArea == "" && l.IrrigationZone != "" && s.city != nil {
		// An irrigation zone rolls up to its green area.
		if z, ok := s.city.Feature(geo.KindIrrigationZone, l.IrrigationZone); ok {
			feats[slotGreenArea] = in(z.Parent)
		}
	}
	for slot := range feats {
		old, nw := sn.feats[slot], feats[slot]
		if old == nw {
			continue
		}
		if old != "" {
			list := s.byFeature[slot][old]
			for k, x := range list {
				if x == idx {
					list[k] = list[len(list)-1]
					list = list[:len(list)-1]
					break
				}
			}
			if len(list) == 0 {
				delete(s.byFeature[slot], old)
			} else {
				s.byFeature[slot][old] = list
			}
		}
		if nw != "" {
			s.byFeature[slot][nw] = append(s.byFeature[slot][nw], idx)
		}
	}
	sn.feats = feats
}

// Sensor returns a copy of a sensor's state.
func (s *State) Sensor(tenant, id string) (Sensor, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ti, ok := s.strs.lookup(tenant)
	if !ok {
		return Sensor{}, false
	}
	idx, ok := s.index[sensorKey{ti, id}]
	if !ok {
		return Sensor{}, false
	}
	return s.export(&s.sensors[idx]), true
}

// Sensors calls fn with a copy of every sensor, in no particular order, until
// fn returns false. fn runs under the state's read lock: it must not call
// Apply.
func (s *State) Sensors(fn func(Sensor) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range s.sensors {
		if !fn(s.export(&s.sensors[i])) {
			return
		}
	}
}

// Staleness calls fn with every sensor's tenant, id and staleness at now
// (see Stale), in no particular order, until fn returns false. It copies
// nothing: a sweep over every sensor costs what the check costs. fn must
// not call the State.
func (s *State) Staleness(now time.Time, fn func(tenant, id string, stale bool) bool) {
	t := now.UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range s.sensors {
		sn := &s.sensors[i]
		if !fn(s.strs.str(sn.tenant), sn.id, s.stale(t, sn.lastSeen, sn.interval)) {
			return
		}
	}
}

func (s *State) export(sn *sensor) Sensor {
	out := Sensor{
		Tenant:   s.strs.str(sn.tenant),
		ID:       sn.id,
		Type:     s.strs.str(sn.typ),
		Domain:   sn.domain,
		Location: sn.loc,
		Links:    sn.links,
		LastSeen: time.Unix(0, sn.lastSeen).UTC(),
		Interval: time.Duration(sn.interval),
		Values:   make(map[string]Value, len(sn.vals)),
	}
	if ls, ok := sn.loc.(orb.LineString); ok {
		out.Location = ls.Clone()
	}
	for _, v := range sn.vals {
		out.Values[s.strs.str(v.name)] = Value{
			Num:  v.num,
			Bool: v.kind == KindBool && v.num != 0,
			Str:  v.str,
			Kind: v.kind,
			Time: time.Unix(0, v.t).UTC(),
			Unit: s.strs.str(v.unit),
		}
	}
	return out
}

// Stale reports whether sn has been silent for longer than its usual interval
// allows at now: now − LastSeen > max(MinStale, StaleFactor·Interval).
func (s *State) Stale(now time.Time, sn Sensor) bool {
	return s.stale(now.UnixNano(), sn.LastSeen.UnixNano(), int64(sn.Interval))
}

func (s *State) stale(now, lastSeen, interval int64) bool {
	limit := int64(s.cfg.MinStale)
	if l := int64(s.cfg.StaleFactor * float64(interval)); l > limit {
		limit = l
	}
	return now-lastSeen > limit
}
