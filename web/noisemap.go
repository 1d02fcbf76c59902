package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
)

// DefaultNoiseMapInterval is how long NoiseMap serves a live map before it
// recomputes it. DYNAMAP updates every 5 min by day and every hour by night
// (domain.md §4); one short interval serves both, since an update costs
// about a millisecond.
const DefaultNoiseMapInterval = time.Minute

// noiseMapTenants bounds the live maps cached (one per tenant asked for).
const noiseMapTenants = 64

// SensorLevel is a noise sensor's LAeq for the noise map.
type SensorLevel struct {
	// Point is the sensor's location [lon, lat]; a line's bound centre.
	Point orb.Point
	// Road is the road segment the sensor is linked to, "" if none.
	Road string
	// LAeq in dB(A).
	LAeq float64
	// Time is the observation time of LAeq.
	Time time.Time
}

// LevelSource gives the noise sensors' levels of a tenant at a time, by
// sensor id. StateLevels reads the live twin, HistoryLevels the past.
type LevelSource interface {
	NoiseLevels(ctx context.Context, tenant string, at time.Time) (map[string]SensorLevel, error)
}

// StateLevels reads the live twin: every located noise sensor (domain
// noise) of the tenant with a numeric LAeq that is not stale at `at`.
type StateLevels struct {
	State *twin.State
}

// NoiseLevels implements LevelSource.
func (s StateLevels) NoiseLevels(_ context.Context, tenant string, at time.Time) (map[string]SensorLevel, error) {
	out := map[string]SensorLevel{}
	s.State.Query(twin.Filter{Tenant: tenant}, func(sn twin.Sensor) bool {
		v, ok := sn.Values["LAeq"]
		if sn.Domain != twin.DomainNoise || !ok || v.Kind != twin.KindNumber || sn.Location == nil || s.State.Stale(at, sn) {
			return true
		}
		out[sn.ID] = SensorLevel{Point: point(sn.Location), Road: sn.Links.Road, LAeq: v.Num, Time: v.Time}
		return true
	})
	return out, nil
}

// HistoryLevels reads past levels through ReplayHistory (history.Store): for
// each noise sensor of the tenant, its newest LAeq in [at − Window, at] with
// its newest location and road link there.
type HistoryLevels struct {
	History ReplayHistory
	// Window is the look-back; default DefaultReplayWindow.
	Window time.Duration
}

