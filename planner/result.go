package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin/air"
	"github.com/citytwin/citytwin/twin/noise"
)

// Result is a scenario's outcome: per feature before, after and delta, the
// totals, and the assumptions it rests on. Levels are dB(A), concentrations
// µg/m³, flows vehicles per hour, speeds km/h, depths mm, volumes m³.
type Result struct {
	ID          string            `json:"id,omitempty"`
	Name        string            `json:"name"`
	Author      string            `json:"author,omitempty"`
	Tenant      string            `json:"tenant"`
	Spec        Spec              `json:"spec"`
	RanAt       time.Time         `json:"ranAt"`
	Baseline    Span              `json:"baseline"`
	Assumptions []string          `json:"assumptions"`
	Timing      Timing            `json:"timing"`
	Traffic     *TrafficResult    `json:"traffic,omitempty"`
	Irrigation  *IrrigationResult `json:"irrigation,omitempty"`
}

// Span is a time range [Start, End).
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Timing says where a run spent its time: TotalMs end to end, InfluxMs
// waiting for and reading InfluxDB, Points the rollup values read.
type Timing struct {
	TotalMs  float64 `json:"totalMs"`
	InfluxMs float64 `json:"influxMs"`
	Points   int     `json:"points"`
	// Cached says the baseline was reused from a run within the last
	// CacheTTL instead of read again.
	Cached bool `json:"cached,omitempty"`
}

// TrafficResult is the noise and NO2 response to a traffic change.
type TrafficResult struct {
	Roads   []RoadResult   `json:"roads"`
	Sensors []SensorResult `json:"sensors"`
	Areas   []AreaResult   `json:"areas"`
	Totals  TrafficTotals  `json:"totals"`
	// Background is the NO2 background share used, and how it was found.
	Background air.Background `json:"background"`

	influx    time.Duration
	computeMs time.Duration
	points    int
	cached    bool
}

// TrafficTotals sums a traffic scenario.
type TrafficTotals struct {
	RoadsChanged    int     `json:"roadsChanged"`
	RoadsClosed     int     `json:"roadsClosed"`
	FlowBefore      float64 `json:"flowBefore"`
	FlowAfter       float64 `json:"flowAfter"`
	SensorsAffected int     `json:"sensorsAffected"`
	// MaxDecreaseDB and MaxIncreaseDB are the largest Lden changes among
	// noise sensors.
	MaxDecreaseDB float64 `json:"maxDecreaseDb"`
	MaxIncreaseDB float64 `json:"maxIncreaseDb"`
	// HoursAbove… sum the hours above limit over the noise sensors.
	HoursAboveBefore int `json:"hoursAboveBefore"`
	HoursAboveAfter  int `json:"hoursAboveAfter"`
}

// RoadResult is one road acted on (or receiving diverted traffic).
type RoadResult struct {
	ID           string  `json:"id"`
	Name         string  `json:"name,omitempty"`
	FlowBefore   float64 `json:"flowBefore"`
	FlowAfter    float64 `json:"flowAfter"`
	FlowRatio    float64 `json:"flowRatio"`
	SpeedBefore  float64 `json:"speedBefore"`
	SpeedAfter   float64 `json:"speedAfter"`
	MeasuredFlow bool    `json:"measuredFlow"`
	Closed       bool    `json:"closed,omitempty"`
	Diverted     bool    `json:"diverted,omitempty"`
	InArea       bool    `json:"inArea"`
	// DeltaDB is the change of the road's emission (CNOSSOS-EU); null for
	// a closed road (its emission is gone).
	DeltaDB *float64 `json:"deltaDb"`
	// NO2Delta is the NO2 change at the roadside, estimated from its
	// neighbourhood's mean concentration; null without air sensors there.
	NO2Delta *float64 `json:"no2Delta"`
}

// SensorResult is one noise or air sensor's before and after.
type SensorResult struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"` // noise or air
	Links geo.Links `json:"links"`
	// Location is where the sensor was, [lon, lat].
	Location *orb.Point `json:"location,omitempty"`
	// DeltaDB is the shift of the noise sensor's hourly levels;
	// ChangedShare the part of its reference energy from changed roads.
	DeltaDB      float64      `json:"deltaDb,omitempty"`
	ChangedShare float64      `json:"changedShare,omitempty"`
	Noise        NoiseFigures `json:"noise,omitzero"`
	// TrafficRatio is the traffic ratio around an air sensor.
	TrafficRatio float64    `json:"trafficRatio,omitempty"`
	NO2          NO2Figures `json:"no2,omitzero"`
}

// NoiseFigures are a receiver's noise indicators before and after.
type NoiseFigures struct {
	Hours            int      `json:"hours"`
	LdenBefore       *float64 `json:"ldenBefore"`
	LdenAfter        *float64 `json:"ldenAfter"`
	LdenDelta        *float64 `json:"ldenDelta"`
	LdayBefore       *float64 `json:"ldayBefore"`
	LdayAfter        *float64 `json:"ldayAfter"`
	LnightBefore     *float64 `json:"lnightBefore"`
	LnightAfter      *float64 `json:"lnightAfter"`
	HoursAboveBefore int      `json:"hoursAboveBefore"`
	HoursAboveAfter  int      `json:"hoursAboveAfter"`
}

// NO2Figures are a station's NO2 before and after.
type NO2Figures struct {
	MeanBefore  *float64     `json:"meanBefore"`
	MeanAfter   *float64     `json:"meanAfter"`
	Delta       *float64     `json:"delta"`
	Exceedances []Exceedance `json:"exceedances"`
}

