package planner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/air"
	"github.com/citytwin/citytwin/twin/dynamap"
	"github.com/citytwin/citytwin/twin/noise"
)

// Entity types and rollup fields a traffic scenario reads.
const (
	typeNoise   = "NoiseLevelObserved"
	typeTraffic = "TrafficFlowObserved"
	typeAir     = "AirQualityObserved"
	fieldLAeq   = "LAeq"
	fieldFlow   = "intensity_sum"
	fieldSpeed  = "averageVehicleSpeed"
	fieldNO2    = "no2"
)

// DefaultSpeedKmh is the speed assumed on a road with neither a traffic
// sensor nor a speed limit.
const DefaultSpeedKmh = 50

// roadPlan is what the scenario does to one road.
type roadPlan struct {
	id                   string
	flow, speed          float64 // baseline, veh/h and km/h
	measured             bool
	flowRatio, spdRatio  float64
	deltaDB              float64 // emission change; −Inf when closed
	closed, diverted, in bool
}

func (p *Planner) runTraffic(ctx context.Context, spec Spec, tenant string, ar *area, start, end time.Time, progress Progress) (*TrafficResult, error) {
	ts := spec.Traffic
	periods, err := periodsOf(spec.Noise.periodsName())
	if err != nil {
		return nil, err
	}
	class, err := limitClass(spec.Noise.limitClassName())
	if err != nil {
		return nil, err
	}
	limit := class.Limit()
	for i, id := range ts.Close {
		if _, ok := p.city.Feature(geo.KindRoad, id); !ok {
			return nil, fieldErr(fmt.Sprintf("traffic.close[%d]", i), "no road segment with id %q in the city", id)
		}
	}
	for _, id := range sortedKeys(ts.Divert) {
		if _, ok := p.city.Feature(geo.KindRoad, id); !ok {
			return nil, fieldErr("traffic.divert."+id, "no road segment with id %q in the city", id)
		}
		if slices.Contains(ts.Close, id) {
			return nil, fieldErr("traffic.divert."+id, "is closed: traffic cannot be diverted onto a closed road")
		}
	}

	b, err := p.baseline(ctx, tenant, start, end,
		[]string{typeNoise, typeTraffic, typeAir}, []string{fieldLAeq, fieldFlow, fieldSpeed, fieldNO2})
	if err != nil {
		return nil, fmt.Errorf("planner: read the baseline: %w", err)
	}
	progress("traffic: computing", 0.3)
	computeStart := time.Now()
	noiseModel := p.model.Load() // one model for the whole run

	// Baseline flow and speed per road from its traffic sensors.
	type meas struct{ flow, speed, nf, ns float64 }
	measured := map[string]*meas{}
	for _, s := range b.Sensors {
		if s.Type != typeTraffic || s.Links.Road == "" {
			continue
		}
		m := measured[s.Links.Road]
		if m == nil {
			m = &meas{}
			measured[s.Links.Road] = m
		}
		for _, v := range s.Fields[fieldFlow] {
			m.flow += v
			m.nf++
		}
		for _, v := range s.Fields[fieldSpeed] {
			m.speed += v
			m.ns++
		}
	}

	model := noise.Model{}
	plans := map[string]*roadPlan{}
	plan := func(id string) *roadPlan {
		if rp := plans[id]; rp != nil {
			return rp
		}
		rp := &roadPlan{id: id, flowRatio: 1, spdRatio: 1}
		f, _ := p.city.Feature(geo.KindRoad, id)
		if r, ok := noiseModel.Road(id); ok {
			rp.flow = r.DailyFlow / 24
		}
		rp.speed = DefaultSpeedKmh
		if f != nil && f.SpeedLimit > 0 {
			rp.speed = f.SpeedLimit
		}
		if m := measured[id]; m != nil {
			if m.nf > 0 {
				// Several sensors on one road (lanes, directions) add up.
				rp.flow, rp.measured = m.flow/m.nf*float64(sensorsOn(b, id)), true
			}
			if m.ns > 0 {
				rp.speed = m.speed / m.ns
			}
		}
		plans[id] = rp
		return rp
	}
	for id := range ar.roads {
		rp := plan(id)
		rp.in = true
		rp.flowRatio = 1 + ts.FlowChangePct/100
		rp.spdRatio = 1 + ts.SpeedChangePct/100
	}
	var closedFlow float64
	for _, id := range ts.Close {
		rp := plan(id)
		closedFlow += rp.flow
		rp.closed, rp.flowRatio = true, 0
	}
	for _, id := range sortedKeys(ts.Divert) {
		rp := plan(id)
		rp.diverted = true
		if rp.flow > 0 {
			rp.flowRatio += ts.Divert[id] / 100 * closedFlow / rp.flow
		}
	}
	for _, rp := range plans {
		switch {
		case rp.closed || rp.flowRatio == 0:
			rp.deltaDB = math.Inf(-1)
		case rp.flow <= 0:
			rp.deltaDB = 0
		default:
			before := p.traffic(rp.flow, rp.speed)
			after := p.traffic(rp.flow*rp.flowRatio, rp.speed*rp.spdRatio)
			d, err := model.DeltaL(before, after)
			if err != nil {
				return nil, fmt.Errorf("planner: road %s: %w", rp.id, err)
			}
			rp.deltaDB = d
		}
	}

	res := &TrafficResult{influx: b.Influx, points: b.Points, cached: b.Cached}
	hoursOf := hours(start, end)

	// Noise per sensor, then per area.
	type areaAcc struct {
		kind             geo.Kind
		id               string
		before, after    map[int64][2]float64 // hour → (Σ energy, n)
		sensors, changed int
	}
	areas := map[string]*areaAcc{}
	acc := func(kind geo.Kind, id string) *areaAcc {
		if id == "" {
			return nil
		}
		k := string(kind) + "/" + id
		a := areas[k]
		if a == nil {
			a = &areaAcc{kind: kind, id: id, before: map[int64][2]float64{}, after: map[int64][2]float64{}}
			areas[k] = a
		}
		return a
	}
	ids := sortedKeys(b.Sensors)
	for i, id := range ids {
		if i%64 == 0 {
			progress("traffic: noise and NO2 per sensor", 0.3+0.2*float64(i)/float64(len(ids)))
		}
		s := b.Sensors[id]
		lv := s.Fields[fieldLAeq]
		if s.Type != typeNoise || len(lv) == 0 {
			continue
		}
		pt, ok := p.pointOf(tenant, s)
		if !ok {
			continue
		}
		shift, share := shift(noiseModel, pt, plans)
		before := make([]noise.Hour, 0, len(lv))
		after := make([]noise.Hour, 0, len(lv))
		for _, h := range hoursOf {
			if v, ok := lv[h]; ok {
				t := time.Unix(h, 0).UTC()
				before = append(before, noise.Hour{Start: t, LAeq: v})
				after = append(after, noise.Hour{Start: t, LAeq: v + shift})
			}
		}
		sr := SensorResult{ID: id, Kind: "noise", Links: s.Links, Location: &pt, DeltaDB: round2(shift), ChangedShare: round3(share)}
		if err := fillNoise(&sr.Noise, periods, limit, before, after); err != nil {
			return nil, fmt.Errorf("planner: sensor %s: %w", id, err)
		}
		res.Sensors = append(res.Sensors, sr)
		for _, a := range []*areaAcc{acc(geo.KindNeighbourhood, s.Links.Neighbourhood), acc(geo.KindDistrict, s.Links.District)} {
			if a == nil {
				continue
			}
			a.sensors++
			if share > 0 {
				a.changed++
			}
			for i := range before {
				h := before[i].Start.Unix()
				e := a.before[h]
				a.before[h] = [2]float64{e[0] + noise.Energy(before[i].LAeq), e[1] + 1}
				e = a.after[h]
				a.after[h] = [2]float64{e[0] + noise.Energy(after[i].LAeq), e[1] + 1}
			}
		}
	}

	// NO2 per air sensor.
	bg, err := p.background(spec, tenant, b)
	if err != nil {
		return nil, err
	}
	res.Background = bg
	type no2Acc struct{ before, after, n float64 }
	areaNO2 := map[string]*no2Acc{}
	for _, id := range sortedKeys(b.Sensors) {
		s := b.Sensors[id]
		cs := s.Fields[fieldNO2]
		if s.Type != typeAir || len(cs) == 0 {
			continue
		}
		pt, ok := p.pointOf(tenant, s)
		if !ok {
			continue
		}
		r := localRatio(noiseModel, pt, plans)
		var beforeH, afterH []air.Hour
		for _, h := range hoursOf {
			if v, ok := cs[h]; ok {
				ch, err := air.ProjectNO2(v, r, bg)
				if err != nil {
					return nil, fmt.Errorf("planner: sensor %s: %w", id, err)
				}
				t := time.Unix(h, 0).UTC()
				beforeH = append(beforeH, air.Hour{Start: t, Value: v})
				afterH = append(afterH, air.Hour{Start: t, Value: ch.After})
			}
		}
		sr := SensorResult{ID: id, Kind: "air", Links: s.Links, Location: &pt, TrafficRatio: round3(r)}
		if err := fillNO2(&sr.NO2, air.Window{From: start, To: end}, beforeH, afterH); err != nil {
			return nil, fmt.Errorf("planner: sensor %s: %w", id, err)
		}
		res.Sensors = append(res.Sensors, sr)
		for _, k := range []string{"neighbourhood/" + s.Links.Neighbourhood, "district/" + s.Links.District} {
			if k[len(k)-1] == '/' {
				continue
			}
			a := areaNO2[k]
			if a == nil {
				a = &no2Acc{}
				areaNO2[k] = a
			}
			a.before += *sr.NO2.MeanBefore
			a.after += *sr.NO2.MeanAfter
			a.n++
		}
	}

	// Areas: every area with a sensor result, and every area of the spec.
	for _, k := range sortedKeys(areas) {
		a := areas[k]
		ar := AreaResult{Kind: a.kind, ID: a.id, Name: p.featureName(a.kind, a.id), NoiseSensors: a.sensors, AffectedNoiseSensors: a.changed}
		var before, after []noise.Hour
		for _, h := range hoursOf {
			if e, ok := a.before[h]; ok {
				t := time.Unix(h, 0).UTC()
				before = append(before, noise.Hour{Start: t, LAeq: noise.Level(e[0] / e[1])})
				ea := a.after[h]
				after = append(after, noise.Hour{Start: t, LAeq: noise.Level(ea[0] / ea[1])})
			}
		}
		if err := fillNoise(&ar.Noise, periods, limit, before, after); err != nil {
			return nil, fmt.Errorf("planner: %s %s: %w", a.kind, a.id, err)
		}
		if n := areaNO2[k]; n != nil {
			ar.NO2Before, ar.NO2After = ptr(round2(n.before/n.n)), ptr(round2(n.after/n.n))
			ar.NO2Delta = ptr(round2((n.after - n.before) / n.n))
			ar.AirSensors = int(n.n)
			delete(areaNO2, k)
		}
		res.Areas = append(res.Areas, ar)
	}
	for _, k := range sortedKeys(areaNO2) {
		n := areaNO2[k]
		kind, id := splitKey(k)
		res.Areas = append(res.Areas, AreaResult{Kind: kind, ID: id, Name: p.featureName(kind, id), AirSensors: int(n.n),
			NO2Before: ptr(round2(n.before / n.n)), NO2After: ptr(round2(n.after / n.n)), NO2Delta: ptr(round2((n.after - n.before) / n.n))})
	}

	// Roads: the ones acted on, with the NO2 change near them estimated from
	// their neighbourhood's mean concentration.
	for _, id := range sortedKeys(plans) {
		rp := plans[id]
		rr := RoadResult{ID: id, Name: p.featureName(geo.KindRoad, id), FlowBefore: round1(rp.flow), FlowAfter: round1(rp.flow * rp.flowRatio),
			FlowRatio: round3(rp.flowRatio), SpeedBefore: round1(rp.speed), SpeedAfter: round1(rp.speed * rp.spdRatio),
			MeasuredFlow: rp.measured, Closed: rp.closed, Diverted: rp.diverted, InArea: rp.in}
		if !math.IsInf(rp.deltaDB, -1) {
			rr.DeltaDB = ptr(round2(rp.deltaDB))
		}
		if f, ok := p.city.Feature(geo.KindRoad, id); ok {
			if c, ok := p.areaNO2Near(f, res.Areas); ok {
				ch, err := air.ProjectNO2(c, rp.flowRatio, bg)
				if err == nil {
					rr.NO2Delta = ptr(round2(ch.Delta))
				}
			}
		}
		res.Roads = append(res.Roads, rr)
	}
	res.computeMs = time.Since(computeStart)
	res.summarise()
	progress("traffic: done", 0.5)
	return res, nil
}

