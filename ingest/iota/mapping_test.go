package iota_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/twin"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func device(t *testing.T, js string) *iota.Device {
	t.Helper()
	ds, err := iota.DecodeDevices([]byte(`{"devices":[`+js+`]}`), "Milan", "/noise")
	if err != nil {
		t.Fatal(err)
	}
	return &ds[0]
}

func group(t *testing.T, js string) *iota.Group {
	t.Helper()
	gs, err := iota.DecodeGroups([]byte(`{"groups":[`+js+`]}`), "Milan", "/noise")
	if err != nil {
		t.Fatal(err)
	}
	return &gs[0]
}

// mapMsg parses and maps one message.
func mapMsg(t *testing.T, topic, payload string, dev *iota.Device, grp *iota.Group) ([]iota.Entity, []*twin.InputError) {
	t.Helper()
	tp, err := iota.ParseTopic(topic)
	if err != nil {
		t.Fatal(err)
	}
	m, err := iota.ParseMeasures(tp, iota.ResolveProtocol(tp, []byte(payload), dev, grp, iota.ProtocolUnknown), []byte(payload))
	if err != nil {
		t.Fatalf("ParseMeasures(%q): %v", payload, err)
	}
	return iota.MapNGSI(m, dev, grp, now)
}

// ngsi renders entities as NGSI-v2 JSON for comparison.
func ngsi(t *testing.T, es []iota.Entity) string {
	t.Helper()
	b, err := json.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(x) // sorted keys
	return string(b)
}

