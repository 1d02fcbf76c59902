package sim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/sim"
)

var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return loc
}()

// day0 is a Tuesday in May, local midnight in Milan.
var day0 = time.Date(2025, 5, 6, 0, 0, 0, 0, rome)

// at returns the local Milan time day0+days at hh:mm.
func at(days, hh, mm int) time.Time {
	return time.Date(day0.Year(), day0.Month(), day0.Day()+days, hh, mm, 0, 0, rome)
}

// samples48h returns 48 hours of times every 10 minutes from day0.
func samples48h() []time.Time {
	var ts []time.Time
	for t := day0; t.Before(day0.Add(48 * time.Hour)); t = t.Add(10 * time.Minute) {
		ts = append(ts, t)
	}
	return ts
}

func TestDeterminism(t *testing.T) {
	cfg := sim.FleetConfig{Count: 60, Seed: 42, Tenant: "milano"}
	a, b := sim.NewFleet(cfg), sim.NewFleet(cfg)
	if !reflect.DeepEqual(a.Sensors(), b.Sensors()) {
		t.Fatal("same seed gave different sensors")
	}
	tm := at(0, 8, 15).Add(1234 * time.Millisecond)
	for i := range a.Len() {
		ta, pa := a.Reading(i, tm)
		tb, pb := b.Reading(i, tm)
		if ta != tb || !bytes.Equal(pa, pb) {
			t.Fatalf("sensor %d: same seed gave different readings:\n%s %s\n%s %s", i, ta, pa, tb, pb)
		}
		if !reflect.DeepEqual(a.Values(i, tm), b.Values(i, tm)) {
			t.Fatalf("sensor %d: same seed gave different values", i)
		}
	}
	c := sim.NewFleet(sim.FleetConfig{Count: 60, Seed: 43, Tenant: "milano"})
	if reflect.DeepEqual(a.Sensors(), c.Sensors()) {
		t.Error("different seeds gave identical sensors")
	}
	// Sensors returns a copy.
	s := a.Sensors()
	for i := range s {
		if s[i].Road != nil {
			s[i].Road[0][0] = 0
		}
		s[i].ID = "x"
	}
	if !reflect.DeepEqual(a.Sensors(), b.Sensors()) {
		t.Error("mutating the result of Sensors changed the fleet")
	}
}

