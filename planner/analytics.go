package planner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/air"
	"github.com/citytwin/citytwin/twin/noise"
)

// Analysis domains.
const (
	DomainNoise      = "noise"
	DomainAir        = "air"
	DomainTraffic    = "traffic"
	DomainIrrigation = "irrigation"
)

// GroupBy values of an analysis.
const (
	BySensor        = "sensor"
	ByNeighbourhood = "neighbourhood"
	ByDistrict      = "district"
	ByRoad          = "road"
	ByGreenArea     = "greenarea"
)

// CongestionThreshold is the hourly congestion index above which an hour
// counts as congested.
const CongestionThreshold = 0.5

// Query asks for history analytics.
type Query struct {
	Domain  string
	Tenant  string
	Window  Window
	GroupBy string
	// Noise: Lden periods (eu, italy) and the DPCM class of the limits.
	Periods, LimitClass string
	// RefillVWC is the soil moisture refill threshold; default 0.20 as
	// the live twin's (twin.StateConfig.RefillVWC).
	RefillVWC float64
}

// Analysis is the answer: a row per group.
type Analysis struct {
	Domain  string        `json:"domain"`
	Tenant  string        `json:"tenant"`
	GroupBy string        `json:"groupBy"`
	Window  Span          `json:"window"`
	Notes   []string      `json:"notes"`
	Rows    []AnalysisRow `json:"rows"`
	Timing  Timing        `json:"timing"`
}

// AnalysisRow is one group (a sensor or a feature) and its metrics; names
// and units are in Analysis.Notes and the README.
type AnalysisRow struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Sensors int    `json:"sensors"`
	// Location is a sensor row's location [lon, lat].
	Location *orb.Point     `json:"location,omitempty"`
	Hours    int            `json:"hours"`
	Metrics  map[string]any `json:"metrics"`
}

var domainTypes = map[string]struct {
	types, fields []string
}{
	DomainNoise:      {[]string{typeNoise}, []string{fieldLAeq}},
	DomainAir:        {[]string{typeAir}, []string{"pm10", "pm25", "no2", "o3"}},
	DomainTraffic:    {[]string{typeTraffic}, []string{fieldFlow, fieldSpeed, "occupancy"}},
	DomainIrrigation: {[]string{typeSoil, "AgriParcelRecord"}, []string{"soilMoistureVwc", "soilMoistureVwc_min"}},
}

