package planner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	orbgeo "github.com/paulmach/orb/geo"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin/fao56"
)

// Entity types and rollup fields an irrigation scenario reads.
const (
	typeSoil    = "GreenspaceRecord"
	typeWeather = "WeatherObserved"
)

var irrigationFields = []string{
	"soilMoistureVwc",
	"temperature_max", "temperature_min",
	"relativeHumidity", "relativeHumidity_max", "relativeHumidity_min",
	"windSpeed", "solarRadiation", "precipitation_sum",
}

// DefaultHorizonDays is the irrigation horizon when the scenario sets none.
const DefaultHorizonDays = 7

// IrrigationResult is the water needs of the green areas under each
// policy.
type IrrigationResult struct {
	HorizonDays int      `json:"horizonDays"`
	Policies    []string `json:"policies"`
	// Totals is one entry per policy, in Policies' order.
	Totals     []PolicyTotals    `json:"totals"`
	GreenAreas []GreenAreaResult `json:"greenAreas"`
	// Weather is the horizon's weather, per day (the baseline replayed).
	Weather     []WeatherDay `json:"weather"`
	Assumptions []string     `json:"-"`

	influx time.Duration
	points int
}

// PolicyTotals sums one policy over every green area.
type PolicyTotals struct {
	Policy       string  `json:"policy"`
	VolumeM3     float64 `json:"volumeM3"`
	IrrigationMM float64 `json:"irrigationMm"` // area-weighted mean net depth
	Events       int     `json:"events"`
	StressDays   int     `json:"stressDays"`
}

// GreenAreaResult is one green area's plan under each policy.
type GreenAreaResult struct {
	ID     string  `json:"id"`
	Name   string  `json:"name,omitempty"`
	AreaM2 float64 `json:"areaM2"`
	// SoilSensors counts the soil moisture sensors linked to it;
	// InitialDepletionMM is the root-zone depletion at the start of the
	// horizon, Measured whether a measurement reset it in the baseline.
	SoilSensors        int     `json:"soilSensors"`
	InitialDepletionMM float64 `json:"initialDepletionMm"`
	Measured           bool    `json:"measured"`
	TAWMM              float64 `json:"tawMm"`
	RAWMM              float64 `json:"rawMm"`
	// P is the depletion fraction of RAW = p·TAW: the spec's, else the one
	// that puts the threshold policy's refill at the live twin's refill
	// point for the area (Planner.refillP).
	P       float64        `json:"p"`
	Results []PolicyResult `json:"results"`
}

// PolicyResult is one policy on one green area.
type PolicyResult struct {
	Policy       string          `json:"policy"`
	IrrigationMM float64         `json:"irrigationMm"`
	VolumeM3     float64         `json:"volumeM3"`
	Events       int             `json:"events"`
	StressDays   int             `json:"stressDays"`
	DrainageMM   float64         `json:"drainageMm"`
	Schedule     []ScheduleEntry `json:"schedule"`
}

// ScheduleEntry is one irrigation event.
type ScheduleEntry struct {
	Date     string  `json:"date"` // YYYY-MM-DD, local
	MM       float64 `json:"mm"`
	VolumeM3 float64 `json:"volumeM3"`
}

// WeatherDay is one day of the horizon's weather.
type WeatherDay struct {
	Date   string  `json:"date"`
	ET0MM  float64 `json:"et0Mm"`
	RainMM float64 `json:"rainMm"`
	Method string  `json:"method"`
}

// noIrrigation is the baseline: what happened is in the soil measurements.
type noIrrigation struct{}

