package twinfeed

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/stream"
	"github.com/citytwin/citytwin/twin"
)

// LayerAlerts is the layer of the twin's threshold alerts.
const LayerAlerts = "alerts"

// SensorLayers are the sensor layers: the twin's domains.
var SensorLayers = []twin.Domain{twin.DomainNoise, twin.DomainAir, twin.DomainTraffic, twin.DomainIrrigation, twin.DomainGeneric}

// Config configures a Feed. The zero value means the documented defaults.
type Config struct {
	// MaxPending bounds the distinct sensors with changes not yet
	// collected by the hub; default 100,000. When a batch finds it full,
	// the next flush sends every sensor and feature (a resync) instead of
	// the changes, and citytwin_stream_resyncs_total counts it.
	MaxPending int
	// MaxPendingAlerts bounds the alert changes not yet collected; default
	// 10,000. Further ones are dropped and counted.
	MaxPendingAlerts int
	// StaleSweep is the period at which every sensor's staleness is checked,
	// so that a sensor that falls silent (or its features' indicators)
	// reaches clients without an observation; default 10 s, negative
	// disables it.
	StaleSweep time.Duration
	// FullDeltas makes every sensor item of a delta complete, as before
	// partial items existed (the protocol of citytwin ≤ 0.x): a baseline
	// for measurements. By default an item carries only what changed since
	// the sensor's previous item (see the stream package's PROTOCOL).
	FullDeltas bool
	// FeatureInterval spaces the recomputation of the features' indicators:
	// the features that sensors' changes touched are recomputed and sent at
	// most once per FeatureInterval (the first flush after it has passed),
	// while sensors go out at every flush. A district's indicators read all
	// of its sensors, so at every flush they cost more than the sensors
	// themselves; areas do not need 5–10 updates a second. 0 (the default
	// here; serve's is 1 s): at every flush.
	FeatureInterval time.Duration
}

type sensorKey struct{ tenant, id string }

type featKey struct {
	kind geo.Kind
	id   string
}

// sent is what clients last received about a sensor, merged over its
// items: partial items carry what differs from it. links also name the
// features to recompute when the sensor moves.
type sent struct {
	links    geo.Links
	stale    bool
	typ      string
	loc      orb.Geometry
	lastSeen time.Time
	vals     []sentVal
}

type sentVal struct {
	name string
	v    twin.Value
}

// sameValue reports whether clients hold v as w.
func sameValue(v, w twin.Value) bool {
	return v.Kind == w.Kind && v.Unit == w.Unit && v.Time.Equal(w.Time) &&
		(v.Num == w.Num || v.Num != v.Num && w.Num != w.Num) && v.Bool == w.Bool && v.Str == w.Str
}

type featBound struct {
	id    string
	bound stream.Bound
}

// Feed is the stream.Source of the live twin: sensors by domain, the city's
// features with their indicators, and alerts. Publish and PublishAlerts
// record what changed (never blocking: O(batch) map inserts under a mutex
// that Changes holds only to swap maps); Changes, at each flush, reads the
// State once per changed sensor and recomputes the indicators of the
// features those sensors are linked to, once per feature (at most once per
// Config.FeatureInterval).
type Feed struct {
	cfg    Config
	state  *twin.State
	city   *geo.City
	alerts *twin.Alerts
	layers []stream.Layer
	// bounds and featList are the city's feature bounds, immutable.
	bounds   map[featKey]stream.Bound
	featList map[geo.Kind][]featBound

	mu          sync.Mutex
	dirty       map[sensorKey]struct{}
	resync      bool
	alertQ      map[string]twin.Alert
	spare       map[sensorKey]struct{}
	spareAlerts map[string]twin.Alert
	// Snapshots in progress, and whether one ran since the last (mark) and
	// the previous (markPrev) call of Changes: see Changes.
	snapshots      int
	mark, markPrev bool

	// Owned by Changes.
	sent      map[sensorKey]sent
	touched   map[featKey]struct{}
	lastSweep time.Time
	lastFeat  time.Time // when touched features were last sent
	names     []string
	changed   []string
	bufSize   int

	coalesced     prometheus.Counter
	resyncs       prometheus.Counter
	alertsDropped prometheus.Counter
}

