package planner

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/citytwin/citytwin/geo"
)

// WriteCSV writes a result as one tidy table: a row per feature and
// metric, with its before, after and delta, or per green area, policy and
// metric with its value in after.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"section", "kind", "id", "name", "metric", "policy", "before", "after", "delta"})
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	f := func(x float64) *float64 { return &x }
	row := func(section, kind, id, name, metric, policy string, before, after, delta *float64) {
		_ = cw.Write([]string{section, kind, id, name, metric, policy, num(before), num(after), num(delta)})
	}
	noiseRows := func(section, kind, id, name string, n NoiseFigures) {
		if n.Hours == 0 {
			return
		}
		row(section, kind, id, name, "Lden_dBA", "", n.LdenBefore, n.LdenAfter, n.LdenDelta)
		row(section, kind, id, name, "Lday_dBA", "", n.LdayBefore, n.LdayAfter, diff(n.LdayBefore, n.LdayAfter))
		row(section, kind, id, name, "Lnight_dBA", "", n.LnightBefore, n.LnightAfter, diff(n.LnightBefore, n.LnightAfter))
		row(section, kind, id, name, "hours_above_limit", "", f(float64(n.HoursAboveBefore)), f(float64(n.HoursAboveAfter)),
			f(float64(n.HoursAboveAfter-n.HoursAboveBefore)))
	}
	if t := r.Traffic; t != nil {
		for _, rd := range t.Roads {
			row("traffic", "road", rd.ID, rd.Name, "flow_veh_h", "", f(rd.FlowBefore), f(rd.FlowAfter), f(round1(rd.FlowAfter-rd.FlowBefore)))
			row("traffic", "road", rd.ID, rd.Name, "emission_delta_dB", "", nil, nil, rd.DeltaDB)
			if rd.NO2Delta != nil {
				row("traffic", "road", rd.ID, rd.Name, "no2_roadside_delta_ugm3", "", nil, nil, rd.NO2Delta)
			}
		}
		for _, a := range t.Areas {
			noiseRows("traffic", string(a.Kind), a.ID, a.Name, a.Noise)
			if a.NO2Before != nil {
				row("traffic", string(a.Kind), a.ID, a.Name, "no2_mean_ugm3", "", a.NO2Before, a.NO2After, a.NO2Delta)
			}
		}
		for _, s := range t.Sensors {
			noiseRows("traffic", "sensor", s.ID, "", s.Noise)
			if s.NO2.MeanBefore != nil {
				row("traffic", "sensor", s.ID, "", "no2_mean_ugm3", "", s.NO2.MeanBefore, s.NO2.MeanAfter, s.NO2.Delta)
				for _, e := range s.NO2.Exceedances {
					row("traffic", "sensor", s.ID, "", "exceedances_"+e.Standard, "", f(float64(e.Before)), f(float64(e.After)), f(float64(e.After-e.Before)))
				}
			}
		}
	}
	if ir := r.Irrigation; ir != nil {
		for _, g := range ir.GreenAreas {
			for _, pr := range g.Results {
				row("irrigation", "greenarea", g.ID, g.Name, "volume_m3", pr.Policy, nil, f(pr.VolumeM3), nil)
				row("irrigation", "greenarea", g.ID, g.Name, "irrigation_mm", pr.Policy, nil, f(pr.IrrigationMM), nil)
				row("irrigation", "greenarea", g.ID, g.Name, "events", pr.Policy, nil, f(float64(pr.Events)), nil)
				row("irrigation", "greenarea", g.ID, g.Name, "stress_days", pr.Policy, nil, f(float64(pr.StressDays)), nil)
			}
		}
		for _, t := range ir.Totals {
			row("irrigation", "total", "", "", "volume_m3", t.Policy, nil, f(t.VolumeM3), nil)
		}
	}
	cw.Flush()
	return cw.Error()
}

func diff(a, b *float64) *float64 {
	if a == nil || b == nil {
		return nil
	}
	d := round2(*b - *a)
	return &d
}

// GeoJSON returns a result as a FeatureCollection the map can show: roads
// (deltaDb, flowRatio, no2Delta), neighbourhoods and districts (ldenDelta,
// no2Delta, …), noise and air sensors, green areas (volumeM3 per policy).
// Every feature has "layer" and "id".
func (p *Planner) GeoJSON(r *Result) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	add := func(g orb.Geometry, props map[string]any) {
		if g == nil {
			return
		}
		f := geojson.NewFeature(g)
		f.Properties = props
		fc.Append(f)
	}
	if t := r.Traffic; t != nil {
		for _, rd := range t.Roads {
			f, ok := p.city.Feature(geo.KindRoad, rd.ID)
			if !ok {
				continue
			}
			add(f.Geometry, map[string]any{"layer": "road", "id": rd.ID, "name": rd.Name, "flowBefore": rd.FlowBefore,
				"flowAfter": rd.FlowAfter, "flowRatio": rd.FlowRatio, "deltaDb": rd.DeltaDB, "no2Delta": rd.NO2Delta, "closed": rd.Closed})
		}
		for _, a := range t.Areas {
			f, ok := p.city.Feature(a.Kind, a.ID)
			if !ok {
				continue
			}
			add(f.Geometry, map[string]any{"layer": string(a.Kind), "id": a.ID, "name": a.Name,
				"ldenBefore": a.Noise.LdenBefore, "ldenAfter": a.Noise.LdenAfter, "ldenDelta": a.Noise.LdenDelta,
				"hoursAboveBefore": a.Noise.HoursAboveBefore, "hoursAboveAfter": a.Noise.HoursAboveAfter,
				"no2Before": a.NO2Before, "no2After": a.NO2After, "no2Delta": a.NO2Delta})
		}
		for _, s := range t.Sensors {
			if s.Location == nil {
				continue
			}
			pt := *s.Location
			props := map[string]any{"layer": "sensor", "kind": s.Kind, "id": s.ID}
			if s.Kind == "noise" {
				props["deltaDb"], props["ldenBefore"], props["ldenAfter"] = s.DeltaDB, s.Noise.LdenBefore, s.Noise.LdenAfter
			} else {
				props["no2Before"], props["no2After"], props["no2Delta"] = s.NO2.MeanBefore, s.NO2.MeanAfter, s.NO2.Delta
			}
			add(pt, props)
		}
	}
	if ir := r.Irrigation; ir != nil {
		for _, g := range ir.GreenAreas {
			f, ok := p.city.Feature(geo.KindGreenArea, g.ID)
			if !ok {
				continue
			}
			props := map[string]any{"layer": "greenarea", "id": g.ID, "name": g.Name, "areaM2": g.AreaM2, "initialDepletionMm": g.InitialDepletionMM}
			for _, pr := range g.Results {
				props["volumeM3_"+pr.Policy] = pr.VolumeM3
				props["events_"+pr.Policy] = pr.Events
			}
			add(f.Geometry, props)
		}
	}
	return fc
}