// traffic is the CNOSSOS traffic of a road of flow q veh/h at v km/h with
// the assumed mix.
func (p *Planner) traffic(q, v float64) noise.Traffic {
	var t noise.Traffic
	t.Flow[noise.Light] = q * (1 - p.cfg.HeavyShare)
	t.Flow[noise.Heavy] = q * p.cfg.HeavyShare
	t.Speed = max(v, 1)
	return t
}

// shift is a receiver's level change: the energetic re-sum of its roads'
// contributions, each changed by its road's ΔL; share is the part of the
// receiver's reference energy that comes from changed roads.
func shift(model *dynamap.Model, pt orb.Point, plans map[string]*roadPlan) (shift, share float64) {
	contrib := model.RoadEnergy(pt)
	var total, after, changed float64
	for id, e := range contrib {
		total += e
		rp := plans[id]
		if rp == nil || rp.deltaDB == 0 {
			after += e
			continue
		}
		changed += e
		if !math.IsInf(rp.deltaDB, -1) {
			after += e * math.Pow(10, rp.deltaDB/10)
		}
	}
	if total == 0 {
		return 0, 0
	}
	if after <= 0 {
		// Every road it hears is closed: the model has nothing left; the
		// receiver is floored at 30 dB below its level rather than −∞.
		return -30, changed / total
	}
	return 10 * math.Log10(after/total), changed / total
}