// New returns a feed of state, city (may be nil: no feature layers' items
// beyond the features sensors are linked to) and alerts (may be nil: no
// alert snapshot). Metrics are registered with reg (nil: not registered).
func New(cfg Config, state *twin.State, city *geo.City, alerts *twin.Alerts, reg prometheus.Registerer) (*Feed, error) {
	if state == nil {
		return nil, errors.New("twinfeed: nil State")
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 100000
	}
	if cfg.MaxPendingAlerts == 0 {
		cfg.MaxPendingAlerts = 10000
	}
	if cfg.StaleSweep == 0 {
		cfg.StaleSweep = 10 * time.Second
	}
	if cfg.MaxPending < 0 || cfg.MaxPendingAlerts < 0 {
		return nil, errors.New("twinfeed: MaxPending and MaxPendingAlerts must not be negative")
	}
	f := &Feed{cfg: cfg, state: state, city: city, alerts: alerts,
		bounds: map[featKey]stream.Bound{}, featList: map[geo.Kind][]featBound{},
		dirty: map[sensorKey]struct{}{}, spare: map[sensorKey]struct{}{},
		alertQ: map[string]twin.Alert{}, spareAlerts: map[string]twin.Alert{},
		sent: map[sensorKey]sent{}, touched: map[featKey]struct{}{},
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_updates_coalesced_total",
			Help: "Observations merged into a sensor update already pending for the next flush."}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_resyncs_total",
			Help: "Flushes that sent every sensor and feature because more than MaxPending sensors changed."}),
		alertsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_stream_alert_updates_dropped_total",
			Help: "Alert changes not streamed because MaxPendingAlerts were pending."}),
	}
	if reg != nil {
		reg.MustRegister(f.coalesced, f.resyncs, f.alertsDropped)
	}
	for _, d := range SensorLayers {
		f.layers = append(f.layers, stream.Layer{Name: string(d), Section: stream.SectionSensors, Merge: []string{"values"}})
	}
	for _, k := range geo.Kinds {
		f.layers = append(f.layers, stream.Layer{Name: string(k), Section: stream.SectionFeatures})
		if city == nil {
			continue
		}
		for _, ft := range city.Features(k) {
			b := boundOf(ft.Geometry)
			f.bounds[featKey{k, ft.ID}] = b
			f.featList[k] = append(f.featList[k], featBound{ft.ID, b})
		}
	}
	f.layers = append(f.layers, stream.Layer{Name: LayerAlerts, Section: stream.SectionAlerts})
	return f, nil
}