func (noIrrigation) Name() string                      { return "none" }
func (noIrrigation) Irrigation(fao56.Decision) float64 { return 0 }

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func (ps PolicySpec) policy(field string) (fao56.Policy, error) {
	fixed := func() (fao56.Fixed, error) {
		f := fao56.Fixed{EveryDays: ps.EveryDays, DepthMM: ps.DepthMM}
		for i, w := range ps.Weekdays {
			d, ok := weekdays[strings.ToLower(w)[:min(3, len(w))]]
			if !ok {
				return f, fieldErr(fmt.Sprintf("%s.weekdays[%d]", field, i), "must be a weekday (mon … sun), got %q", w)
			}
			f.Weekdays = append(f.Weekdays, d)
		}
		if err := f.Validate(); err != nil {
			return f, fieldErr(field, "%v", err)
		}
		return f, nil
	}
	switch ps.Policy {
	case "threshold":
		if ps.EveryDays != 0 || len(ps.Weekdays) > 0 || ps.DepthMM != 0 {
			return nil, fieldErr(field, "threshold refills when the depletion reaches RAW: it takes no everyDays, weekdays or depthMm")
		}
		return fao56.Threshold{}, nil
	case "fixed":
		return fixed()
	case "rain-skip":
		f, err := fixed()
		if err != nil {
			return nil, err
		}
		return fao56.RainSkip{Schedule: f}, nil
	}
	return nil, fieldErr(field+".policy", "must be threshold, fixed or rain-skip, got %q", ps.Policy)
}

// DefaultPolicies are compared when a scenario names none.
var DefaultPolicies = []PolicySpec{
	{Policy: "threshold"},
	{Policy: "fixed", EveryDays: 2, DepthMM: 10},
	{Policy: "rain-skip", EveryDays: 2, DepthMM: 10},
}