func TestMapNGSI(t *testing.T) {
	noise := `{"device_id":"noise001","entity_name":"urn:ngsi-ld:NoiseLevelObserved:noise001","entity_type":"NoiseLevelObserved",
		"attributes":[{"object_id":"l","name":"LAeq","type":"Number","metadata":{"unitCode":{"type":"Text","value":"2N"}}}],
		"static_attributes":[{"name":"location","type":"geo:json","value":{"type":"Point","coordinates":[9.19,45.46]}}]}`
	cases := []struct {
		name, topic, payload string
		dev, grp             string
		want                 string
	}{
		{"object_id, metadata, static", "/ul/k/noise001/attrs", "l|62.5|x|1", noise, "",
			`[{"LAeq":{"metadata":{"unitCode":{"type":"Text","value":"2N"}},"type":"Number","value":62.5},"id":"urn:ngsi-ld:NoiseLevelObserved:noise001","location":{"type":"geo:json","value":{"coordinates":[9.19,45.46],"type":"Point"}},"type":"NoiseLevelObserved","x":{"type":"Text","value":1}}]`},
		{"default entity name and type", "/ul/k/d1/attrs", "t|1", `{"device_id":"d1"}`, "",
			`[{"id":"Thing:d1","t":{"type":"Text","value":1},"type":"Thing"}]`},
		{"group type, autoprovisioned", "/json/k/d2/attrs", `{"t":"1"}`, "", `{"apikey":"k","entity_type":"Lamp"}`,
			`[{"id":"Lamp:d2","t":{"type":"Text","value":"1"},"type":"Lamp"}]`},
		{"entityNameExp", "/json/k/d2/attrs", `{"t":1}`, "", `{"apikey":"k","entity_type":"Lamp","entityNameExp":"'urn:ngsi-ld:Lamp:' + id"}`,
			`[{"id":"urn:ngsi-ld:Lamp:d2","t":{"type":"Text","value":1},"type":"Lamp"}]`},
		{"id and type measures renamed", "/json/k/d1/attrs", `{"id":"x","type":"y","t":2}`, `{"device_id":"d1","entity_type":"T"}`, "",
			`[{"id":"T:d1","measure_id":{"type":"Text","value":"x"},"measure_type":{"type":"Text","value":"y"},"t":{"type":"Text","value":2},"type":"T"}]`},
		{"TimeInstant measure, no timestamp option", "/ul/k/d1/attrs", "2016-06-13T00:35:30Z|t|1", `{"device_id":"d1","entity_type":"T"}`, "",
			`[{"TimeInstant":{"type":"DateTime","value":"2016-06-13T00:35:30Z"},"id":"T:d1","t":{"type":"Text","value":1},"type":"T"}]`},
		{"timestamp option adds arrival", "/ul/k/d1/attrs", "t|1", `{"device_id":"d1","entity_type":"T","timestamp":true,
			"static_attributes":[{"name":"s","type":"Text","value":"v"}]}`, "",
			`[{"TimeInstant":{"type":"DateTime","value":"2025-03-01T12:00:00.000Z"},"id":"T:d1","s":{"metadata":{"TimeInstant":{"type":"DateTime","value":"2025-03-01T12:00:00.000Z"}},"type":"Text","value":"v"},"t":{"metadata":{"TimeInstant":{"type":"DateTime","value":"2025-03-01T12:00:00.000Z"}},"type":"Text","value":1},"type":"T"}]`},
		{"timestamp option, measure time wins", "/json/k/d1/attrs", `{"t":1,"TimeInstant":"2020-02-22T22:22:22Z"}`, `{"device_id":"d1","entity_type":"T"}`, `{"apikey":"k","timestamp":true}`,
			`[{"TimeInstant":{"type":"DateTime","value":"2020-02-22T22:22:22Z"},"id":"T:d1","t":{"metadata":{"TimeInstant":{"type":"DateTime","value":"2020-02-22T22:22:22Z"}},"type":"Text","value":1},"type":"T"}]`},
		{"explicitAttrs true", "/ul/k/d1/attrs", "a|1|b|2", `{"device_id":"d1","entity_type":"T","explicitAttrs":true,"attributes":[{"name":"a","type":"Number"}]}`, "",
			`[{"a":{"type":"Number","value":1},"id":"T:d1","type":"T"}]`},
		{"explicitAttrs list", "/ul/k/d1/attrs", "a|1|b|2|c|3", `{"device_id":"d1","entity_type":"T","explicitAttrs":"['b',{object_id:'c'}]",
			"attributes":[{"name":"a","type":"Number"},{"name":"b","type":"Number"},{"object_id":"c","name":"cc","type":"Number"}]}`, "",
			`[{"b":{"type":"Number","value":2},"cc":{"type":"Number","value":3},"id":"T:d1","type":"T"}]`},
		{"explicitAttrs expression false", "/ul/k/d1/attrs", "a|1|b|2", `{"device_id":"d1","entity_type":"T","explicitAttrs":"a > 5","attributes":[{"name":"a","type":"Number"}]}`, "",
			`[{"a":{"type":"Number","value":1},"b":{"type":"Text","value":2},"id":"T:d1","type":"T"}]`},
		{"explicitAttrs group, device wins", "/ul/k/d1/attrs", "a|1|b|2", `{"device_id":"d1","entity_type":"T","explicitAttrs":false}`, `{"apikey":"k","explicitAttrs":true}`,
			`[{"a":{"type":"Text","value":1},"b":{"type":"Text","value":2},"id":"T:d1","type":"T"}]`},
		{"expressions", "/ul/k/d1/attrs", "t|215|l|853|v|2", `{"device_id":"d1","entity_type":"T","attributes":[
			{"object_id":"t","name":"temperature","type":"Number","expression":"value*0.1"},
			{"name":"double","type":"Number","expression":"temperature * 2 + 1"},
			{"object_id":"l","name":"level","type":"Number","expression":"${@value / 1000}"},
			{"object_id":"v","name":"label","type":"Text","expression":"${@v} of ${@l}"},
			{"name":"nothing","type":"Number","expression":"missing * 2"},
			{"name":"skipped","type":"Number","expression":"v * 1","skipValue":2}]}`, "",
			`[{"double":{"type":"Number","value":44},"id":"T:d1","label":{"type":"Text","value":"2 of 853"},"level":{"type":"Number","value":0.853},"temperature":{"type":"Number","value":21.5},"type":"T"}]`},
		{"group attributes merged by object_id", "/ul/k/d1/attrs", "c|23|t|1", `{"device_id":"d1","entity_type":"T","attributes":[{"name":"Correlation","type":"Number"}]}`,
			`{"apikey":"k","attributes":[{"object_id":"c","name":"Correlation","type":"Integer"},{"object_id":"t","name":"temperature","type":"celsius"}]}`,
			`[{"Correlation":{"type":"Integer","value":23},"id":"T:d1","temperature":{"type":"celsius","value":1},"type":"T"}]`},
		{"multi-measure sorted by TimeInstant", "/json/k/d1/attrs", `[{"t":2,"TimeInstant":"2020-01-02T00:00:00Z"},{"t":1,"TimeInstant":"2020-01-01T00:00:00Z"}]`, `{"device_id":"d1","entity_type":"T"}`, "",
			`[{"TimeInstant":{"type":"DateTime","value":"2020-01-01T00:00:00Z"},"id":"T:d1","t":{"type":"Text","value":1},"type":"T"},{"TimeInstant":{"type":"DateTime","value":"2020-01-02T00:00:00Z"},"id":"T:d1","t":{"type":"Text","value":2},"type":"T"}]`},
		{"group with nothing to send", "/ul/k/d1/attrs", "a|1", `{"device_id":"d1","entity_type":"T","explicitAttrs":true}`, "", `null`},
		{"command result", "/ul/k/d1/cmdexe", "d1@ping|1234567890", `{"device_id":"d1","entity_type":"T","commands":[{"name":"ping"}]}`, "",
			`[{"id":"T:d1","ping_info":{"type":"commandResult","value":1234567890},"ping_status":{"type":"commandStatus","value":"OK"},"type":"T"}]`},
		{"command result by object_id, group command", "/json/k/d1/cmdexe", `{"p":{"ok":true}}`, `{"device_id":"d1","entity_type":"T"}`, `{"apikey":"k","commands":[{"object_id":"p","name":"ping"}]}`,
			`[{"id":"T:d1","ping_info":{"type":"commandResult","value":{"ok":true}},"ping_status":{"type":"commandStatus","value":"OK"},"type":"T"}]`},
	}
	for _, c := range cases {
		var dev *iota.Device
		var grp *iota.Group
		if c.dev != "" {
			dev = device(t, c.dev)
		}
		if c.grp != "" {
			grp = group(t, c.grp)
		}
		ents, errs := mapMsg(t, c.topic, c.payload, dev, grp)
		if len(errs) > 0 {
			t.Errorf("%s: %v", c.name, errs)
			continue
		}
		if got := ngsi(t, ents); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		for _, e := range ents {
			if e.Service != "Milan" || e.ServicePath != "/noise" {
				t.Errorf("%s: tenancy %q %q", c.name, e.Service, e.ServicePath)
			}
		}
	}
}

