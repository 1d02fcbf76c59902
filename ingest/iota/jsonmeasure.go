package iota

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/citytwin/citytwin/twin"
)

// Measure is one named value a device reported.
type Measure struct {
	Name  string
	Value Value
}

// MeasureGroup is the measures of one NGSI update: one Ultralight '#'
// group, or one object of a JSON multi-measure array.
type MeasureGroup []Measure

// Get returns the value of the named measure.
func (g MeasureGroup) Get(name string) (Value, bool) {
	for _, m := range g {
		if m.Name == name {
			return m.Value, true
		}
	}
	return Null, false
}

// set appends m, or replaces the value of an earlier measure of that name
// at its position (JavaScript object semantics).
func (g MeasureGroup) set(m Measure) MeasureGroup {
	for i := range g {
		if g[i].Name == m.Name {
			g[i].Value = m.Value
			return g
		}
	}
	return append(g, m)
}

var jsonParsers fastjson.ParserPool

// parseJSON parses a strict JSON document (no NaN or Infinity, which
// fastjson alone would accept) and returns the root value, valid until the
// parser is put back.
func parseJSON(payload []byte) (*fastjson.Parser, *fastjson.Value, error) {
	if !utf8.Valid(payload) {
		// The agents read the payload as UTF-8 text (Buffer.toString),
		// which turns invalid bytes into U+FFFD.
		payload = []byte(strings.ToValidUTF8(string(payload), "\uFFFD"))
	}
	if !json.Valid(payload) {
		return nil, nil, jsonSyntaxError(payload)
	}
	p := jsonParsers.Get()
	v, err := p.ParseBytes(payload)
	if err != nil {
		jsonParsers.Put(p)
		return nil, nil, twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON nested at most %d levels deep", fastjson.MaxDepth)
	}
	return p, v, nil
}

func jsonSyntaxError(payload []byte) error {
	err := json.Unmarshal(payload, new(json.RawMessage))
	if se, ok := err.(*json.SyntaxError); ok {
		return twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON: %s (at byte %d)", clip(se.Error()), se.Offset)
	}
	if err == nil {
		return twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON")
	}
	return twin.Errorf(twin.ReasonNotJSON, "", "", "payload must be JSON: %s", clip(err.Error()))
}