// localRatio is the traffic ratio around a receiver, each road weighted by
// its contribution there.
func localRatio(model *dynamap.Model, pt orb.Point, plans map[string]*roadPlan) float64 {
	var w, wr float64
	for id, e := range model.RoadEnergy(pt) {
		r := 1.0
		if rp := plans[id]; rp != nil {
			r = rp.flowRatio
		}
		w += e
		wr += e * r
	}
	if w == 0 {
		return 1
	}
	return wr / w
}

// background is the NO2 background share: the scenario's, else estimated
// from the tenant's background and roadside stations, else the default.
func (p *Planner) background(spec Spec, tenant string, b *baseline) (air.Background, error) {
	if spec.Air != nil && spec.Air.BackgroundShare != nil {
		return air.GivenShare(*spec.Air.BackgroundShare)
	}
	var bgSum, bgN, rsSum, rsN float64
	for id, s := range b.Sensors {
		if s.Type != typeAir {
			continue
		}
		sn, ok := p.state.Sensor(tenant, id)
		roadside := ok && sn.Links.Road != "" && sn.Links.RoadDistance <= p.cfg.AirRoadMetres
		for _, v := range s.Fields[fieldNO2] {
			if roadside {
				rsSum, rsN = rsSum+v, rsN+1
			} else {
				bgSum, bgN = bgSum+v, bgN+1
			}
		}
	}
	if bgN > 0 && rsN > 0 && rsSum > 0 {
		return air.StationShare(bgSum/bgN, rsSum/rsN)
	}
	return air.Background{Share: air.DefaultBackgroundShare, Origin: air.ShareDefault}, nil
}