// Exceedance counts the hours or days above one standard before and after.
type Exceedance struct {
	Standard  string  `json:"standard"`
	Averaging string  `json:"averaging"`
	Value     float64 `json:"value"`
	Before    int     `json:"before"`
	After     int     `json:"after"`
	Counted   int     `json:"counted"`
}

// AreaResult is a neighbourhood or district: the energetic mean of its
// noise sensors' hourly levels and the mean of its air sensors.
type AreaResult struct {
	Kind                 geo.Kind     `json:"kind"`
	ID                   string       `json:"id"`
	Name                 string       `json:"name,omitempty"`
	NoiseSensors         int          `json:"noiseSensors"`
	AffectedNoiseSensors int          `json:"affectedNoiseSensors"`
	Noise                NoiseFigures `json:"noise,omitzero"`
	AirSensors           int          `json:"airSensors"`
	NO2Before            *float64     `json:"no2Before"`
	NO2After             *float64     `json:"no2After"`
	NO2Delta             *float64     `json:"no2Delta"`
}

func (t *TrafficResult) summarise() {
	tt := &t.Totals
	for _, r := range t.Roads {
		if r.FlowRatio != 1 {
			tt.RoadsChanged++
		}
		if r.Closed {
			tt.RoadsClosed++
		}
		tt.FlowBefore += r.FlowBefore
		tt.FlowAfter += r.FlowAfter
	}
	tt.FlowBefore, tt.FlowAfter = round1(tt.FlowBefore), round1(tt.FlowAfter)
	for _, s := range t.Sensors {
		if s.Kind == "noise" && s.ChangedShare > 0 || s.Kind == "air" && s.TrafficRatio != 1 {
			tt.SensorsAffected++
		}
		if d := s.Noise.LdenDelta; d != nil {
			tt.MaxDecreaseDB = min(tt.MaxDecreaseDB, *d)
			tt.MaxIncreaseDB = max(tt.MaxIncreaseDB, *d)
		}
		tt.HoursAboveBefore += s.Noise.HoursAboveBefore
		tt.HoursAboveAfter += s.Noise.HoursAboveAfter
	}
}

// assumptions states what a result rests on, in words.
func (r *Result) assumptions() []string {
	var out []string
	out = append(out, fmt.Sprintf("Baseline: hourly rollups of %s … %s (UTC).",
		r.Baseline.Start.Format(time.RFC3339), r.Baseline.End.Format(time.RFC3339)))
	if t := r.Traffic; t != nil {
		ns := r.Spec.Noise
		out = append(out,
			"Road emission change by CNOSSOS-EU (Directive (EU) 2015/996 coefficients, no surface, gradient or temperature corrections) at each road's baseline flow and speed; a flow change alone gives ΔL = 10·lg(Q′/Q) whatever the mix.",
			"Baseline flow: traffic sensors linked to the road where present, else the road-class daily flow table of the dynamic noise map; speed: measured, else the speed limit, else 50 km/h; vehicle mix 95 % light, 5 % heavy.",
			"Noise at a sensor is road traffic noise of the modelled roads; each road's share is its contribution in the reference propagation model (point sources every 10 m, spherical spreading, air absorption 0.005 dB/m, 500 m cutoff, no screening).",
			fmt.Sprintf("Lden periods %s; hours above limit against DPCM 14/11/1997 class %s immission limits (%g/%g dB(A), day 06–22, night 22–06), counted on hourly LAeq as an indicator.",
				periodsLabel(ns.periodsName()), ns.limitClassName(), mustClass(ns.limitClassName()).ImmissionDay, mustClass(ns.limitClassName()).ImmissionNight),
			"Area levels: energetic mean of the area's noise sensors' hourly LAeq; area NO2: mean of its stations.",
			"NO2 = background + traffic increment; the increment scales with the traffic around the station (roads weighted by their contribution there): "+t.Background.String()+".",
			"Roadside NO2 change per road: its neighbourhood's mean NO2 with the road's own traffic ratio.")
	}
	if ir := r.Irrigation; ir != nil {
		out = append(out, ir.Assumptions...)
	}
	return out
}

func (n *NoiseSpec) periodsName() string {
	if n == nil || n.Periods == "" {
		return "eu"
	}
	return strings.ToLower(n.Periods)
}

func (n *NoiseSpec) limitClassName() string {
	if n == nil || n.LimitClass == "" {
		return "IV"
	}
	return strings.ToUpper(n.LimitClass)
}

func periodsOf(name string) (noise.Periods, error) {
	switch strings.ToLower(name) {
	case "", "eu":
		return noise.Periods{}, nil
	case "italy":
		return noise.Italy, nil
	}
	return noise.Periods{}, fieldErr("noise.periods", "must be eu or italy, got %q", name)
}

func periodsLabel(name string) string {
	if name == "italy" {
		return "Italy (day 06–20, evening 20–22, night 22–06)"
	}
	return "EU 2002/49/EC (day 07–19, evening 19–23, night 23–07)"
}

func limitClass(name string) (noise.DPCMClass, error) {
	if name == "" {
		name = "IV"
	}
	for _, c := range noise.DPCMClasses {
		if strings.EqualFold(c.Class, name) {
			return c, nil
		}
	}
	return noise.DPCMClass{}, fieldErr("noise.limitClass", "must be a DPCM 14/11/1997 class I, II, III, IV, V or VI, got %q", name)
}

func mustClass(name string) noise.DPCMClass {
	c, _ := limitClass(name)
	return c
}
