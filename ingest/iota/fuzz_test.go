package iota_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/twin"
)

// checkInputError checks what every error of the package obeys.
func checkInputError(t *testing.T, err error) {
	t.Helper()
	var ie *twin.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is a %T, not a *twin.InputError", err, err)
	}
	if ie.Reason == "" || ie.Rule == "" || !slices.Contains(twin.Reasons, ie.Reason) || !utf8.ValidString(ie.Rule) || !utf8.ValidString(ie.Field) || len(ie.Rule) > 400 {
		t.Fatalf("bad error %#v", ie)
	}
}

// FuzzParseUL checks that ParseUL never panics, that what it returns obeys
// the grammar (non-empty keys and values, no separator inside a field), and
// that FormatUL round-trips it.
func FuzzParseUL(f *testing.F) {
	for _, s := range []string{
		"t|15|k|abc", "|c|7|b|18", "gps|1.2/3.4#t|10", "2016-06-13T00:35:30Z|lle|100", "MQTT_2@ping|MADE_OK",
		"a|10||", "a|10|b|11##t|3", "", "|", "#", "||a|1", "a@b|c|d", "a|{\"x\":[1,2]}|b|None", "a|1|a|2",
		"bat|75.0#tmp|16.25#ill|0.0#pos|43.46321/-3.80446",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		groups, err := iota.ParseUL(payload)
		if err != nil {
			checkInputError(t, err)
			return
		}
		if len(groups) != strings.Count(string(payload), "#")+1 {
			t.Fatalf("%d groups for %q", len(groups), payload)
		}
		for _, g := range groups {
			if g.Result != nil {
				if g.Result.DeviceID == "" || g.Result.Command == "" || len(g.Pairs) > 0 {
					t.Fatalf("bad result group %+v", g)
				}
				continue
			}
			if len(g.Pairs) == 0 || strings.ContainsAny(g.Timestamp, "|#") {
				t.Fatalf("bad group %+v", g)
			}
			seen := map[string]bool{}
			for _, p := range g.Pairs {
				if p.Key == "" || p.Raw == "" || strings.ContainsAny(p.Key+p.Raw, "|#") || seen[p.Key] {
					t.Fatalf("bad pair %+v in %q", p, payload)
				}
				seen[p.Key] = true
				if v := p.Value(); v.Kind == iota.ValueNumber && (math.IsNaN(v.Num) || math.IsInf(v.Num, 0)) {
					t.Fatalf("cast %q to a non-finite number", p.Raw)
				}
			}
		}
		again, err := iota.ParseUL(iota.FormatUL(groups))
		if err != nil || !reflect.DeepEqual(again, groups) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", payload, again, err, groups)
		}
	})
}

// FuzzParseTopic checks that ParseTopic never panics, that the levels it
// returns are usable, and that Topic.String round-trips.
func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{
		"/ul/k/d/attrs", "json/k/d/attrs/t", "/k/d/cmdexe", "k/d/configuration/commands", "/ul/attrs/attrs/attrs",
		"//k/d/attrs", "/ul/k/d/attrs/", "/ul/k/d+/attrs", "", "/", "/ul/k/d/configuration/values",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		tp, err := iota.ParseTopic(topic)
		if err != nil {
			checkInputError(t, err)
			return
		}
		for _, l := range []string{tp.APIKey, tp.DeviceID} {
			if l == "" || strings.ContainsAny(l, "/+#") || !utf8.ValidString(l) {
				t.Fatalf("bad level %q in %+v", l, tp)
			}
		}
		if tp.Kind == 0 || strings.Contains(tp.Attr, "/") || tp.Attr != "" && tp.Kind != iota.KindAttrs {
			t.Fatalf("bad topic %+v", tp)
		}
		if !strings.HasSuffix(strings.TrimPrefix(topic, "/"), strings.TrimPrefix(tp.String(), "/")) {
			t.Fatalf("%+v.String() = %q is not the end of %q", tp, tp.String(), topic)
		}
		again, err := iota.ParseTopic(tp.String())
		if err != nil || again != tp {
			t.Fatalf("round trip of %q: %+v, %v", topic, again, err)
		}
	})
}