// Comparison sets two results side by side, feature by feature.
type Comparison struct {
	Names      [2]string         `json:"names"`
	IDs        [2]string         `json:"ids"`
	Roads      []CompareRow      `json:"roads"`
	Areas      []CompareRow      `json:"areas"`
	Irrigation []CompareRow      `json:"irrigation"`
	Totals     map[string][2]any `json:"totals"`
}

// CompareRow is one feature's figure in A and in B (null where absent).
type CompareRow struct {
	Kind   string   `json:"kind"`
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Metric string   `json:"metric"`
	A      *float64 `json:"a"`
	B      *float64 `json:"b"`
}

// Compare sets two results side by side: per road the emission change, per
// area the Lden and NO2 changes, per green area and policy the volume.
func Compare(a, b *Result) *Comparison {
	c := &Comparison{Names: [2]string{a.Name, b.Name}, IDs: [2]string{a.ID, b.ID}, Totals: map[string][2]any{}}
	type key struct{ kind, id, metric string }
	rows := map[key]*CompareRow{}
	var order []key
	put := func(k key, name string, side int, v *float64) {
		r := rows[k]
		if r == nil {
			r = &CompareRow{Kind: k.kind, ID: k.id, Name: name, Metric: k.metric}
			rows[k] = r
			order = append(order, k)
		}
		if side == 0 {
			r.A = v
		} else {
			r.B = v
		}
	}
	for side, r := range []*Result{a, b} {
		if t := r.Traffic; t != nil {
			for _, rd := range t.Roads {
				put(key{"road", rd.ID, "deltaDb"}, rd.Name, side, rd.DeltaDB)
			}
			for _, ar := range t.Areas {
				put(key{string(ar.Kind), ar.ID, "ldenDelta"}, ar.Name, side, ar.Noise.LdenDelta)
				if ar.NO2Delta != nil {
					put(key{string(ar.Kind), ar.ID, "no2Delta"}, ar.Name, side, ar.NO2Delta)
				}
			}
			tt := t.Totals
			for name, v := range map[string]any{"hoursAboveAfter": tt.HoursAboveAfter, "flowAfter": tt.FlowAfter, "maxDecreaseDb": tt.MaxDecreaseDB} {
				pair := c.Totals[name]
				pair[side] = v
				c.Totals[name] = pair
			}
		}
		if ir := r.Irrigation; ir != nil {
			for _, g := range ir.GreenAreas {
				for _, pr := range g.Results {
					v := pr.VolumeM3
					put(key{"greenarea", g.ID, "volumeM3 " + pr.Policy}, g.Name, side, &v)
				}
			}
			for _, t := range ir.Totals {
				pair := c.Totals["volumeM3 "+t.Policy]
				pair[side] = t.VolumeM3
				c.Totals["volumeM3 "+t.Policy] = pair
			}
		}
	}
	for _, k := range order {
		r := *rows[k]
		switch k.kind {
		case "road":
			c.Roads = append(c.Roads, r)
		case "greenarea":
			c.Irrigation = append(c.Irrigation, r)
		default:
			c.Areas = append(c.Areas, r)
		}
	}
	return c
}

// WriteAnalysisCSV writes an analysis as a table: kind, id, name, sensors,
// hours and one column per metric (the daily soil series is left out).
func WriteAnalysisCSV(w io.Writer, a *Analysis) error {
	cols := map[string]bool{}
	for _, r := range a.Rows {
		for k := range r.Metrics {
			if k != "daily" {
				cols[k] = true
			}
		}
	}
	metrics := sortedKeys(cols)
	cw := csv.NewWriter(w)
	_ = cw.Write(append([]string{"kind", "id", "name", "sensors", "hours"}, metrics...))
	for _, r := range a.Rows {
		rec := []string{r.Kind, r.ID, r.Name, strconv.Itoa(r.Sensors), strconv.Itoa(r.Hours)}
		for _, m := range metrics {
			rec = append(rec, csvValue(r.Metrics[m]))
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	}
	return fmt.Sprint(v)
}