// Analyze runs a history analysis over the hourly rollups.
func (p *Planner) Analyze(ctx context.Context, q Query) (*Analysis, error) {
	began := time.Now()
	dt, ok := domainTypes[q.Domain]
	if !ok {
		return nil, fieldErr("domain", "must be noise, air, traffic or irrigation, got %q", q.Domain)
	}
	if q.GroupBy == "" {
		q.GroupBy = BySensor
		if q.Domain == DomainIrrigation {
			q.GroupBy = ByGreenArea
		}
	}
	if !slices.Contains([]string{BySensor, ByNeighbourhood, ByDistrict, ByRoad, ByGreenArea}, q.GroupBy) {
		return nil, fieldErr("groupBy", "must be sensor, neighbourhood, district, road or greenarea, got %q", q.GroupBy)
	}
	if q.Tenant == "" {
		q.Tenant = twin.DefaultTenant
	}
	if q.RefillVWC == 0 {
		q.RefillVWC = 0.20
	}
	if !(q.RefillVWC > 0 && q.RefillVWC < 1) {
		return nil, fieldErr("refillVwc", "must be within 0..1, got %g", q.RefillVWC)
	}
	periods, err := periodsOf(q.Periods)
	if err != nil {
		return nil, &SpecError{Field: "periods", Rule: err.(*SpecError).Rule}
	}
	class, err := limitClass(q.LimitClass)
	if err != nil {
		return nil, &SpecError{Field: "limitClass", Rule: err.(*SpecError).Rule}
	}
	start, end, err := q.Window.Resolve(p.cfg.Now())
	if err != nil {
		return nil, err
	}
	b, err := p.baseline(ctx, q.Tenant, start, end, dt.types, dt.fields)
	if err != nil {
		return nil, fmt.Errorf("planner: read the history: %w", err)
	}
	an := &Analysis{Domain: q.Domain, Tenant: q.Tenant, GroupBy: q.GroupBy, Window: Span{start.UTC(), end.UTC()}, Rows: []AnalysisRow{}}

	// Groups: id → sensors.
	groups := map[string][]*sensorHist{}
	for _, id := range sortedKeys(b.Sensors) {
		s := b.Sensors[id]
		var g string
		switch q.GroupBy {
		case BySensor:
			g = id
		case ByNeighbourhood:
			g = s.Links.Neighbourhood
		case ByDistrict:
			g = s.Links.District
		case ByRoad:
			g = s.Links.Road
		case ByGreenArea:
			g = s.Links.GreenArea
		}
		if g != "" {
			groups[g] = append(groups[g], s)
		}
	}
	hrs := hours(start, end)
	for _, g := range sortedKeys(groups) {
		ss := groups[g]
		row := AnalysisRow{Kind: q.GroupBy, ID: g, Sensors: len(ss), Metrics: map[string]any{}}
		if q.GroupBy != BySensor {
			row.Name = p.featureName(geo.Kind(q.GroupBy), g)
		} else if pt, ok := p.pointOf(q.Tenant, ss[0]); ok {
			row.Location = &pt
		}
		switch q.Domain {
		case DomainNoise:
			var hs []noise.Hour
			for _, h := range hrs {
				var e, n float64
				for _, s := range ss {
					if v, ok := s.Fields[fieldLAeq][h]; ok {
						e, n = e+noise.Energy(v), n+1
					}
				}
				if n > 0 {
					hs = append(hs, noise.Hour{Start: time.Unix(h, 0).UTC(), LAeq: noise.Level(e / n)})
				}
			}
			row.Hours = len(hs)
			if len(hs) == 0 {
				break
			}
			lv, err := periods.Compute(hs)
			if err != nil {
				return nil, err
			}
			ex, err := class.Limit().HoursAbove(hs)
			if err != nil {
				return nil, err
			}
			row.Metrics["Lday"], row.Metrics["Levening"], row.Metrics["Lnight"], row.Metrics["Lden"] =
				roundp(lv.Day.Level), roundp(lv.Evening.Level), roundp(lv.Night.Level), roundp(lv.Lden)
			row.Metrics["dayHours"], row.Metrics["eveningHours"], row.Metrics["nightHours"] = lv.Day.Hours, lv.Evening.Hours, lv.Night.Hours
			row.Metrics["hoursAboveDay"], row.Metrics["hoursAboveNight"] = ex.DayAbove, ex.NightAbove
			row.Metrics["hoursAbove"] = ex.DayAbove + ex.NightAbove
		case DomainAir:
			for _, pol := range dt.fields {
				var hs []air.Hour
				for _, h := range hrs {
					var sum, n float64
					for _, s := range ss {
						if v, ok := s.Fields[pol][h]; ok {
							sum, n = sum+v, n+1
						}
					}
					if n > 0 {
						hs = append(hs, air.Hour{Start: time.Unix(h, 0).UTC(), Value: sum / n})
					}
				}
				if len(hs) == 0 {
					continue
				}
				row.Hours = max(row.Hours, len(hs))
				var mean float64
				for _, h := range hs {
					mean += h.Value
				}
				row.Metrics[pol+"_mean"] = round2(mean / float64(len(hs)))
				var cfg air.Config
				daily, err := cfg.DailyMeans(hs)
				if err != nil {
					return nil, err
				}
				valid := 0
				for _, d := range daily {
					if d.Valid {
						valid++
					}
				}
				row.Metrics[pol+"_validDays"] = valid
				res, err := cfg.Assess(pol, air.Window{From: start, To: end}, hs, nil)
				if err != nil {
					return nil, err
				}
				for _, r := range res {
					if r.Standard.Averaging == air.Annual {
						continue
					}
					row.Metrics[r.Standard.ID] = r.Exceedances
				}
			}
		case DomainTraffic:
			var volume, speed, speedN float64
			var congested, counted int
			for _, h := range hrs {
				var q, sp, spN, occ, occN float64
				var free float64
				for _, s := range ss {
					if v, ok := s.Fields[fieldFlow][h]; ok {
						q += v
					}
					if v, ok := s.Fields[fieldSpeed][h]; ok {
						sp, spN = sp+v, spN+1
						free += p.freeFlow(s.Links.Road)
					}
					if v, ok := s.Fields["occupancy"][h]; ok {
						occ, occN = occ+v, occN+1
					}
				}
				volume += q
				if spN == 0 && occN == 0 {
					continue
				}
				counted++
				ci := 0.0
				if spN > 0 {
					speed, speedN = speed+sp, speedN+spN
					ci = math.Max(ci, clamp01(1-sp/free))
				}
				if occN > 0 {
					ci = math.Max(ci, clamp01(occ/occN))
				}
				if ci > CongestionThreshold {
					congested++
				}
			}
			row.Hours = counted
			row.Metrics["volume"] = math.Round(volume)
			if speedN > 0 {
				row.Metrics["meanSpeed"] = round1(speed / speedN)
			}
			row.Metrics["congestedHours"] = congested
		case DomainIrrigation:
			loc, _ := time.LoadLocation("Europe/Rome")
			days := map[string][2]float64{}
			for _, s := range ss {
				for h, v := range s.Fields["soilMoistureVwc"] {
					k := time.Unix(h, 0).In(loc).Format(time.DateOnly)
					d := days[k]
					days[k] = [2]float64{d[0] + v, d[1] + 1}
				}
			}
			keys := sortedKeys(days)
			var below int
			series := make([]map[string]any, 0, len(keys))
			for _, k := range keys {
				m := days[k][0] / days[k][1]
				if m <= q.RefillVWC {
					below++
				}
				series = append(series, map[string]any{"date": k, "soilMoistureVwc": round3(m)})
			}
			row.Hours = 0
			for _, s := range ss {
				row.Hours = max(row.Hours, len(s.Fields["soilMoistureVwc"]))
			}
			row.Metrics["days"] = len(keys)
			row.Metrics["daysBelowRefill"] = below
			row.Metrics["refillVwc"] = q.RefillVWC
			row.Metrics["daily"] = series
		}
		an.Rows = append(an.Rows, row)
	}
	an.Notes = analysisNotes(q, class)
	an.Timing = Timing{TotalMs: time.Since(began).Seconds() * 1000, InfluxMs: b.Influx.Seconds() * 1000, Points: b.Points}
	return an, nil
}