func (p *Planner) runIrrigation(ctx context.Context, spec Spec, tenant string, ar *area, start, end time.Time) (*IrrigationResult, error) {
	is := spec.Irrigation
	horizon := is.HorizonDays
	if horizon == 0 {
		horizon = DefaultHorizonDays
	}
	pspecs := is.Policies
	if len(pspecs) == 0 {
		pspecs = DefaultPolicies
	}
	var policies []fao56.Policy
	for i, ps := range pspecs {
		pol, err := ps.policy(fmt.Sprintf("irrigation.policies[%d]", i))
		if err != nil {
			return nil, err
		}
		policies = append(policies, pol)
	}
	if len(ar.greenAreas) == 0 {
		return nil, fieldErr("area", "contains no green area: name greenAreas or choose areas that contain parks")
	}
	b, err := p.baseline(ctx, tenant, start, end, []string{typeSoil, typeWeather}, irrigationFields)
	if err != nil {
		return nil, fmt.Errorf("planner: read the baseline: %w", err)
	}
	loc, _ := time.LoadLocation("Europe/Rome")

	// Daily weather over the baseline, mean of the stations.
	type dayAcc struct {
		tmax, tmin, rhmax, rhmin float64
		rh, wind, rad, rain      [2]float64 // Σ, n
		radHours                 int
		hasT, hasRHx             bool
	}
	days := map[string]*dayAcc{}
	var order []string
	for _, s := range b.Sensors {
		if s.Type != typeWeather {
			continue
		}
		// Per station first, then the mean of stations: here simply pooled
		// hour by hour (stations report alike).
		for h, v := range s.Fields["temperature_max"] {
			d := dayOf(days, &order, h, loc)
			if !d.hasT || v > d.tmax {
				d.tmax = v
			}
			if tmin, ok := s.Fields["temperature_min"][h]; ok && (!d.hasT || tmin < d.tmin) {
				d.tmin = tmin
			}
			d.hasT = true
		}
		for h, v := range s.Fields["relativeHumidity_max"] {
			d := dayOf(days, &order, h, loc)
			if !d.hasRHx || v > d.rhmax {
				d.rhmax = v
			}
			if m, ok := s.Fields["relativeHumidity_min"][h]; ok && (!d.hasRHx || m < d.rhmin) {
				d.rhmin = m
			}
			d.hasRHx = true
		}
		for h, v := range s.Fields["relativeHumidity"] {
			d := dayOf(days, &order, h, loc)
			d.rh = [2]float64{d.rh[0] + v, d.rh[1] + 1}
		}
		for h, v := range s.Fields["windSpeed"] {
			d := dayOf(days, &order, h, loc)
			d.wind = [2]float64{d.wind[0] + v, d.wind[1] + 1}
		}
		for h, v := range s.Fields["solarRadiation"] {
			d := dayOf(days, &order, h, loc)
			d.rad = [2]float64{d.rad[0] + v, d.rad[1] + 1}
			d.radHours++
		}
		for h, v := range s.Fields["precipitation_sum"] {
			d := dayOf(days, &order, h, loc)
			d.rain = [2]float64{d.rain[0] + v, d.rain[1] + 1}
		}
	}
	stations := 0
	for _, s := range b.Sensors {
		if s.Type == typeWeather {
			stations++
		}
	}
	slices.Sort(order) // YYYY-MM-DD sorts by date
	// Whole local days only, and only days with temperatures.
	var weather []fao56.Weather
	for _, key := range order {
		d := days[key]
		date, _ := time.ParseInLocation(time.DateOnly, key, loc)
		if !d.hasT || date.Before(start.In(loc).Truncate(24*time.Hour)) {
			continue
		}
		w := fao56.Weather{Date: date, TMax: fao56.Some(d.tmax), TMin: fao56.Some(d.tmin)}
		if d.hasRHx {
			w.RHMax, w.RHMin = fao56.Some(d.rhmax), fao56.Some(d.rhmin)
		} else if d.rh[1] > 0 {
			w.RHMean = fao56.Some(d.rh[0] / d.rh[1])
		}
		if d.wind[1] > 0 {
			w.WindMS = fao56.Some(d.wind[0] / d.wind[1])
		}
		if d.radHours >= 18*max(1, stations) {
			w.RsMJ = fao56.Some(fao56.RsFromWm2(d.rad[0] / d.rad[1]))
		}
		if stations > 0 {
			w.RainMM = d.rain[0] / float64(stations)
		}
		weather = append(weather, w)
	}
	if len(weather) == 0 {
		return nil, fieldErr("baseline", "has no WeatherObserved temperatures of tenant %q between %s and %s: FAO-56 needs at least daily Tmax and Tmin",
			tenant, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	weather = consecutive(weather, loc)

	centre := p.city.Bound().Center()
	site := fao56.Site{LatitudeDeg: centre[1], ElevationM: p.cfg.ElevationM}
	baseDays, err := fao56.Days(site, weather)
	if err != nil {
		return nil, fmt.Errorf("planner: baseline weather: %w", err)
	}
	// The horizon: the baseline's last days replayed from tomorrow.
	today := p.cfg.Now().In(loc)
	first := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, loc)
	horizonDays := make([]fao56.Day, horizon)
	for i := range horizonDays {
		var src fao56.Day
		if horizon > len(baseDays) {
			src = baseDays[i%len(baseDays)]
		} else {
			src = baseDays[len(baseDays)-horizon+i]
		}
		src.Date = first.AddDate(0, 0, i)
		src.SoilVWC = nil
		horizonDays[i] = src
	}

	res := &IrrigationResult{HorizonDays: horizon, influx: b.Influx, points: b.Points}
	for _, pol := range policies {
		res.Policies = append(res.Policies, pol.Name())
		res.Totals = append(res.Totals, PolicyTotals{Policy: pol.Name()})
	}
	for _, d := range horizonDays {
		res.Weather = append(res.Weather, WeatherDay{Date: d.Date.Format(time.DateOnly), ET0MM: round2(d.ET0), RainMM: round2(d.RainMM), Method: d.Method})
	}
	var totalArea float64
	for _, id := range sortedKeys(ar.greenAreas) {
		f, _ := p.city.Feature(geo.KindGreenArea, id)
		m2 := orbgeo.Area(f.Geometry)
		ga := fao56.Area{ID: id, AreaM2: m2, Kc: is.Kc, ThetaFC: is.ThetaFC, ThetaWP: is.ThetaWP, RootDepthM: is.RootDepthM, P: is.P, Efficiency: is.Efficiency}
		if err := ga.Validate(); err != nil {
			return nil, fieldErr("irrigation", "%v", err)
		}
		ga = ga.WithDefaults()
		if is.P == 0 {
			ga.P = p.refillP(id, ga)
		}
		// Soil moisture per local day: the mean of the day's first
		// measured hour over the area's sensors.
		soil := map[string][2]float64{}
		firstHour := map[string]int64{}
		sensors := 0
		for _, s := range b.Sensors {
			if s.Type != typeSoil || s.Links.GreenArea != id {
				continue
			}
			sensors++
			for h := range s.Fields["soilMoistureVwc"] {
				k := time.Unix(h, 0).In(loc).Format(time.DateOnly)
				if fh, ok := firstHour[k]; !ok || h < fh {
					firstHour[k] = h
				}
			}
		}
		for _, s := range b.Sensors {
			if s.Type != typeSoil || s.Links.GreenArea != id {
				continue
			}
			for k, h := range firstHour {
				if v, ok := s.Fields["soilMoistureVwc"][h]; ok {
					a := soil[k]
					soil[k] = [2]float64{a[0] + v, a[1] + 1}
				}
			}
		}
		days := make([]fao56.Day, len(baseDays))
		copy(days, baseDays)
		measured := false
		for i := range days {
			if a, ok := soil[days[i].Date.Format(time.DateOnly)]; ok {
				days[i].SoilVWC = fao56.Some(a[0] / a[1])
				measured = true
			}
		}
		base, err := fao56.Run(ga, 0, days, noIrrigation{})
		if err != nil {
			return nil, fmt.Errorf("planner: green area %s baseline: %w", id, err)
		}
		dr := base.Days[len(base.Days)-1].DrEnd
		results, err := fao56.Compare(ga, dr, horizonDays, policies...)
		if err != nil {
			return nil, fmt.Errorf("planner: green area %s: %w", id, err)
		}
		g := GreenAreaResult{ID: id, Name: f.Name, AreaM2: math.Round(m2), SoilSensors: sensors,
			InitialDepletionMM: round2(dr), Measured: measured, TAWMM: round2(ga.TAW()), RAWMM: round2(ga.RAW()), P: round2(ga.P)}
		for i, r := range results {
			pr := PolicyResult{Policy: r.Policy, IrrigationMM: round2(r.Totals.IrrigationMM), VolumeM3: round2(r.Totals.VolumeM3),
				Events: r.Totals.Events, StressDays: r.Totals.StressDays, DrainageMM: round2(r.Totals.DrainageMM), Schedule: []ScheduleEntry{}}
			for _, d := range r.Days {
				if d.Irrigation > 0 {
					pr.Schedule = append(pr.Schedule, ScheduleEntry{Date: d.Date.Format(time.DateOnly), MM: round2(d.Irrigation),
						VolumeM3: round2(d.Irrigation * m2 / 1000 / ga.Efficiency)})
				}
			}
			g.Results = append(g.Results, pr)
			t := &res.Totals[i]
			t.VolumeM3 += r.Totals.VolumeM3
			t.IrrigationMM += r.Totals.IrrigationMM * m2
			t.Events += r.Totals.Events
			t.StressDays += r.Totals.StressDays
		}
		totalArea += m2
		res.GreenAreas = append(res.GreenAreas, g)
	}
	for i := range res.Totals {
		res.Totals[i].VolumeM3 = round1(res.Totals[i].VolumeM3)
		if totalArea > 0 {
			res.Totals[i].IrrigationMM = round2(res.Totals[i].IrrigationMM / totalArea)
		}
	}
	sd := site
	res.Assumptions = []string{
		fmt.Sprintf("FAO-56 daily root-zone balance per green area: Kc %g, θFC %g, θWP %g, Zr %g m, %s, efficiency %g; rain below 2 mm a day does not count; no capillary rise.",
			fao56.Area{Kc: is.Kc}.WithDefaults().Kc, fao56.Area{ThetaFC: is.ThetaFC}.WithDefaults().ThetaFC, fao56.Area{ThetaWP: is.ThetaWP}.WithDefaults().ThetaWP,
			fao56.Area{RootDepthM: is.RootDepthM}.WithDefaults().RootDepthM, pText(is, res.GreenAreas), fao56.Area{Efficiency: is.Efficiency}.WithDefaults().Efficiency),
		fmt.Sprintf("ET0 by FAO-56 Penman-Monteith from the WeatherObserved stations' daily values (Hargreaves on days without radiation), site latitude %.3f°, elevation %g m; %d station(s), pooled.",
			sd.LatitudeDeg, sd.ElevationM, stations),
		"Today's depletion: the balance run over the baseline without irrigation, reset each day by the mean of the area's soil moisture sensors (start of day); areas without sensors start the baseline at field capacity.",
		fmt.Sprintf("Horizon weather: the baseline's last %d days replayed from tomorrow (no forecast source); rain-skip reads that rain as its forecast.", min(horizon, len(baseDays))),
	}
	return res, nil
}

// refillP returns the depletion fraction p at which area a (green area id)
// refills at the live twin's refill point θr for it (twin.State.RefillVWC,
// which raises "needs water" and the soil-refill alert): the sensor form of
// FAO-56's trigger, θr = θFC − p·(θFC − θWP) (reference/domain.md §7), so
// p = (θFC − θr)/(θFC − θWP). Without a twin, or when θr lies outside
// (θWP, θFC), the FAO-56 default.
func (p *Planner) refillP(id string, a fao56.Area) float64 {
	if p.state == nil {
		return fao56.DefaultP
	}
	r := p.state.RefillVWC(geo.KindGreenArea, id)
	if !(r > a.ThetaWP && r < a.ThetaFC) {
		return fao56.DefaultP
	}
	return (a.ThetaFC - r) / (a.ThetaFC - a.ThetaWP)
}

// pText states the p the green areas used: given, or from the twin's refill
// points.
func pText(is *IrrigationSpec, areas []GreenAreaResult) string {
	if is.P != 0 {
		return fmt.Sprintf("p %g (given)", is.P)
	}
	var ps []float64
	for _, g := range areas {
		if !slices.Contains(ps, g.P) {
			ps = append(ps, g.P)
		}
	}
	slices.Sort(ps)
	txt := make([]string, len(ps))
	for i, v := range ps {
		txt[i] = strconv.FormatFloat(round2(v), 'g', -1, 64)
	}
	return "p " + strings.Join(txt, ", ") + " (the live twin's refill point θFC − p·(θFC − θWP) of each green area)"
}

// dayOf returns the accumulator of the local day of hour h.
func dayOf[T any](days map[string]*T, order *[]string, h int64, loc *time.Location) *T {
	k := time.Unix(h, 0).In(loc).Format(time.DateOnly)
	d := days[k]
	if d == nil {
		d = new(T)
		days[k] = d
		*order = append(*order, k)
	}
	return d
}

// consecutive fills missing days inside the range with the previous day's
// weather (fao56.Days needs consecutive dates).
func consecutive(ws []fao56.Weather, loc *time.Location) []fao56.Weather {
	out := []fao56.Weather{ws[0]}
	for _, w := range ws[1:] {
		for {
			last := out[len(out)-1]
			next := time.Date(last.Date.Year(), last.Date.Month(), last.Date.Day()+1, 0, 0, 0, 0, loc)
			if !next.Before(w.Date) {
				break
			}
			fill := last
			fill.Date, fill.RainMM = next, 0
			out = append(out, fill)
		}
		out = append(out, w)
	}
	return out
}