// NoiseLevels implements LevelSource.
func (h HistoryLevels) NoiseLevels(ctx context.Context, tenant string, at time.Time) (map[string]SensorLevel, error) {
	type seen struct {
		lvl                SensorLevel
		hasLevel, hasPoint bool
		locTime            time.Time
	}
	by := map[string]*seen{}
	err := h.History.LatestBefore(ctx, tenant, at, cmp.Or(h.Window, DefaultReplayWindow), func(obs []twin.Observation) error {
		for _, o := range obs {
			if o.Tenant != tenant || o.Domain != twin.DomainNoise || o.Time.After(at) {
				continue
			}
			s := by[o.EntityID]
			if s == nil {
				s = &seen{}
				by[o.EntityID] = s
			}
			if o.Location != nil && !o.Time.Before(s.locTime) {
				s.lvl.Point, s.lvl.Road, s.hasPoint, s.locTime = point(o.Location), o.Links.Road, true, o.Time
			}
			if a, ok := o.Attr("LAeq"); ok && a.Kind == twin.KindNumber && !o.Time.Before(s.lvl.Time) {
				s.lvl.LAeq, s.lvl.Time, s.hasLevel = a.Num, o.Time, true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read noise levels before %s: %w", at.Format(time.RFC3339), err)
	}
	out := make(map[string]SensorLevel, len(by))
	for id, s := range by {
		if s.hasLevel && s.hasPoint {
			out[id] = s.lvl
		}
	}
	return out, nil
}

// point is a location's representative point: itself, or its bound's centre.
func point(g orb.Geometry) orb.Point {
	if p, ok := g.(orb.Point); ok {
		return p
	}
	return g.Bound().Center()
}

// NoiseMap serves the dynamic noise map (package twin/dynamap):
//
//	GET /api/v1/noisemap[?tenant=milano][&format=geojson]        live
//	GET /api/v1/noisemap?at=2026-11-22T10:00:00Z[&format=geojson] as it was
//
// The default format is dynamap's compact grid JSON (Map.AppendJSON: bbox,
// nx, ny, levels row-major from the north-west corner, groups with their δ,
// the held-out error); format=geojson answers a FeatureCollection of the
// cells with a level (Map.AppendGeoJSON). The live map is computed from Live
// and kept for Interval per tenant; a request after that recomputes it.
// With at, the levels come from Past and the map is computed for the
// request. The tenant is the query's, else the NGSILD-Tenant or
// Fiware-Service header, else twin.DefaultTenant. Levels outside 0–200 dB(A)
// are left out. Errors are RFC 9457 problem details naming the parameter.
type NoiseMap struct {
	// Model is the city's noise model (built once, at start); required.
	Model *dynamap.Model
	// Live gives the current levels, e.g. StateLevels; required.
	Live LevelSource
	// Past gives past levels, e.g. HistoryLevels; nil: at= answers 501.
	Past LevelSource
	// Interval is how long a live map is served; default
	// DefaultNoiseMapInterval.
	Interval time.Duration
	// MaxAge bounds how far back at may be; default 30 days (history's
	// BeforeRange).
	MaxAge time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu      sync.Mutex
	live    map[string]*liveNoiseMap
	swapped *dynamap.Model // SetModel's, else Model
}

// SetModel replaces the noise model (e.g. rebuilt with measured flows) and
// drops the live maps computed with the former one.
func (nm *NoiseMap) SetModel(m *dynamap.Model) {
	if m == nil {
		return
	}
	nm.mu.Lock()
	defer nm.mu.Unlock()
	nm.swapped, nm.live = m, nil
}

// model returns the current model.
func (nm *NoiseMap) model() *dynamap.Model {
	nm.mu.Lock()
	defer nm.mu.Unlock()
	return nm.modelLocked()
}

func (nm *NoiseMap) modelLocked() *dynamap.Model {
	if nm.swapped != nil {
		return nm.swapped
	}
	return nm.Model
}

// liveNoiseMap is a tenant's cached live map and its calibration.
type liveNoiseMap struct {
	computed time.Time
	sensors  []dynamap.Sensor // sorted by id: the calibration's input
	cal      *dynamap.Calibration
	grid     []byte // encoded on first request
	geojson  []byte
	m        *dynamap.Map
}

// Register adds GET /api/v1/noisemap to s.
func (nm *NoiseMap) Register(s *Server) {
	s.Handle("GET /api/v1/noisemap", http.HandlerFunc(nm.serve))
}

func (nm *NoiseMap) now() time.Time {
	if nm.Now != nil {
		return nm.Now()
	}
	return time.Now()
}

func (nm *NoiseMap) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "geojson" {
		problem(w, http.StatusBadRequest, "bad format", "format must be json (the default) or geojson")
		return
	}
	tenant := cmp.Or(q.Get("tenant"), r.Header.Get("NGSILD-Tenant"), r.Header.Get("Fiware-Service"), twin.DefaultTenant)
	now := nm.now()
	if !q.Has("at") {
		nm.serveLive(w, r, tenant, format, now)
		return
	}
	at, err := time.Parse(time.RFC3339Nano, q.Get("at"))
	if err != nil {
		problem(w, http.StatusBadRequest, "bad at", "at must be an RFC 3339 time such as 2026-11-22T10:00:00Z")
		return
	}
	maxAge := cmp.Or(nm.MaxAge, history.BeforeRange)
	if at.After(now.Add(twin.MaxFutureSkew)) || at.Before(now.Add(-maxAge)) {
		problem(w, http.StatusBadRequest, "bad at", fmt.Sprintf("at must be within the last %s", maxAge))
		return
	}
	if nm.Past == nil {
		problem(w, http.StatusNotImplemented, "no history", "this server keeps no history: the noise map is live only (omit at)")
		return
	}
	at = at.UTC()
	levels, err := nm.Past.NoiseLevels(r.Context(), tenant, at)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		problem(w, http.StatusBadGateway, "noise levels unavailable", err.Error())
		return
	}
	sensors, lv := nm.inputs(levels)
	cal, err := nm.model().Calibrate(sensors)
	if err == nil {
		var m *dynamap.Map
		if m, err = cal.Update(lv, at); err == nil {
			w.Header().Set("Cache-Control", "no-store")
			writeMap(w, m, format, nil)
			return
		}
	}
	problem(w, http.StatusInternalServerError, "noise map failed", err.Error())
}

func (nm *NoiseMap) serveLive(w http.ResponseWriter, r *http.Request, tenant, format string, now time.Time) {
	body, left, status, err := nm.liveBody(r.Context(), tenant, format, now)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		title := "noise map failed"
		if status == http.StatusBadGateway {
			title = "noise levels unavailable"
		}
		problem(w, status, title, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(math.Ceil(left.Seconds()))))
	writeMap(w, nil, format, body)
}