func TestMapNGSIErrors(t *testing.T) {
	dev := device(t, `{"device_id":"d1","entity_type":"T","commands":[{"name":"ping"}]}`)
	stamped := device(t, `{"device_id":"d1","entity_type":"T","timestamp":true}`)
	cases := []struct {
		name, topic, payload string
		dev                  *iota.Device
		reason               twin.Reason
		field, rule          string
	}{
		{"bad UL timestamp", "/ul/k/d1/attrs", "a|1|b", dev, twin.ReasonBadTime, "TimeInstant", "odd number of fields starts with its timestamp"},
		{"bad TimeInstant with timestamp option", "/json/k/d1/attrs", `{"TimeInstant":"yesterday","a":1}`, stamped, twin.ReasonBadTime, "TimeInstant", "ISO 8601"},
		{"bad TimeInstant in a multi-measure", "/json/k/d1/attrs", `[{"a":1},{"TimeInstant":5,"a":2}]`, dev, twin.ReasonBadTime, "[1].TimeInstant", "got 5"},
		{"unknown command", "/ul/k/d1/cmdexe", "d1@reboot|ok", dev, twin.ReasonBadValue, "command", `command "reboot" is not provisioned`},
	}
	for _, c := range cases {
		ents, errs := mapMsg(t, c.topic, c.payload, c.dev, nil)
		if len(errs) != 1 || errs[0].Reason != c.reason || errs[0].Field != c.field || !strings.Contains(errs[0].Rule, c.rule) || errs[0].EntityID != "T:d1" {
			t.Errorf("%s: errors %v, want %s %s %q", c.name, errs, c.reason, c.field, c.rule)
		}
		if c.name == "bad TimeInstant in a multi-measure" && len(ents) != 1 {
			t.Errorf("%s: the good group should still map, got %d", c.name, len(ents))
		}
	}
	_, errs := iota.MapNGSI(iota.Measures{APIKey: "k", DeviceID: "d"}, nil, nil, now)
	if len(errs) != 1 || errs[0].Reason != twin.ReasonBadTopic {
		t.Errorf("no device and no group: %v", errs)
	}
}