// areaNO2Near is the mean baseline NO2 of the road's neighbourhood (where
// the road's midpoint lies), if it has air sensors.
func (p *Planner) areaNO2Near(road *geo.Feature, areas []AreaResult) (float64, bool) {
	c := road.Geometry.Bound().Center()
	n := p.city.Containing(geo.KindNeighbourhood, c)
	if n == nil {
		return 0, false
	}
	for _, a := range areas {
		if a.Kind == geo.KindNeighbourhood && a.ID == n.ID && a.NO2Before != nil {
			return *a.NO2Before, true
		}
	}
	return 0, false
}

// pointOf places a sensor: its location in the baseline's rollups, else
// the live twin's (a line by its bound's centre).
func (p *Planner) pointOf(tenant string, s *sensorHist) (orb.Point, bool) {
	g := s.Location
	if g == nil {
		if sn, ok := p.state.Sensor(tenant, s.ID); ok {
			g = sn.Location
		}
	}
	switch g := g.(type) {
	case nil:
		return orb.Point{}, false
	case orb.Point:
		return g, true
	default:
		return g.Bound().Center(), true
	}
}

func (p *Planner) featureName(kind geo.Kind, id string) string {
	if f, ok := p.city.Feature(kind, id); ok {
		return f.Name
	}
	return ""
}