// liveBody returns the tenant's live map in format, recomputing it when it
// is older than the interval, and how long it stays current. The lock is
// held while computing (about a millisecond), not while writing.
func (nm *NoiseMap) liveBody(ctx context.Context, tenant, format string, now time.Time) ([]byte, time.Duration, int, error) {
	interval := cmp.Or(nm.Interval, DefaultNoiseMapInterval)
	nm.mu.Lock()
	defer nm.mu.Unlock()
	e := nm.live[tenant]
	if e == nil || now.Sub(e.computed) >= interval || now.Before(e.computed) {
		levels, err := nm.Live.NoiseLevels(ctx, tenant, now)
		if err != nil {
			return nil, 0, http.StatusBadGateway, err
		}
		sensors, lv := nm.inputs(levels)
		ne := &liveNoiseMap{computed: now, sensors: sensors}
		if e != nil && slices.Equal(e.sensors, sensors) {
			ne.cal = e.cal // the same sensors at the same places
		} else if ne.cal, err = nm.modelLocked().Calibrate(sensors); err != nil {
			return nil, 0, http.StatusInternalServerError, err
		}
		if ne.m, err = ne.cal.Update(lv, now.UTC()); err != nil {
			return nil, 0, http.StatusInternalServerError, err
		}
		if nm.live == nil {
			nm.live = map[string]*liveNoiseMap{}
		}
		if _, ok := nm.live[tenant]; !ok && len(nm.live) >= noiseMapTenants {
			nm.evictOldest()
		}
		nm.live[tenant], e = ne, ne
	}
	left := e.computed.Add(interval).Sub(now)
	if format == "geojson" {
		if e.geojson == nil {
			e.geojson = e.m.AppendGeoJSON(nil)
		}
		return e.geojson, left, 0, nil
	}
	if e.grid == nil {
		e.grid = e.m.AppendJSON(nil)
	}
	return e.grid, left, 0, nil
}

func (nm *NoiseMap) evictOldest() {
	var oldest string
	var at time.Time
	for t, e := range nm.live {
		if oldest == "" || e.computed.Before(at) {
			oldest, at = t, e.computed
		}
	}
	delete(nm.live, oldest)
}

// inputs turns the sources' levels into the model's sensors (sorted by id)
// and levels, leaving out levels that are not finite or outside 0–200 dB(A)
// and sensors without a valid point.
func (nm *NoiseMap) inputs(levels map[string]SensorLevel) ([]dynamap.Sensor, map[string]float64) {
	sensors := make([]dynamap.Sensor, 0, len(levels))
	lv := make(map[string]float64, len(levels))
	for id, l := range levels {
		p := l.Point
		if id == "" || !(l.LAeq >= 0 && l.LAeq <= 200) || !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
			continue
		}
		sensors = append(sensors, dynamap.Sensor{ID: id, Point: p, Road: l.Road})
		lv[id] = l.LAeq
	}
	slices.SortFunc(sensors, func(a, b dynamap.Sensor) int { return cmp.Compare(a.ID, b.ID) })
	return sensors, lv
}

// writeMap writes a map in its format; body is its encoding when cached.
func writeMap(w http.ResponseWriter, m *dynamap.Map, format string, body []byte) {
	ct := "application/json"
	if format == "geojson" {
		ct = "application/geo+json"
	}
	if body == nil {
		if format == "geojson" {
			body = m.AppendGeoJSON(nil)
		} else {
			body = m.AppendJSON(nil)
		}
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