func TestMix(t *testing.T) {
	tests := []struct {
		count                                      int
		noise, air, traffic, soil, weather, shapes int
	}{
		{count: 100, noise: 30, air: 25, traffic: 30, soil: 14, weather: 1},
		{count: 200, noise: 60, air: 50, traffic: 60, soil: 28, weather: 2},
		{count: 1000, noise: 300, air: 250, traffic: 300, soil: 142, weather: 8},
		{count: 10, noise: 3, air: 3, traffic: 3, soil: 0, weather: 1},
		{count: 7, noise: 2, air: 2, traffic: 2, soil: 1, weather: 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.count), func(t *testing.T) {
			f := sim.NewFleet(sim.FleetConfig{Count: tt.count, Seed: 7})
			got := map[string]int{}
			for _, s := range f.Sensors() {
				got[s.Type]++
			}
			want := map[string]int{
				sim.TypeNoise: tt.noise, sim.TypeAir: tt.air, sim.TypeTraffic: tt.traffic,
				sim.TypeSoil: tt.soil, sim.TypeWeather: tt.weather,
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: got %d sensors, want %d (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestSensors(t *testing.T) {
	bbox := [4]float64{9.15, 45.44, 9.22, 45.49}
	f := sim.NewFleet(sim.FleetConfig{Count: 120, Seed: 3, Tenant: "acme", BBox: bbox})
	wantDomain := map[string]string{
		sim.TypeNoise: "noise", sim.TypeAir: "air", sim.TypeTraffic: "traffic",
		sim.TypeSoil: "irrigation", sim.TypeWeather: "irrigation",
	}
	topicRE := regexp.MustCompile(`^ngsi/acme/(noise|air|traffic|irrigation)/acme-\d+$`)
	for i, s := range f.Sensors() {
		if want := fmt.Sprintf("urn:ngsi-ld:%s:acme-%d", s.Type, i); s.ID != want {
			t.Errorf("sensor %d: id %q, want %q", i, s.ID, want)
		}
		if s.Domain != wantDomain[s.Type] {
			t.Errorf("%s: domain %q", s.ID, s.Domain)
		}
		if s.Shape != sim.Shapes[i%len(sim.Shapes)] {
			t.Errorf("%s: shape %q, want %q", s.ID, s.Shape, sim.Shapes[i%len(sim.Shapes)])
		}
		topic := f.Topic(i)
		if !topicRE.MatchString(topic) || topic != "ngsi/acme/"+s.Domain+"/"+s.LocalID {
			t.Errorf("%s: topic %q", s.ID, topic)
		}
		if s.Lon < bbox[0] || s.Lon > bbox[2] || s.Lat < bbox[1] || s.Lat > bbox[3] {
			t.Errorf("%s: [%v, %v] outside %v", s.ID, s.Lon, s.Lat, bbox)
		}
		switch s.Type {
		case sim.TypeTraffic:
			if len(s.Road) != 2 || s.Road[0] == s.Road[1] {
				t.Errorf("%s: road %v, want 2 distinct points", s.ID, s.Road)
			}
			if !regexp.MustCompile(`^urn:ngsi-ld:RoadSegment:acme-r\d+$`).MatchString(s.RefRoadSegment) {
				t.Errorf("%s: refRoadSegment %q", s.ID, s.RefRoadSegment)
			}
		case sim.TypeSoil:
			if !regexp.MustCompile(`^urn:ngsi-ld:Greenspace:acme-g\d+$`).MatchString(s.RefGreenspace) {
				t.Errorf("%s: refGreenspace %q", s.ID, s.RefGreenspace)
			}
		default:
			if s.Road != nil || s.RefRoadSegment != "" || s.RefGreenspace != "" {
				t.Errorf("%s: unexpected road or refs: %+v", s.ID, s)
			}
		}
	}

	one := sim.NewFleet(sim.FleetConfig{Count: 20, Shapes: []sim.Shape{sim.ShapeV2KeyValues}})
	for _, s := range one.Sensors() {
		if s.Shape != sim.ShapeV2KeyValues {
			t.Errorf("%s: shape %q with Shapes=[v2-keyvalues]", s.ID, s.Shape)
		}
	}
}

func TestFleetConfigValidate(t *testing.T) {
	bad := []sim.FleetConfig{
		{Count: -1},
		{BBox: [4]float64{9.2, 45.4, 9.1, 45.5}},
		{Shapes: []sim.Shape{"xml"}},
		{Shapes: []sim.Shape{}},
		{Tenant: "a/b"},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", c)
		}
	}
	if err := (sim.FleetConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

// decoded is a reading parsed generically, the way a decoder sees it.
type decoded struct {
	id, typ string
	time    string
	attrs   map[string]any
	geoType string
	refs    map[string]string
}

// decode unwraps notifications and arrays and flattens the entity's
// attributes, whatever the shape.
func decode(t *testing.T, shape sim.Shape, payload []byte) decoded {
	t.Helper()
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatalf("%s: invalid JSON: %v\n%s", shape, err, payload)
	}
	var ent map[string]any
	switch v := doc.(type) {
	case []any:
		if shape != sim.ShapeArray || len(v) != 1 {
			t.Fatalf("%s: unexpected array of %d: %s", shape, len(v), payload)
		}
		ent = v[0].(map[string]any)
	case map[string]any:
		if data, ok := v["data"]; ok {
			d := data.([]any)
			if len(d) != 1 || v["subscriptionId"] == nil {
				t.Fatalf("%s: bad notification: %s", shape, payload)
			}
			if shape == sim.ShapeLDNotification {
				id, _ := v["id"].(string)
				if !strings.HasPrefix(id, "urn:ngsi-ld:Notification:") || v["type"] != "Notification" || v["notifiedAt"] == nil {
					t.Fatalf("%s: bad NGSI-LD notification header: %s", shape, payload)
				}
			} else if shape != sim.ShapeV2Notification {
				t.Fatalf("%s: unexpected notification", shape)
			}
			ent = d[0].(map[string]any)
		} else {
			ent = v
		}
	}
	out := decoded{attrs: map[string]any{}, refs: map[string]string{}}
	out.id, _ = ent["id"].(string)
	out.typ, _ = ent["type"].(string)
	for k, raw := range ent {
		switch k {
		case "id", "type", "@context":
			continue
		case "location":
			g := raw.(map[string]any)
			if gv, ok := g["value"].(map[string]any); ok {
				g = gv
			}
			out.geoType, _ = g["type"].(string)
			continue
		case "dateObserved":
			switch d := raw.(type) {
			case string:
				out.time = d
			case map[string]any:
				out.time, _ = d["value"].(string)
			}
			continue
		case "refRoadSegment", "refGreenspace":
			switch r := raw.(type) {
			case string:
				out.refs[k] = r
			case map[string]any:
				if o, ok := r["object"].(string); ok {
					out.refs[k] = o
				} else {
					out.refs[k], _ = r["value"].(string)
				}
			}
			continue
		}
		if m, ok := raw.(map[string]any); ok {
			if oa, ok := m["observedAt"].(string); ok {
				if out.time != "" && out.time != oa {
					t.Fatalf("%s: observedAt differs between attributes: %s", shape, payload)
				}
				out.time = oa
			}
			out.attrs[k] = m["value"]
		} else {
			out.attrs[k] = raw
		}
	}
	return out
}

func TestShapesEquivalent(t *testing.T) {
	f := sim.NewFleet(sim.FleetConfig{Count: 50, Seed: 11})
	times := []time.Time{at(0, 3, 0), at(0, 8, 0).Add(17 * time.Millisecond), at(1, 13, 5), at(1, 18, 30)}
	for i, s := range f.Sensors() {
		for _, tm := range times {
			want := f.Values(i, tm)
			wantTime := tm.UTC().Format("2006-01-02T15:04:05.000Z")
			for _, shape := range sim.Shapes {
				topic, p := f.ReadingAs(i, tm, shape)
				if topic != f.Topic(i) {
					t.Fatalf("%s: topic %q", s.ID, topic)
				}
				d := decode(t, shape, p)
				if d.id != s.ID || d.typ != s.Type {
					t.Errorf("%s %s: id/type %q %q", s.ID, shape, d.id, d.typ)
				}
				if d.time != wantTime {
					t.Errorf("%s %s: time %q, want %q", s.ID, shape, d.time, wantTime)
				}
				wantGeo := "Point"
				if s.Type == sim.TypeTraffic {
					wantGeo = "LineString"
				}
				if d.geoType != wantGeo {
					t.Errorf("%s %s: geometry %q, want %q", s.ID, shape, d.geoType, wantGeo)
				}
				if s.RefRoadSegment != "" && d.refs["refRoadSegment"] != s.RefRoadSegment ||
					s.RefGreenspace != "" && d.refs["refGreenspace"] != s.RefGreenspace {
					t.Errorf("%s %s: refs %v", s.ID, shape, d.refs)
				}
				for name, w := range want {
					if got := d.attrs[name]; got != w {
						t.Errorf("%s %s %s: payload %v (%T), Values %v (%T)", s.ID, shape, name, got, got, w, w)
					}
				}
			}
		}
	}
	// The sensor's own shape is what Reading uses.
	for i, s := range f.Sensors() {
		_, p := f.Reading(i, times[0])
		_, q := f.ReadingAs(i, times[0], s.Shape)
		if !bytes.Equal(p, q) {
			t.Errorf("%s: Reading differs from ReadingAs(own shape)", s.ID)
		}
	}
}

func TestContextAndUnits(t *testing.T) {
	f := sim.NewFleet(sim.FleetConfig{Count: 100, Seed: 5})
	tm := at(0, 9, 0)
	var withCtx, withoutCtx, ldArrays, v2Arrays int
	for i, s := range f.Sensors() {
		_, p := f.Reading(i, tm)
		hasCtx := bytes.Contains(p, []byte(`"@context"`))
		switch s.Shape {
		case sim.ShapeLDNormalized, sim.ShapeLDConcise:
			if !hasCtx {
				t.Errorf("%s %s: no @context", s.ID, s.Shape)
			}
		case sim.ShapeLDKeyValues:
			if hasCtx {
				withCtx++
			} else {
				withoutCtx++
			}
		case sim.ShapeArray:
			if bytes.Contains(p, []byte(`"Property"`)) {
				ldArrays++
			} else {
				v2Arrays++
			}
		case sim.ShapeV2KeyValues, sim.ShapeV2Normalized, sim.ShapeV2Notification, sim.ShapeLDNotification:
			if hasCtx {
				t.Errorf("%s %s: unexpected @context", s.ID, s.Shape)
			}
		}
		if s.Type == sim.TypeNoise {
			switch s.Shape {
			case sim.ShapeLDNormalized, sim.ShapeLDConcise:
				if !bytes.Contains(p, []byte(`"unitCode":"2N"`)) {
					t.Errorf("%s: no 2N unitCode: %s", s.ID, p)
				}
			case sim.ShapeV2Normalized:
				if !bytes.Contains(p, []byte(`"metadata":{"unitCode":{"type":"Text","value":"2N"}}`)) {
					t.Errorf("%s: no unitCode metadata: %s", s.ID, p)
				}
			}
		}
		if s.Type == sim.TypeAir && s.Shape == sim.ShapeLDNormalized && !bytes.Contains(p, []byte(`"unitCode":"GQ"`)) {
			t.Errorf("%s: no GQ unitCode: %s", s.ID, p)
		}
	}
	if withCtx == 0 || withoutCtx == 0 {
		t.Errorf("ld-keyvalues: %d with @context, %d without; want both", withCtx, withoutCtx)
	}
	if ldArrays == 0 || v2Arrays == 0 {
		t.Errorf("arrays: %d NGSI-LD, %d NGSI-v2; want both", ldArrays, v2Arrays)
	}
}

func TestPayloadSize(t *testing.T) {
	f := sim.NewFleet(sim.FleetConfig{Count: 100, Seed: 1})
	for i, s := range f.Sensors() {
		if s.Type != sim.TypeNoise {
			continue
		}
		_, p := f.ReadingAs(i, at(0, 12, 0), sim.ShapeV2KeyValues)
		if len(p) < 180 || len(p) > 320 {
			t.Errorf("noise v2-keyvalues body is %d bytes, want about 250: %s", len(p), p)
		}
		break
	}
}

func num(t *testing.T, v map[string]any, name string) float64 {
	t.Helper()
	x, ok := v[name].(float64)
	if !ok {
		t.Fatalf("%s: %v (%T), want float64", name, v[name], v[name])
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		t.Fatalf("%s: %v", name, x)
	}
	return x
}

func TestRanges(t *testing.T) {
	f := sim.NewFleet(sim.FleetConfig{Count: 100, Seed: 9})
	in := func(name string, x, lo, hi float64) {
		t.Helper()
		if x < lo || x > hi {
			t.Errorf("%s = %v outside [%v, %v]", name, x, lo, hi)
		}
	}
	for _, tm := range samples48h() {
		for i, s := range f.Sensors() {
			v := f.Values(i, tm)
			if t.Failed() {
				t.Fatalf("at %v, sensor %s", tm, s.ID)
			}
			switch s.Type {
			case sim.TypeNoise:
				laeq, lamax := num(t, v, "LAeq"), num(t, v, "LAmax")
				in("LAeq", laeq, 0, 200)
				in("LAeq", laeq, 35, 80)
				in("LAmax-LAeq", lamax-laeq, 7.9, 15.1)
			case sim.TypeAir:
				for _, k := range []string{"no2", "pm10", "pm25", "o3"} {
					in(k, num(t, v, k), 0, 200)
				}
				in("pm10", num(t, v, "pm10"), 15, 65)
				in("pm25/pm10", num(t, v, "pm25")/num(t, v, "pm10"), 0.5, 0.7)
			case sim.TypeTraffic:
				in("intensity", num(t, v, "intensity"), 0, 400)
				occ := num(t, v, "occupancy")
				in("occupancy", occ, 0, 1)
				in("averageVehicleSpeed", num(t, v, "averageVehicleSpeed"), 5, 65)
				if v["congested"] != (occ > 0.6) {
					t.Errorf("congested %v with occupancy %v", v["congested"], occ)
				}
			case sim.TypeSoil:
				in("soilMoistureVwc", num(t, v, "soilMoistureVwc"), 0, 1)
				in("soilTemperature", num(t, v, "soilTemperature"), -10, 40)
			case sim.TypeWeather:
				in("temperature", num(t, v, "temperature"), 8, 32)
				in("relativeHumidity", num(t, v, "relativeHumidity"), 0, 1)
				in("solarRadiation", num(t, v, "solarRadiation"), 0, 900)
				in("windSpeed", num(t, v, "windSpeed"), 0, 20)
				in("precipitation", num(t, v, "precipitation"), 0, 10)
			}
		}
	}
}

// mean averages attribute name over the sensors of type typ at tm.
func mean(t *testing.T, f *sim.Fleet, typ, name string, tm time.Time) float64 {
	t.Helper()
	var sum float64
	var n int
	for i, s := range f.Sensors() {
		if s.Type == typ {
			sum += num(t, f.Values(i, tm), name)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no %s sensors", typ)
	}
	return sum / float64(n)
}

func TestDailyPatterns(t *testing.T) {
	f := sim.NewFleet(sim.FleetConfig{Count: 200, Seed: 21})
	for day := range 2 {
		night := mean(t, f, sim.TypeTraffic, "intensity", at(day, 3, 0))
		morning := mean(t, f, sim.TypeTraffic, "intensity", at(day, 8, 0))
		evening := mean(t, f, sim.TypeTraffic, "intensity", at(day, 18, 0))
		midday := mean(t, f, sim.TypeTraffic, "intensity", at(day, 13, 0))
		if !(morning > 5*night && evening > 5*night && morning > midday && evening > midday) {
			t.Errorf("day %d intensity: night %.1f morning %.1f midday %.1f evening %.1f", day, night, morning, midday, evening)
		}
		if occ := mean(t, f, sim.TypeTraffic, "occupancy", at(day, 8, 0)); occ < 0.4 {
			t.Errorf("day %d: rush-hour occupancy %.2f", day, occ)
		}
		if vn, vr := mean(t, f, sim.TypeTraffic, "averageVehicleSpeed", at(day, 3, 0)),
			mean(t, f, sim.TypeTraffic, "averageVehicleSpeed", at(day, 8, 0)); vr >= vn-10 {
			t.Errorf("day %d: speed night %.1f, rush %.1f; want congestion to slow traffic", day, vn, vr)
		}
		ln, lr := mean(t, f, sim.TypeNoise, "LAeq", at(day, 3, 0)), mean(t, f, sim.TypeNoise, "LAeq", at(day, 8, 0))
		if ln < 40 || ln > 50 || lr < 66 || lr > 76 {
			t.Errorf("day %d: LAeq night %.1f (want ≈45), rush %.1f (want ≈72)", day, ln, lr)
		}
		no2n, no2r := mean(t, f, sim.TypeAir, "no2", at(day, 3, 0)), mean(t, f, sim.TypeAir, "no2", at(day, 9, 0))
		if no2n > 30 || no2r < 60 {
			t.Errorf("day %d: no2 night %.1f, after rush %.1f", day, no2n, no2r)
		}
		o3m, o3a := mean(t, f, sim.TypeAir, "o3", at(day, 8, 0)), mean(t, f, sim.TypeAir, "o3", at(day, 15, 0))
		if o3a < o3m+40 || o3a > 130 {
			t.Errorf("day %d: o3 morning %.1f, afternoon %.1f", day, o3m, o3a)
		}
		if s := mean(t, f, sim.TypeWeather, "solarRadiation", at(day, 2, 0)); s != 0 {
			t.Errorf("day %d: solar radiation %.0f at night", day, s)
		}
		if s := mean(t, f, sim.TypeWeather, "solarRadiation", at(day, 13, 0)); s < 600 || s > 850 {
			t.Errorf("day %d: solar radiation %.0f at 13:00", day, s)
		}
		if tn, td := mean(t, f, sim.TypeWeather, "temperature", at(day, 4, 0)), mean(t, f, sim.TypeWeather, "temperature", at(day, 15, 0)); td < tn+10 {
			t.Errorf("day %d: temperature 04:00 %.1f, 15:00 %.1f", day, tn, td)
		}
		for i, s := range f.Sensors() {
			if s.Type != sim.TypeSoil {
				continue
			}
			before := num(t, f.Values(i, at(day, 4, 55)), "soilMoistureVwc")
			after := num(t, f.Values(i, at(day, 5, 30)), "soilMoistureVwc")
			noon := num(t, f.Values(i, at(day, 12, 0)), "soilMoistureVwc")
			evening := num(t, f.Values(i, at(day, 20, 0)), "soilMoistureVwc")
			if !(before < after && after > noon && noon > evening) {
				t.Errorf("%s day %d: vwc 04:55 %.3f, 05:30 %.3f, 12:00 %.3f, 20:00 %.3f", s.ID, day, before, after, noon, evening)
			}
		}
	}
	// Noise follows traffic: the fleet-average LAeq correlates with the
	// logarithm of the fleet-average intensity over two days.
	var xs, ys []float64
	for _, tm := range samples48h() {
		xs = append(xs, math.Log10(mean(t, f, sim.TypeTraffic, "intensity", tm)))
		ys = append(ys, mean(t, f, sim.TypeNoise, "LAeq", tm))
	}
	if r := pearson(xs, ys); r < 0.95 {
		t.Errorf("correlation of LAeq with lg(intensity) is %.3f, want ≥ 0.95", r)
	}
}

func pearson(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

func BenchmarkReading(b *testing.B) {
	f := sim.NewFleet(sim.FleetConfig{Count: 100, Seed: 1})
	tm := at(0, 8, 0)
	for _, shape := range sim.Shapes {
		b.Run(string(shape), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			i := 0
			for b.Loop() {
				_, p := f.ReadingAs(i, tm, shape)
				n += len(p)
				if i++; i == f.Len() {
					i = 0
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "B/msg")
		})
	}
}

// BenchmarkReadingBaseline is the naive encoder the hand-written one is
// measured against: v2 keyValues through a map and encoding/json.
func BenchmarkReadingBaseline(b *testing.B) {
	f := sim.NewFleet(sim.FleetConfig{Count: 100, Seed: 1})
	sensors := f.Sensors()
	tm := at(0, 8, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := sensors[i]
		ent := map[string]any{"id": s.ID, "type": s.Type, "dateObserved": tm.UTC().Format("2006-01-02T15:04:05.000Z")}
		for k, v := range f.Values(i, tm) {
			ent[k] = v
		}
		if s.Road != nil {
			ent["location"] = map[string]any{"type": "LineString", "coordinates": s.Road}
		} else {
			ent["location"] = map[string]any{"type": "Point", "coordinates": []float64{s.Lon, s.Lat}}
		}
		if _, err := json.Marshal(ent); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(sensors) {
			i = 0
		}
	}
}