// ParseJSONMeasures parses an IoT Agent JSON measure payload: a flat object
// of measures ({"h": 70, "t": 15}, one group), or an array of such objects
// (multi-measure, one group each). Values keep their JSON type; nested
// objects and arrays are ValueJSON. A "TimeInstant" member is a measure
// like the others. The error is a *twin.InputError naming the JSON path.
func ParseJSONMeasures(payload []byte) ([]MeasureGroup, error) {
	p, v, err := parseJSON(payload)
	if err != nil {
		return nil, err
	}
	defer jsonParsers.Put(p)
	switch v.Type() {
	case fastjson.TypeObject:
		g, err := jsonGroup(v, "")
		if err != nil {
			return nil, err
		}
		return []MeasureGroup{g}, nil
	case fastjson.TypeArray:
		arr, _ := v.Array()
		if len(arr) == 0 {
			return nil, twin.Errorf(twin.ReasonNoValues, "", "", "a multi-measure array must hold at least one object")
		}
		out := make([]MeasureGroup, 0, len(arr))
		for i, e := range arr {
			path := "[" + strconv.Itoa(i) + "]"
			if e.Type() != fastjson.TypeObject {
				return nil, twin.Errorf(twin.ReasonUnknownShape, "", path, "every element of a multi-measure array must be an object of measures, got %s", jsonType(e))
			}
			g, err := jsonGroup(e, path)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	return nil, twin.Errorf(twin.ReasonUnknownShape, "", "", "measures must be a JSON object or an array of objects, got %s", jsonType(v))
}

func jsonGroup(v *fastjson.Value, path string) (MeasureGroup, error) {
	o, _ := v.Object()
	g := make(MeasureGroup, 0, o.Len())
	var err error
	o.Visit(func(k []byte, mv *fastjson.Value) {
		if err != nil {
			return
		}
		field := path + "." + string(k)
		if path == "" {
			field = string(k)
		}
		switch {
		case len(k) == 0:
			err = twin.Errorf(twin.ReasonBadValue, "", path, "measure names must not be empty")
			return
		case !utf8.Valid(k):
			err = twin.Errorf(twin.ReasonBadValue, "", path, "measure names must be valid UTF-8")
			return
		}
		val := fromFast(mv)
		if val.Kind == ValueNumber && (math.IsInf(val.Num, 0) || math.IsNaN(val.Num)) {
			err = twin.Errorf(twin.ReasonBadValue, "", clip(field), "must be a finite number")
			return
		}
		g = g.set(Measure{Name: string(k), Value: val})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ParseJSONValue reads the payload of a JSON agent single-measure topic
// (".../attrs/{attr}"): a JSON document is its value ("87" → 87, "\"32\"" →
// "32", an array of {"timestamp","value"} objects → that array); any other
// payload is binary and becomes its hexadecimal text, as the JSON agent
// stores it ("hello" → "68656c6c6f").
func ParseJSONValue(payload []byte) Value {
	if len(payload) == 0 || !json.Valid(payload) {
		return Text(hex.EncodeToString(payload))
	}
	p, v, err := parseJSON(payload)
	if err != nil {
		return Text(hex.EncodeToString(payload))
	}
	defer jsonParsers.Put(p)
	val := fromFast(v)
	if val.Kind == ValueNumber && (math.IsInf(val.Num, 0) || math.IsNaN(val.Num)) {
		return Text(hex.EncodeToString(payload))
	}
	return val
}

// JSONResult is one command result of a JSON agent cmdexe payload.
type JSONResult struct {
	Command string
	Value   Value
}

// ParseJSONResults parses a JSON agent command result payload,
// {"{command}": {result}, …} ({"ping": "1234567890"}), one result per
// member.
func ParseJSONResults(payload []byte) ([]JSONResult, error) {
	p, v, err := parseJSON(payload)
	if err != nil {
		return nil, err
	}
	defer jsonParsers.Put(p)
	if v.Type() != fastjson.TypeObject {
		return nil, twin.Errorf(twin.ReasonUnknownShape, "", "", "a command result must be an object {\"command\": result}, got %s", jsonType(v))
	}
	o, _ := v.Object()
	if o.Len() == 0 {
		return nil, twin.Errorf(twin.ReasonNoValues, "", "", "a command result must name a command")
	}
	var out []JSONResult
	o.Visit(func(k []byte, mv *fastjson.Value) {
		out = append(out, JSONResult{Command: string(k), Value: fromFast(mv)})
	})
	for _, r := range out {
		if r.Command == "" || !utf8.ValidString(r.Command) {
			return nil, twin.Errorf(twin.ReasonBadValue, "", "", "command names must be non-empty UTF-8 text")
		}
	}
	return out, nil
}

// EncodeJSONCommand encodes a command for a JSON device as the agent does:
// {"{command}": value} ({"ping": {"data": "22"}}).
func EncodeJSONCommand(command string, v Value) []byte {
	b, _ := json.Marshal(command)
	b = append([]byte{'{'}, b...)
	b = append(b, ':')
	b = v.AppendJSON(b)
	return append(b, '}')
}

// objectMembers lists the members of a ValueJSON object in order; nil for
// anything else.
func objectMembers(v Value) []Measure {
	if v.Kind != ValueJSON {
		return nil
	}
	val, err := fastjson.Parse(v.Str)
	if err != nil || val.Type() != fastjson.TypeObject {
		return nil
	}
	o, _ := val.Object()
	var out []Measure
	o.Visit(func(k []byte, mv *fastjson.Value) {
		out = append(out, Measure{Name: string(k), Value: fromFast(mv)})
	})
	return out
}

func jsonType(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "an array"
	case fastjson.TypeString:
		return "a string"
	case fastjson.TypeNumber:
		return "a number"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "a boolean"
	}
	return "null"
}