func sensorsOn(b *baseline, road string) int {
	n := 0
	for _, s := range b.Sensors {
		if s.Type == typeTraffic && s.Links.Road == road {
			n++
		}
	}
	return n
}

func splitKey(k string) (geo.Kind, string) {
	for i := range len(k) {
		if k[i] == '/' {
			return geo.Kind(k[:i]), k[i+1:]
		}
	}
	return "", k
}

// fillNoise computes the before/after noise figures of one receiver.
func fillNoise(n *NoiseFigures, periods noise.Periods, limit noise.Limit, before, after []noise.Hour) error {
	if len(before) == 0 {
		return nil
	}
	lb, err := periods.Compute(before)
	if err != nil {
		return err
	}
	la, err := periods.Compute(after)
	if err != nil {
		return err
	}
	eb, err := limit.HoursAbove(before)
	if err != nil {
		return err
	}
	ea, err := limit.HoursAbove(after)
	if err != nil {
		return err
	}
	n.Hours = len(before)
	n.LdenBefore, n.LdenAfter = roundp(lb.Lden), roundp(la.Lden)
	n.LdayBefore, n.LdayAfter = roundp(lb.Day.Level), roundp(la.Day.Level)
	n.LnightBefore, n.LnightAfter = roundp(lb.Night.Level), roundp(la.Night.Level)
	if lb.Lden != nil && la.Lden != nil {
		n.LdenDelta = ptr(round2(*la.Lden - *lb.Lden))
	}
	n.HoursAboveBefore = eb.DayAbove + eb.NightAbove
	n.HoursAboveAfter = ea.DayAbove + ea.NightAbove
	return nil
}

// fillNO2 computes the before/after NO2 figures of one station.
func fillNO2(n *NO2Figures, w air.Window, before, after []air.Hour) error {
	if len(before) == 0 {
		return nil
	}
	var sb, sa float64
	for i := range before {
		sb += before[i].Value
		sa += after[i].Value
	}
	nb := float64(len(before))
	n.MeanBefore, n.MeanAfter = ptr(round2(sb/nb)), ptr(round2(sa/nb))
	n.Delta = ptr(round2((sa - sb) / nb))
	var cfg air.Config
	std := air.StandardsFor(air.NO2)
	rb, err := cfg.Assess(air.NO2, w, before, std)
	if err != nil {
		return err
	}
	ra, err := cfg.Assess(air.NO2, w, after, std)
	if err != nil {
		return err
	}
	for i := range rb {
		if rb[i].Standard.Averaging == air.Annual {
			continue
		}
		n.Exceedances = append(n.Exceedances, Exceedance{Standard: rb[i].Standard.ID, Value: rb[i].Standard.Value,
			Averaging: rb[i].Standard.Averaging.String(), Before: rb[i].Exceedances, After: ra[i].Exceedances, Counted: rb[i].Counted})
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func roundp(x *float64) *float64 {
	if x == nil {
		return nil
	}
	return ptr(round2(*x))
}

var _ = twin.DefaultTenant