// FuzzParseJSONMeasures checks that ParseJSONMeasures never panics, agrees
// with encoding/json on what is JSON, returns finite numbers and valid
// JSON, and that re-encoding the groups parses back to the same groups.
func FuzzParseJSONMeasures(f *testing.F) {
	for _, s := range []string{
		`{"h": 70, "t": 15}`, `[{"h": "45%"}, {"h": "47%"}]`, `{"a": {"b": [1, null, true]}, "c": "x"}`,
		`{"humidity": " }(}`, `[]`, `42`, `{"": 1}`, `{"a": 1e999}`, `[{"a":1},2]`, `{"TimeInstant": "2020-02-22T22:22:22Z"}`,
		`{"a":1,"a":2}`, `NaN`, `{"a": NaN}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		groups, err := iota.ParseJSONMeasures(payload)
		if err != nil {
			checkInputError(t, err)
			return
		}
		if !json.Valid(payload) || len(groups) == 0 {
			t.Fatalf("accepted %q", payload)
		}
		var doc []map[string]json.RawMessage
		for _, g := range groups {
			obj := map[string]json.RawMessage{}
			for _, m := range g {
				if m.Name == "" || (m.Value.Kind == iota.ValueNumber && (math.IsNaN(m.Value.Num) || math.IsInf(m.Value.Num, 0))) {
					t.Fatalf("bad measure %+v", m)
				}
				b, _ := json.Marshal(m.Value)
				if !json.Valid(b) {
					t.Fatalf("value %+v encodes to invalid JSON %s", m.Value, b)
				}
				if _, dup := obj[m.Name]; dup {
					t.Fatalf("duplicate measure %q", m.Name)
				}
				obj[m.Name] = b
			}
			doc = append(doc, obj)
		}
		// Re-encode (member order aside, which a map loses) and compare
		// as sets.
		b, _ := json.Marshal(doc)
		again, err := iota.ParseJSONMeasures(b)
		if err != nil || len(again) != len(groups) {
			t.Fatalf("re-encoding %s: %v", b, err)
		}
		for i := range groups {
			if !sameMeasures(groups[i], again[i]) {
				t.Fatalf("round trip: %+v vs %+v", groups[i], again[i])
			}
		}
	})
}

func sameMeasures(a, b iota.MeasureGroup) bool {
	if len(a) != len(b) {
		return false
	}
	for _, m := range a {
		v, ok := b.Get(m.Name)
		if !ok {
			return false
		}
		if m.Value.Kind == iota.ValueJSON {
			var x, y any
			_ = json.Unmarshal([]byte(m.Value.Str), &x)
			_ = json.Unmarshal([]byte(v.Str), &y)
			if !reflect.DeepEqual(x, y) {
				return false
			}
			continue
		}
		if !m.Value.Equal(v) {
			return false
		}
	}
	return true
}

// FuzzMap checks that no Ultralight or JSON payload makes Map panic, and
// that every observation it returns validates.
func FuzzMap(f *testing.F) {
	f.Add("/ul/k/d1/attrs", []byte("l|62.5|t|215|2016-06-13T00:35:30Z|x|1"))
	f.Add("/json/k/d1/attrs", []byte(`[{"l": 1, "TimeInstant": "2020-01-01T00:00:00Z"}, {"location": {"type":"Point","coordinates":[1,2]}}]`))
	f.Add("/k/d1/attrs/t", []byte(`[{"timestamp":"2025-01-27T09:00:00Z","value":10.67}]`))
	f.Add("/ul/k/d1/cmdexe", []byte("d1@ping|ok"))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		ds, err := iota.DecodeDevices([]byte(`{"devices":[{"device_id":"d1","entity_type":"NoiseLevelObserved","timestamp":true,
			"attributes":[{"object_id":"l","name":"LAeq","type":"Number","metadata":{"unitCode":{"type":"Text","value":"2N"}}},
				{"object_id":"t","name":"temperature","type":"Number","expression":"value * 0.1"},
				{"name":"label","type":"Text","expression":"l|tostring|substr(0, 3)"}],
			"commands":[{"name":"ping"}]}]}`), "s", "/p")
		if err != nil {
			t.Fatal(err)
		}
		tp, err := iota.ParseTopic(topic)
		if err != nil || tp.Kind == iota.KindConfigCommands {
			return
		}
		m, err := iota.ParseMeasures(tp, iota.ResolveProtocol(tp, payload, &ds[0], nil, iota.ProtocolUnknown), payload)
		if err != nil {
			checkInputError(t, err)
			return
		}
		obs, errs := iota.Map(m, &ds[0], nil, now)
		for _, e := range errs {
			checkInputError(t, e)
		}
		for i := range obs {
			if err := twin.Validate(&obs[i], now, ""); err != nil {
				t.Fatalf("observation %+v does not validate: %v", obs[i], err)
			}
			if obs[i].Tenant != "s" || obs[i].EntityID != "NoiseLevelObserved:d1" {
				t.Fatalf("observation %+v", obs[i])
			}
		}
	})
}
