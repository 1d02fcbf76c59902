package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// Layers serves the city's cartography as GeoJSON with each feature's live
// indicators (see twin.Indicators for their definitions):
//
//	GET /api/v1/layers                 the layer kinds and their feature counts
//	GET /api/v1/layers/{kind}          a FeatureCollection of one layer
//	GET /api/v1/layers/{kind}/{id}     one Feature, with the sensors linked to it
type Layers struct {
	City  *geo.City
	State *twin.State
	// Now is the clock for staleness; default time.Now.
	Now func() time.Time
}

// Register adds the layer endpoints to s.
func (l *Layers) Register(s *Server) {
	s.Handle("GET /api/v1/layers", http.HandlerFunc(l.list))
	s.Handle("GET /api/v1/layers/{kind}", http.HandlerFunc(l.layer))
	s.Handle("GET /api/v1/layers/{kind}/{id}", http.HandlerFunc(l.feature))
}

func (l *Layers) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Layers) list(w http.ResponseWriter, _ *http.Request) {
	type layer struct {
		Kind     geo.Kind `json:"kind"`
		Features int      `json:"features"`
		URL      string   `json:"url"`
	}
	out := []layer{}
	for _, k := range geo.Kinds {
		out = append(out, layer{k, len(l.City.Features(k)), "/api/v1/layers/" + string(k)})
	}
	writeJSON(w, "application/json", out)
}

func (l *Layers) kind(w http.ResponseWriter, r *http.Request) (geo.Kind, bool) {
	k := geo.Kind(r.PathValue("kind"))
	if !slices.Contains(geo.Kinds, k) {
		problem(w, http.StatusNotFound, "unknown layer", "layer must be one of district, neighbourhood, road, greenarea, irrigationzone")
		return "", false
	}
	return k, true
}

func (l *Layers) layer(w http.ResponseWriter, r *http.Request) {
	k, ok := l.kind(w, r)
	if !ok {
		return
	}
	now := l.now()
	all := l.State.AllIndicators(k, now)
	fc := geojson.NewFeatureCollection()
	for _, f := range l.City.Features(k) {
		fc.Append(l.geoFeature(f, all[f.ID]))
	}
	writeJSON(w, "application/geo+json", fc)
}

func (l *Layers) feature(w http.ResponseWriter, r *http.Request) {
	k, ok := l.kind(w, r)
	if !ok {
		return
	}
	f, ok := l.City.Feature(k, r.PathValue("id"))
	if !ok {
		problem(w, http.StatusNotFound, "unknown feature", "no "+string(k)+" with id "+r.PathValue("id"))
		return
	}
	now := l.now()
	gf := l.geoFeature(f, l.State.Indicators(k, f.ID, now))
	type sensor struct {
		Tenant   string               `json:"tenant"`
		ID       string               `json:"id"`
		Type     string               `json:"type"`
		Domain   twin.Domain          `json:"domain"`
		LastSeen time.Time            `json:"last_seen"`
		Stale    bool                 `json:"stale"`
		Values   map[string]jsonValue `json:"values"`
	}
	sensors := []sensor{}
	l.State.Sensors(func(s twin.Sensor) bool {
		if !linkedTo(s.Links, k, f.ID) {
			return true
		}
		vals := make(map[string]jsonValue, len(s.Values))
		for name, v := range s.Values {
			vals[name] = valueJSON(v)
		}
		sensors = append(sensors, sensor{s.Tenant, s.ID, s.Type, s.Domain, s.LastSeen, l.State.Stale(now, s), vals})
		return true
	})
	gf.Properties["sensors"] = sensors
	writeJSON(w, "application/geo+json", gf)
}

func linkedTo(ln geo.Links, k geo.Kind, id string) bool {
	switch k {
	case geo.KindDistrict:
		return ln.District == id
	case geo.KindNeighbourhood:
		return ln.Neighbourhood == id
	case geo.KindRoad:
		return ln.Road == id
	case geo.KindGreenArea:
		return ln.GreenArea == id
	case geo.KindIrrigationZone:
		return ln.IrrigationZone == id
	}
	return false
}

// indicatorsJSON is the wire form of twin.Indicators: absent values are
// omitted rather than null.
type indicatorsJSON struct {
	Sensors        int      `json:"sensors"`
	StaleSensors   int      `json:"stale_sensors"`
	LAeq           *float64 `json:"laeq,omitempty"`
	NoiseSensors   int      `json:"noise_sensors,omitempty"`
	AQIBand        string   `json:"aqi_band,omitempty"`
	AQIPollutant   string   `json:"aqi_pollutant,omitempty"`
	PM25           *float64 `json:"pm25,omitempty"`
	PM10           *float64 `json:"pm10,omitempty"`
	NO2            *float64 `json:"no2,omitempty"`
	O3             *float64 `json:"o3,omitempty"`
	Congestion     *float64 `json:"congestion,omitempty"`
	Flow           *float64 `json:"flow,omitempty"`
	Speed          *float64 `json:"speed,omitempty"`
	SoilMoisture   *float64 `json:"soil_moisture,omitempty"`
	WaterDeficitMM *float64 `json:"water_deficit_mm,omitempty"`
	NeedsWater     *bool    `json:"needs_water,omitempty"`
}

func (l *Layers) geoFeature(f *geo.Feature, in twin.Indicators) *geojson.Feature {
	gf := geojson.NewFeature(f.Geometry)
	gf.ID = f.ID
	gf.Properties["id"] = f.ID
	gf.Properties["kind"] = f.Kind
	gf.Properties["name"] = f.Name
	if f.Parent != "" {
		gf.Properties["parent"] = f.Parent
	}
	if f.Kind == geo.KindRoad {
		gf.Properties["road_class"] = f.RoadClass
		gf.Properties["lanes"] = f.Lanes
		gf.Properties["speed_limit"] = f.SpeedLimit
	}
	gf.Properties["indicators"] = indicatorsJSON{
		Sensors: in.Sensors, StaleSensors: in.StaleSensors, LAeq: in.LAeq, NoiseSensors: in.NoiseSensors,
		AQIBand: in.AQIBand, AQIPollutant: in.AQIPollutant, PM25: in.PM25, PM10: in.PM10, NO2: in.NO2, O3: in.O3,
		Congestion: in.Congestion, Flow: in.Flow, Speed: in.Speed, SoilMoisture: in.SoilMoisture,
		WaterDeficitMM: in.WaterDeficitMM, NeedsWater: in.NeedsWater,
	}
	return gf
}

type jsonValue struct {
	Value any       `json:"value"`
	Unit  string    `json:"unit,omitempty"`
	Time  time.Time `json:"observed_at"`
}

func valueJSON(v twin.Value) jsonValue {
	out := jsonValue{Unit: v.Unit, Time: v.Time}
	switch v.Kind {
	case twin.KindNumber:
		out.Value = v.Num
	case twin.KindBool:
		out.Value = v.Bool
	default:
		out.Value = v.Str
	}
	return out
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	_ = json.NewEncoder(w).Encode(v)
}

// problem answers an RFC 9457 problem details body.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