func boundOf(g orb.Geometry) stream.Bound {
	b := g.Bound()
	return stream.Bound{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
}

// Layers returns the sensor layers (noise, air, traffic, irrigation,
// generic), the feature layers (district, neighbourhood, road, greenarea,
// irrigationzone) and alerts.
func (f *Feed) Layers() []stream.Layer { return f.layers }

// Publish records that the sensors of obs changed. Call it after
// State.Apply(obs), from the pipeline's Observe hook: it never blocks on
// clients and does O(len(obs)) work.
func (f *Feed) Publish(obs []twin.Observation) {
	merged := 0
	f.mu.Lock()
	for i := range obs {
		o := &obs[i]
		k := sensorKey{o.Tenant, o.EntityID}
		if _, ok := f.dirty[k]; ok {
			merged++
			continue
		}
		if f.resync {
			continue
		}
		if len(f.dirty) >= f.cfg.MaxPending {
			f.resync = true
			continue
		}
		f.dirty[k] = struct{}{}
	}
	f.mu.Unlock()
	if merged > 0 {
		f.coalesced.Add(float64(merged))
	}
}

// PublishAlerts records alert changes (opened, changed, closed) as Alerts.
// Apply and Alerts.Tick return them. It never blocks on clients.
func (f *Feed) PublishAlerts(alerts []twin.Alert) {
	dropped := 0
	f.mu.Lock()
	for _, a := range alerts {
		if _, ok := f.alertQ[a.ID]; !ok && len(f.alertQ) >= f.cfg.MaxPendingAlerts {
			dropped++
			continue
		}
		f.alertQ[a.ID] = a
	}
	f.mu.Unlock()
	if dropped > 0 {
		f.alertsDropped.Add(float64(dropped))
	}
}

// layerOf returns the sensor layer of a domain.
func layerOf(d twin.Domain) string {
	switch d {
	case twin.DomainNoise, twin.DomainAir, twin.DomainTraffic, twin.DomainIrrigation:
		return string(d)
	}
	return string(twin.DomainGeneric)
}

// span is an item whose JSON is buf[start:end] of the encoding arena.
type span struct{ start, end int }

// Discard implements stream.Discarder: it forgets the pending changes and
// what clients were sent, so that every sensor's next item is complete.
func (f *Feed) Discard(now time.Time) {
	f.mu.Lock()
	clear(f.dirty)
	clear(f.alertQ)
	f.resync = false
	f.markPrev, f.mark = f.mark, f.snapshots > 0
	f.mu.Unlock()
	clear(f.sent)
	clear(f.touched)
}

// Changes implements stream.Source: the changed sensors, the features
// linked to them (old links too, when a sensor moved) with recomputed
// indicators, the sensors whose staleness changed (every StaleSweep), and
// the alert changes.
func (f *Feed) Changes(dst []stream.Item, now time.Time) []stream.Item {
	f.mu.Lock()
	dirty, resync, alerts := f.dirty, f.resync, f.alertQ
	f.dirty, f.alertQ, f.resync = f.spare, f.spareAlerts, false
	// A snapshot reads the State between two calls, ahead of what the
	// deltas sent so far: a change that a snapshot saw and that a later
	// change of the same flush undid (a sensor moved and back, a value
	// replaced at the same observation time and back) would not differ
	// from sent, and its client would keep the snapshot's state. So while
	// a snapshot may have read changes not collected yet, sensor items are
	// complete: in the call after one started and the next one.
	full := f.cfg.FullDeltas || f.mark || f.markPrev
	f.markPrev, f.mark = f.mark, f.snapshots > 0
	f.mu.Unlock()
	defer func() {
		clear(dirty)
		clear(alerts)
		f.spare, f.spareAlerts = dirty, alerts
	}()

	base := len(dst)
	buf := make([]byte, 0, f.bufSize)
	var spans []span
	add := func(it stream.Item, start int) {
		dst = append(dst, it)
		spans = append(spans, span{start, len(buf)})
	}
	sensor := func(s *twin.Sensor) {
		k := sensorKey{s.Tenant, s.ID}
		stale := f.state.Stale(now, *s)
		prev, known := f.sent[k]
		if known && prev.links != s.Links {
			f.touch(&prev.links)
		}
		f.touch(&s.Links)
		it := stream.Item{Layer: layerOf(s.Domain), Tenant: s.Tenant, Key: s.ID}
		if s.Location != nil {
			it.Located, it.Bound = true, boundOf(s.Location)
		}
		// What clients hold now: s, merged over prev.
		next := sent{links: s.Links, stale: stale, typ: s.Type, loc: s.Location, lastSeen: s.LastSeen, vals: prev.vals[:0]}
		start := len(buf)
		if full || !known || prev.typ != s.Type || !sameLocation(prev.loc, s.Location) {
			buf, f.names = appendSensor(buf, s, stale, f.names)
			for _, n := range f.names {
				next.vals = append(next.vals, sentVal{n, s.Values[n]})
			}
			f.sent[k] = next
			add(it, start)
			return
		}
		// A partial item: the values that differ from what clients hold.
		f.changed = f.changed[:0]
		var newest time.Time
		for n, v := range s.Values {
			if v.Time.After(newest) {
				newest = v.Time
			}
			if i := findVal(prev.vals, n); i < 0 || !sameValue(prev.vals[i].v, v) {
				f.changed = append(f.changed, n)
			}
		}
		slices.Sort(f.changed)
		// The client takes lastSeen from the newest observedAt it received,
		// unless the item carries it.
		withLastSeen := !s.LastSeen.Equal(prev.lastSeen) && !s.LastSeen.Equal(newest)
		withLinks := prev.links != s.Links
		for _, v := range prev.vals {
			if i := slices.Index(f.changed, v.name); i < 0 {
				if _, ok := s.Values[v.name]; ok {
					next.vals = append(next.vals, v)
				}
			}
		}
		for _, n := range f.changed {
			next.vals = append(next.vals, sentVal{n, s.Values[n]})
		}
		f.sent[k] = next
		if len(f.changed) == 0 && stale == prev.stale && !withLastSeen && !withLinks {
			return // nothing clients do not hold
		}
		it.Partial = true
		buf = appendSensorPatch(buf, s, stale, f.changed, withLastSeen, withLinks)
		add(it, start)
	}

	if resync {
		f.resyncs.Inc()
		var all []twin.Sensor
		f.state.Sensors(func(s twin.Sensor) bool {
			all = append(all, s)
			return true
		})
		for i := range all {
			sensor(&all[i])
		}
		for _, k := range geo.Kinds {
			for id := range f.state.AllIndicators(k, now) {
				f.touched[featKey{k, id}] = struct{}{}
			}
		}
	} else {
		for k := range dirty {
			if s, ok := f.state.Sensor(k.tenant, k.id); ok {
				sensor(&s)
			}
		}
	}
	if f.cfg.StaleSweep > 0 && now.Sub(f.lastSweep) >= f.cfg.StaleSweep {
		f.lastSweep = now
		var changed []sensorKey
		f.state.Staleness(now, func(tenant, id string, stale bool) bool {
			k := sensorKey{tenant, id}
			if _, ok := dirty[k]; ok && !resync {
				return true
			}
			if stale != f.sent[k].stale {
				changed = append(changed, k)
			}
			return true
		})
		for _, k := range changed {
			if s, ok := f.state.Sensor(k.tenant, k.id); ok {
				sensor(&s)
			}
		}
	}
	if resync || now.Sub(f.lastFeat) >= f.cfg.FeatureInterval {
		if len(f.touched) > 0 {
			f.lastFeat = now
		}
		for k := range f.touched {
			in := f.state.Indicators(k.kind, k.id, now)
			it := stream.Item{Layer: string(k.kind), Key: k.id}
			it.Bound, it.Located = f.bounds[k]
			start := len(buf)
			buf = appendFeature(buf, k.kind, k.id, &in)
			add(it, start)
		}
		clear(f.touched)
	}
	for _, a := range alerts {
		body, err := json.Marshal(a)
		if err != nil {
			continue
		}
		it := stream.Item{Layer: LayerAlerts, Tenant: a.Tenant, Key: a.ID}
		it.Bound, it.Located = f.alertBound(&a)
		start := len(buf)
		buf = append(buf, body...)
		add(it, start)
	}
	for i, s := range spans {
		dst[base+i].JSON = buf[s.start:s.end:s.end]
	}
	f.bufSize = max(f.bufSize*3/4, len(buf))
	return dst
}

func findVal(vals []sentVal, name string) int {
	for i := range vals {
		if vals[i].name == name {
			return i
		}
	}
	return -1
}

// sameLocation reports whether two locations are equal (both nil: never
// located).
func sameLocation(a, b orb.Geometry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return orb.Equal(a, b)
}

// touch marks the features of a sensor's links for recomputation. A sensor
// linked to an irrigation zone only counts for the zone's green area too.
func (f *Feed) touch(l *geo.Links) {
	mark := func(k geo.Kind, id string) {
		if id != "" {
			f.touched[featKey{k, id}] = struct{}{}
		}
	}
	mark(geo.KindDistrict, l.District)
	mark(geo.KindNeighbourhood, l.Neighbourhood)
	mark(geo.KindRoad, l.Road)
	mark(geo.KindGreenArea, l.GreenArea)
	mark(geo.KindIrrigationZone, l.IrrigationZone)
	if l.GreenArea == "" && l.IrrigationZone != "" && f.city != nil {
		if z, ok := f.city.Feature(geo.KindIrrigationZone, l.IrrigationZone); ok {
			mark(geo.KindGreenArea, z.Parent)
		}
	}
}

// alertBound is the bound of the alert's feature, or of its sensor for an
// alert grouped by sensor.
func (f *Feed) alertBound(a *twin.Alert) (stream.Bound, bool) {
	if a.FeatureKind == twin.ScopeSensor {
		if s, ok := f.state.Sensor(a.Tenant, a.FeatureID); ok && s.Location != nil {
			return boundOf(s.Location), true
		}
		return stream.Bound{}, false
	}
	b, ok := f.bounds[featKey{a.FeatureKind, a.FeatureID}]
	return b, ok
}

// Snapshot implements stream.Source.
func (f *Feed) Snapshot(q stream.Query, emit func(stream.Item)) {
	f.mu.Lock()
	f.snapshots++
	f.mark = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.snapshots--
		f.mu.Unlock()
	}()
	want := make(map[string]bool, len(q.Layers))
	for _, l := range q.Layers {
		want[l] = true
	}
	var buf []byte
	// Sensors: copied under the state's read lock, encoded after it.
	var sensors []twin.Sensor
	anySensor := false
	for _, d := range SensorLayers {
		anySensor = anySensor || want[string(d)]
	}
	if anySensor {
		filter := twin.Filter{Tenant: q.Tenant}
		if q.BBox != nil {
			b := orb.Bound{Min: orb.Point{q.BBox[0], q.BBox[1]}, Max: orb.Point{q.BBox[2], q.BBox[3]}}
			filter.Bound = &b
		}
		f.state.Query(filter, func(s twin.Sensor) bool {
			if want[layerOf(s.Domain)] {
				sensors = append(sensors, s)
			}
			return true
		})
	}
	var names []string
	for i := range sensors {
		s := &sensors[i]
		it := stream.Item{Layer: layerOf(s.Domain), Tenant: s.Tenant, Key: s.ID}
		if s.Location != nil {
			it.Located, it.Bound = true, boundOf(s.Location)
		}
		start := len(buf)
		buf, names = appendSensor(buf, s, f.state.Stale(q.Now, *s), names)
		it.JSON = buf[start:len(buf):len(buf)]
		emit(it)
	}
	for _, k := range geo.Kinds {
		if !want[string(k)] {
			continue
		}
		feature := func(id string, in *twin.Indicators) {
			it := stream.Item{Layer: string(k), Key: id}
			it.Bound, it.Located = f.bounds[featKey{k, id}]
			start := len(buf)
			buf = appendFeature(buf, k, id, in)
			it.JSON = buf[start:len(buf):len(buf)]
			emit(it)
		}
		if q.BBox == nil {
			for id, in := range f.state.AllIndicators(k, q.Now) {
				feature(id, &in)
			}
			continue
		}
		for _, fb := range f.featList[k] {
			if fb.bound.Meets(*q.BBox) {
				in := f.state.Indicators(k, fb.id, q.Now)
				feature(fb.id, &in)
			}
		}
	}
	if want[LayerAlerts] && f.alerts != nil {
		for _, a := range f.alerts.Active() {
			if a.Tenant != q.Tenant {
				continue
			}
			it := stream.Item{Layer: LayerAlerts, Tenant: a.Tenant, Key: a.ID}
			it.Bound, it.Located = f.alertBound(&a)
			if q.BBox != nil && (!it.Located || !it.Bound.Meets(*q.BBox)) {
				continue
			}
			body, err := json.Marshal(a)
			if err != nil {
				continue
			}
			it.JSON = body
			emit(it)
		}
	}
}
