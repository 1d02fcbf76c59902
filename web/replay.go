package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/twin"
)

// DefaultReplayWindow is how far before the replayed instant Replay looks
// for each sensor's newest value.
const DefaultReplayWindow = time.Hour

// ReplayHistory reads past values for Replay: the newest value of every
// field of every entity of tenant stored in [at − window, at], passed to fn
// in batches, each entity's observations together and in ascending time
// (as history.Store.Latest does for the present). history.Store implements
// it with one Flux query.
type ReplayHistory interface {
	LatestBefore(ctx context.Context, tenant string, at time.Time, window time.Duration, fn func([]twin.Observation) error) error
}

// Replay serves the map as it was at a past instant:
//
//	GET /api/v1/replay?at=2026-11-22T10:00:00Z[&window=1h][&tenant=milano]
//
// answers, in the item formats of the WebSocket protocol (package stream),
//
//	{"at":"…","window":"1h0m0s","tenant":"milano",
//	 "sensors":[{"id":…,"type":…,"domain":…,"lon":…,"lat":…,"stale":false,"lastSeen":…,"values":{…},"links":{…}}],
//	 "features":[{"kind":"neighbourhood","id":"nil-12","indicators":{…}}]}
//
// sensors: every sensor of the tenant with a value in [at − window, at],
// with the newest value of each attribute there; stale when its newest
// value is older at `at` than its usual interval allows (the live twin's
// rule, with the interval the live twin has learnt). features: the city's
// features with at least one such sensor, their indicators computed from
// the non-stale sensors as the live twin would have at `at`; staleSensorCount
// counts the stale sensors linked to the feature directly. Features not
// listed had no sensor. The tenant is the query's, else the NGSILD-Tenant
// or Fiware-Service header, else twin.DefaultTenant. window is a Go
// duration from 1m to 24h.
type Replay struct {
	City *geo.City
	// State is the live twin: sensors' usual intervals and units.
	State *twin.State
	// History reads the past values.
	History ReplayHistory
	// StateConfig is the live twin's configuration (refill thresholds,
	// staleness), so that replayed indicators mean the same.
	StateConfig twin.StateConfig
	// Window is the default look-back; default DefaultReplayWindow.
	Window time.Duration
	// MaxAge bounds how far back `at` may be; default 30 days (history's
	// BeforeRange).
	MaxAge time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Register adds GET /api/v1/replay to s.
func (rp *Replay) Register(s *Server) {
	s.Handle("GET /api/v1/replay", http.HandlerFunc(rp.replay))
}

// replaySensor is a sensor item of the stream protocol.
type replaySensor struct {
	ID       string                 `json:"id"`
	Type     string                 `json:"type"`
	Domain   twin.Domain            `json:"domain"`
	Lon      *float64               `json:"lon,omitempty"`
	Lat      *float64               `json:"lat,omitempty"`
	Geometry *replayLine            `json:"geometry,omitempty"`
	Stale    bool                   `json:"stale"`
	LastSeen time.Time              `json:"lastSeen"`
	Values   map[string]replayValue `json:"values"`
	Links    map[geo.Kind]string    `json:"links"`
}

type replayLine struct {
	Type        string       `json:"type"`
	Coordinates [][2]float64 `json:"coordinates"`
}

type replayValue struct {
	Value      any       `json:"value"`
	UnitCode   string    `json:"unitCode,omitempty"`
	ObservedAt time.Time `json:"observedAt"`
}

// replayFeature is a feature item of the stream protocol.
type replayFeature struct {
	Kind       geo.Kind         `json:"kind"`
	ID         string           `json:"id"`
	Indicators replayIndicators `json:"indicators"`
}

// replayIndicators names twin.Indicators as the stream protocol does (the
// attributes of the feature's NGSI-LD entity).
type replayIndicators struct {
	SensorCount      int      `json:"sensorCount"`
	StaleSensorCount int      `json:"staleSensorCount"`
	LAeq             *float64 `json:"LAeq,omitempty"`
	AQIBand          string   `json:"aqiBand,omitempty"`
	AQIPollutant     string   `json:"aqiPollutant,omitempty"`
	PM25             *float64 `json:"pm25,omitempty"`
	PM10             *float64 `json:"pm10,omitempty"`
	NO2              *float64 `json:"no2,omitempty"`
	O3               *float64 `json:"o3,omitempty"`
	Congestion       *float64 `json:"congestionIndex,omitempty"`
	Flow             *float64 `json:"intensity,omitempty"`
	Speed            *float64 `json:"averageVehicleSpeed,omitempty"`
	SoilMoisture     *float64 `json:"soilMoistureVwc,omitempty"`
	WaterDeficit     *float64 `json:"waterDeficit,omitempty"`
	NeedsWater       *bool    `json:"needsWater,omitempty"`
}

type replayAnswer struct {
	At       time.Time       `json:"at"`
	Window   string          `json:"window"`
	Tenant   string          `json:"tenant"`
	Sensors  []replaySensor  `json:"sensors"`
	Features []replayFeature `json:"features"`
}

// replayed is what Replay gathers about one sensor.
type replayed struct {
	obs    []twin.Observation
	newest time.Time
}

func (rp *Replay) replay(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	if rp.Now != nil {
		now = rp.Now()
	}
	at, err := time.Parse(time.RFC3339Nano, q.Get("at"))
	if err != nil {
		problem(w, http.StatusBadRequest, "bad at", "at must be an RFC 3339 time such as 2026-11-22T10:00:00Z")
		return
	}
	maxAge := cmp.Or(rp.MaxAge, history.BeforeRange)
	if at.After(now.Add(twin.MaxFutureSkew)) || at.Before(now.Add(-maxAge)) {
		problem(w, http.StatusBadRequest, "bad at", fmt.Sprintf("at must be within the last %s", maxAge))
		return
	}
	window := cmp.Or(rp.Window, DefaultReplayWindow)
	if v := q.Get("window"); v != "" {
		if window, err = time.ParseDuration(v); err != nil || window < time.Minute || window > 24*time.Hour {
			problem(w, http.StatusBadRequest, "bad window", "window must be a duration from 1m to 24h, such as 15m or 1h")
			return
		}
	}
	tenant := cmp.Or(q.Get("tenant"), r.Header.Get("NGSILD-Tenant"), r.Header.Get("Fiware-Service"), twin.DefaultTenant)
	at = at.UTC()

	sensors := map[string]*replayed{}
	err = rp.History.LatestBefore(r.Context(), tenant, at, window, func(obs []twin.Observation) error {
		for _, o := range obs {
			if o.Tenant != tenant || o.Time.After(at) {
				continue
			}
			s := sensors[o.EntityID]
			if s == nil {
				s = &replayed{}
				sensors[o.EntityID] = s
			}
			s.obs = append(s.obs, o)
			if o.Time.After(s.newest) {
				s.newest = o.Time
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		problem(w, http.StatusBadGateway, "history query failed", err.Error())
		return
	}

	// The replayed twin counts a sensor as fresh for the whole window; the
	// sensors stale at `at` by the live twin's rule are left out of it and
	// counted apart.
	cfg := rp.StateConfig
	cfg.MinStale = window + time.Minute
	past := twin.NewState(rp.City, cfg)
	staleBy := map[featKey]int{}
	ans := replayAnswer{At: at, Window: window.String(), Tenant: tenant, Sensors: []replaySensor{}, Features: []replayFeature{}}
	ids := make([]string, 0, len(sensors))
	for id := range sensors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := sensors[id]
		slices.SortStableFunc(s.obs, func(a, b twin.Observation) int { return a.Time.Compare(b.Time) })
		live, _ := rp.State.Sensor(tenant, id)
		stale := rp.State.Stale(at, twin.Sensor{LastSeen: s.newest, Interval: live.Interval})
		item := sensorItem(s.obs, live)
		item.Stale = stale
		ans.Sensors = append(ans.Sensors, item)
		if stale {
			for k, fid := range item.Links {
				staleBy[featKey{k, fid}]++
			}
			continue
		}
		for i := range s.obs {
			if s.obs[i].Period == 0 {
				// One reading per attribute: the period of a count is
				// the sensor's usual interval (Indicators.Flow).
				s.obs[i].Period = live.Interval
			}
		}
		past.Apply(s.obs)
	}
	for _, k := range geo.Kinds {
		all := past.AllIndicators(k, at)
		for key := range staleBy {
			if _, ok := all[key.id]; key.kind == k && !ok {
				all[key.id] = twin.Indicators{}
			}
		}
		fids := make([]string, 0, len(all))
		for id, in := range all {
			if in.Sensors > 0 || staleBy[featKey{k, id}] > 0 {
				fids = append(fids, id)
			}
		}
		slices.Sort(fids)
		for _, id := range fids {
			in := all[id]
			ans.Features = append(ans.Features, replayFeature{Kind: k, ID: id, Indicators: replayIndicators{
				SensorCount: in.Sensors, StaleSensorCount: staleBy[featKey{k, id}],
				LAeq: in.LAeq, AQIBand: in.AQIBand, AQIPollutant: in.AQIPollutant,
				PM25: in.PM25, PM10: in.PM10, NO2: in.NO2, O3: in.O3,
				Congestion: in.Congestion, Flow: in.Flow, Speed: in.Speed,
				SoilMoisture: in.SoilMoisture, WaterDeficit: in.WaterDeficitMM, NeedsWater: in.NeedsWater,
			}})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, "application/json", ans)
}

type featKey struct {
	kind geo.Kind
	id   string
}

// sensorItem merges a sensor's replayed observations (ascending time) into
// one item: the newest value of each attribute, the newest location and
// links, units from the live twin (InfluxDB does not store them).
func sensorItem(obs []twin.Observation, live twin.Sensor) replaySensor {
	last := obs[len(obs)-1]
	it := replaySensor{ID: last.EntityID, Type: last.EntityType, Domain: last.Domain,
		LastSeen: last.Time, Values: map[string]replayValue{}, Links: map[geo.Kind]string{}}
	var loc orb.Geometry
	ln := live.Links
	for _, o := range obs {
		if o.Location != nil {
			loc, ln = o.Location, o.Links
		}
		for _, a := range o.Attrs {
			v := replayValue{ObservedAt: o.Time, UnitCode: cmp.Or(a.Unit, live.Values[a.Name].Unit)}
			switch a.Kind {
			case twin.KindNumber:
				v.Value = a.Num
			case twin.KindBool:
				v.Value = a.Bool
			default:
				v.Value = a.Str
			}
			it.Values[a.Name] = v
		}
	}
	if loc == nil {
		loc = live.Location
	}
	switch g := loc.(type) {
	case orb.Point:
		it.Lon, it.Lat = &g[0], &g[1]
	case orb.LineString:
		line := &replayLine{Type: "LineString"}
		for _, p := range g {
			line.Coordinates = append(line.Coordinates, [2]float64{p[0], p[1]})
		}
		it.Geometry = line
	}
	for k, id := range map[geo.Kind]string{geo.KindDistrict: ln.District, geo.KindNeighbourhood: ln.Neighbourhood,
		geo.KindRoad: ln.Road, geo.KindGreenArea: ln.GreenArea, geo.KindIrrigationZone: ln.IrrigationZone} {
		if id != "" {
			it.Links[k] = id
		}
	}
	return it
}