func TestMap(t *testing.T) {
	dev := device(t, `{"device_id":"noise001","entity_name":"urn:ngsi-ld:NoiseLevelObserved:noise001","entity_type":"NoiseLevelObserved",
		"attributes":[{"object_id":"l","name":"LAeq","type":"Number","metadata":{"unitCode":{"type":"Text","value":"2N"}}},
			{"name":"refRoadSegment","type":"Relationship"}],
		"static_attributes":[{"name":"location","type":"geo:point","value":"45.46, 9.19"},{"name":"sonometerClass","type":"Text","value":"1"}]}`)
	tp, _ := iota.ParseTopic("/ul/k/noise001/attrs")
	m, err := iota.ParseMeasures(tp, iota.ProtocolUL, []byte("2025-03-01T11:59:00Z|l|62.5|on|true|refRoadSegment|urn:ngsi-ld:RoadSegment:1|cfg|{\"a\":1}|empty|\"\"|nul|null"))
	if err != nil {
		t.Fatal(err)
	}
	obs, errs := iota.Map(m, dev, nil, now)
	if len(errs) != 0 || len(obs) != 1 {
		t.Fatalf("Map = %+v, %v", obs, errs)
	}
	o := obs[0]
	want := twin.Observation{
		Tenant: "milan", EntityID: "urn:ngsi-ld:NoiseLevelObserved:noise001", EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise,
		Time: time.Date(2025, 3, 1, 11, 59, 0, 0, time.UTC), TimeSource: twin.TimeInstant, Location: orb.Point{9.19, 45.46},
		Attrs: []twin.Attr{
			{Name: "LAeq", Kind: twin.KindNumber, Num: 62.5, Unit: "2N"},
			{Name: "cfg", Kind: twin.KindString, Str: `{"a":1}`},
			{Name: "on", Kind: twin.KindBool, Bool: true},
			{Name: "sonometerClass", Kind: twin.KindString, Str: "1"},
		},
		Refs: map[string]string{"refRoadSegment": "urn:ngsi-ld:RoadSegment:1"},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("Map =\n%+v\nwant\n%+v", o, want)
	}

	// The arrival time, when the device sends none; a tenant defaults.
	anon := &iota.Device{DeviceID: "d", EntityType: "WeatherObserved"}
	tp, _ = iota.ParseTopic("/json/k/d/attrs")
	m, _ = iota.ParseMeasures(tp, iota.ProtocolJSON, []byte(`{"temperature": 21.5, "location": {"type": "LineString", "coordinates": [[9.1, 45.4], [9.2, 45.5]]}}`))
	obs, errs = iota.Map(m, anon, nil, now)
	if len(errs) != 0 || len(obs) != 1 || obs[0].Tenant != twin.DefaultTenant || obs[0].Time != now || obs[0].TimeSource != twin.TimeArrival ||
		obs[0].Domain != twin.DomainIrrigation || len(obs[0].Location.(orb.LineString)) != 2 {
		t.Errorf("Map = %+v, %v", obs, errs)
	}

	// A JSON single-measure series is one observation per element.
	tp, _ = iota.ParseTopic("/json/k/d/attrs/temperature")
	m, _ = iota.ParseMeasures(tp, iota.ProtocolJSON, []byte(`[{"timestamp":"2025-01-27T09:00:00Z","value":10.67},{"timestamp":"2025-01-27T12:00:00Z","value":10.2}]`))
	obs, errs = iota.Map(m, anon, nil, now)
	if len(errs) != 0 || len(obs) != 2 || obs[1].Time != time.Date(2025, 1, 27, 12, 0, 0, 0, time.UTC) || obs[1].Attrs[0].Num != 10.2 || obs[0].TimeSource != twin.TimeInstant {
		t.Errorf("series = %+v, %v", obs, errs)
	}

	// Rejections come from twin.Validate and the geometry rules.
	for _, c := range []struct {
		payload string
		reason  twin.Reason
	}{
		{`{"temperature": 500}`, twin.ReasonOutOfRange},
		{`{"location": "north"}`, twin.ReasonBadCoordinates},
		{`{"location": {"type":"Point","coordinates":[200, 0]}}`, twin.ReasonBadCoordinates},
		{`{"TimeInstant": "2030-01-01T00:00:00Z", "temperature": 1}`, twin.ReasonFutureTime},
		{`{"TimeInstant": "nope", "temperature": 1}`, twin.ReasonBadTime},
		{`{"x": null}`, twin.ReasonNoValues},
		{`{"long": "` + strings.Repeat("x", 300) + `"}`, twin.ReasonNoValues},
	} {
		tp, _ := iota.ParseTopic("/json/k/d/attrs")
		m, _ := iota.ParseMeasures(tp, iota.ProtocolJSON, []byte(c.payload))
		obs, errs := iota.Map(m, anon, nil, now)
		if len(obs) != 0 || len(errs) != 1 || errs[0].Reason != c.reason {
			t.Errorf("Map(%.40s) = %+v, %v; want %s", c.payload, obs, errs, c.reason)
		}
	}
}