func (p *Planner) freeFlow(road string) float64 {
	if f, ok := p.city.Feature(geo.KindRoad, road); ok && f.SpeedLimit > 0 {
		return f.SpeedLimit
	}
	return twin.DefaultFreeFlowKmh
}

func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }

func analysisNotes(q Query, class noise.DPCMClass) []string {
	switch q.Domain {
	case DomainNoise:
		return []string{
			"Lday, Levening, Lnight, Lden: dB(A), energetic means of hourly LAeq over the window (" + periodsLabel(q.Periods) + "); a group's hourly level is the energetic mean of its sensors'.",
			fmt.Sprintf("hoursAbove: hours whose LAeq exceeds DPCM 14/11/1997 class %s immission limits (%g day 06–22 / %g night 22–06 dB(A)), an indicator on hourly values.", class.Class, class.ImmissionDay, class.ImmissionNight),
		}
	case DomainAir:
		return []string{"Means in µg/m³; a group's hourly value is the mean of its stations'. Standard ids (eu2008-…, eu2024-…, who2021-…) count the hours or valid days (≥ 18 hours) above the value in the window; allowed counts apply to calendar years."}
	case DomainTraffic:
		return []string{fmt.Sprintf("volume: vehicles counted in the window (Σ intensity); meanSpeed km/h; congestedHours: hours whose congestion index max(occupancy, 1 − speed/free-flow speed) exceeds %g.", CongestionThreshold)}
	}
	return []string{fmt.Sprintf("Daily mean soil moisture (m³/m³, Europe/Rome days) and days at or below the refill threshold %g.", q.RefillVWC)}
}

// AnalysisGeoJSON returns the rows of a feature-grouped analysis with the
// features' geometry (sensors at their location).
func (p *Planner) AnalysisGeoJSON(a *Analysis) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for _, r := range a.Rows {
		var f *geojson.Feature
		if a.GroupBy == BySensor {
			if r.Location == nil {
				continue
			}
			f = geojson.NewFeature(*r.Location)
		} else {
			ft, ok := p.city.Feature(geo.Kind(a.GroupBy), r.ID)
			if !ok {
				continue
			}
			f = geojson.NewFeature(ft.Geometry)
		}
		f.Properties = map[string]any{"layer": a.GroupBy, "id": r.ID, "name": r.Name, "sensors": r.Sensors, "hours": r.Hours}
		for k, v := range r.Metrics {
			if k != "daily" {
				f.Properties[k] = v
			}
		}
		fc.Append(f)
	}
	return fc
}