// TestExpressionFunctions checks each whitelisted function through an
// attribute expression, as devices use them.
func TestExpressionFunctions(t *testing.T) {
	cases := []struct {
		expr    string
		payload string // JSON measures
		want    any    // nil: the attribute is left out
	}{
		{"parseint(s)", `{"s":"42.9px"}`, 42.0},
		{"parsefloat(s)", `{"s":"-4.25e1x"}`, -42.5},
		{"parsefloat(s)", `{"s":"x"}`, nil},
		{"round(n) + floor(n) + ceil(n)", `{"n":2.5}`, 8.0},
		{"tofixed(n, 2)", `{"n":3.14159}`, "3.14"},
		{"n|tostring", `{"n":0.000001}`, "0.000001"},
		{"tostring(n)", `{"n":1e21}`, "1e+21"},
		{"s|touppercase + s|tolowercase", `{"s":"Ab"}`, "ABab"},
		{"' a '|trim", `{}`, "a"},
		{"s|length", `{"s":"DevId629"}`, 8.0},
		{"s|indexOf('e')", `{"s":"DevId629"}`, 1.0},
		{"s|substr(0,s|indexOf('I'))", `{"s":"DevId629"}`, "Dev"},
		{"substr(s, -3)", `{"s":"DevId629"}`, "629"},
		{"replacestr(s, 'a', 'o')", `{"s":"banana"}`, "bonana"},
		{"replaceallstr(s, 'a', 'o')", `{"s":"banana"}`, "bonono"},
		{"location | split(', ')[1] | parsefloat()", `{"location":"40.4165, -3.70256"}`, -3.70256},
		{"joinarrtostr(a, '-')", `{"a":[1,"b"]}`, "1-b"},
		{"lengtharray(a)", `{"a":[1,2,3]}`, 3.0},
		{"jsonparse(s).x", `{"s":"{\"x\":5}"}`, 5.0},
		{"jsonstringify(o)", `{"o":{"a":1}}`, `{"a":1}`},
		{"ts|toisodate", `{"ts":1637245214901}`, "2021-11-18T14:20:14.901Z"},
		{"gettime(d)", `{"d":"2021-11-18T14:20:14.901Z"}`, 1637245214901.0},
		{"typeof(n) + typeof(s) + typeof(missing)", `{"n":1,"s":"x"}`, "numberstringundefined"},
		{"isnan(s) && !isnan(n)", `{"s":"abc","n":"12"}`, true},
		{"mapper(v, [1,2,3], ['low','mid','high'])", `{"v":2}`, "mid"},
		{"{coordinates: [lon, lat], type: 'Point'}", `{"lon":9.19,"lat":45.46}`, map[string]any{"coordinates": []any{9.19, 45.46}, "type": "Point"}},
		{"a || b", `{"a":false,"b":true}`, true},
		{"o.b[0].c|tostring", `{"o":{"b":[{"c":7}]}}`, "7"},
		{"(a + b)|tostring", `{"a":1,"b":2}`, "3"},
		{"name|substr(0,name|indexOf(\"e\")+1)", `{"name":"DevId629"}`, "De"},
		{"'ab'|touppercase + 'cd'", `{}`, "ABcd"},
		{"a |tostring|length", `{"a":12345}`, 5.0},
		{"x|trim", `{"x":"  |a|  "}`, "|a|"},
		{"n > 10 ? 'high' : 'low'", `{"n":11}`, "high"},
		{"n / 0", `{"n":1}`, nil},
		{"s + 1", `{"s":"x"}`, nil},
		{"1..100000000 | lengtharray()", `{}`, nil},
		{"replaceallstr(s, 'a', s)", `{"s":"` + strings.Repeat("a", 1000) + `"}`, nil},
	}
	for _, c := range cases {
		js, _ := json.Marshal(c.expr)
		dev := device(t, `{"device_id":"d1","entity_type":"T","attributes":[{"name":"out","type":"Any","expression":`+string(js)+`}]}`)
		tp, _ := iota.ParseTopic("/json/k/d1/attrs")
		m, err := iota.ParseMeasures(tp, iota.ProtocolJSON, []byte(c.payload))
		if err != nil {
			t.Fatal(err)
		}
		ents, errs := iota.MapNGSI(m, dev, nil, now)
		if len(errs) > 0 {
			t.Errorf("%s: %v", c.expr, errs)
			continue
		}
		var got any
		if len(ents) == 1 {
			if a, ok := ents[0].Attr("out"); ok {
				got = a.Value.Any()
			}
		}
		if f, ok := got.(float64); ok && c.want != nil {
			if w, ok := c.want.(float64); ok && math.Abs(f-w) < 1e-9 {
				continue
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s over %s = %#v, want %#v", c.expr, c.payload, got, c.want)
		}
	}
}

func TestTenantOf(t *testing.T) {
	if iota.TenantOf("SmartGondor") != "smartgondor" || iota.TenantOf("") != twin.DefaultTenant {
		t.Error("TenantOf")
	}
}

// TestConcurrentMap maps from many goroutines at once (run with -race):
// compiled expressions and JSON parsers are shared.
func TestConcurrentMap(t *testing.T) {
	dev := device(t, `{"device_id":"d1","entity_type":"T","attributes":[
		{"object_id":"t","name":"temperature","type":"Number","expression":"value * 0.1"},
		{"name":"label","type":"Text","expression":"t|tostring|substr(0, 2)"}]}`)
	payloads := []string{`{"t": 215, "x": [1, 2]}`, `[{"t": 1}, {"t": 2}]`, `{"t": "abc"}`}
	want := make([]string, len(payloads))
	tp, _ := iota.ParseTopic("/json/k/d1/attrs")
	for i, p := range payloads {
		m, _ := iota.ParseMeasures(tp, iota.ProtocolJSON, []byte(p))
		ents, _ := iota.MapNGSI(m, dev, nil, now)
		want[i] = ngsi(t, ents)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 50 {
				i := (g + r) % len(payloads)
				m, err := iota.ParseMeasures(tp, iota.ProtocolJSON, []byte(payloads[i]))
				if err != nil {
					t.Error(err)
					return
				}
				ents, _ := iota.MapNGSI(m, dev, nil, now)
				if got := ngsi(t, ents); got != want[i] {
					t.Errorf("concurrent map of %s = %s, want %s", payloads[i], got, want[i])
				}
			}
		})
	}
	wg.Wait()
}
