package iota

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/valyala/fastjson"
)

// ValueKind is the JSON type of a Value.
type ValueKind uint8

// Value kinds. The zero Value is a JSON null.
const (
	ValueNull ValueKind = iota
	ValueNumber
	ValueBool
	ValueString
	// ValueJSON is an object or an array, kept as compact JSON text with its
	// members in payload order.
	ValueJSON
)

// String names the kind as in error messages.
func (k ValueKind) String() string {
	switch k {
	case ValueNull:
		return "null"
	case ValueNumber:
		return "number"
	case ValueBool:
		return "boolean"
	case ValueString:
		return "text"
	case ValueJSON:
		return "object or array"
	}
	return "unknown"
}

// Value is a measure or attribute value as the IoT Agents handle it: a JSON
// value. Numbers are float64 (as in JavaScript, which the agents are written
// in); objects and arrays are kept as compact JSON text.
type Value struct {
	Kind ValueKind
	Num  float64
	Bool bool
	// Str is the text of a ValueString, or the compact JSON of a ValueJSON.
	Str string
}

// Number returns a number Value.
func Number(f float64) Value { return Value{Kind: ValueNumber, Num: f} }

// Text returns a text Value.
func Text(s string) Value { return Value{Kind: ValueString, Str: s} }

// Bool returns a boolean Value.
func Bool(b bool) Value { return Value{Kind: ValueBool, Bool: b} }

// Null is the JSON null.
var Null = Value{}

// IsNull tells the JSON null.
func (v Value) IsNull() bool { return v.Kind == ValueNull }

// Equal tells two values with the same JSON meaning. ValueJSON values are
// compared as compact text, so member order matters.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case ValueNumber:
		return v.Num == w.Num
	case ValueBool:
		return v.Bool == w.Bool
	case ValueString, ValueJSON:
		return v.Str == w.Str
	}
	return true
}

// MarshalJSON encodes the value as JSON. A number that is not finite
// encodes as null, as JavaScript's JSON.stringify does.
func (v Value) MarshalJSON() ([]byte, error) {
	return v.AppendJSON(nil), nil
}

// AppendJSON appends the JSON encoding of v to dst.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind {
	case ValueNumber:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, v.Num, 'g', -1, 64)
	case ValueBool:
		return strconv.AppendBool(dst, v.Bool)
	case ValueString:
		b, _ := json.Marshal(v.Str)
		return append(dst, b...)
	case ValueJSON:
		return append(dst, v.Str...)
	}
	return append(dst, "null"...)
}

// UnmarshalJSON decodes any JSON value.
func (v *Value) UnmarshalJSON(b []byte) error {
	if !json.Valid(b) {
		return errors.New("a value must be JSON")
	}
	val, err := fastjson.ParseBytes(b)
	if err != nil {
		return err
	}
	*v = fromFast(val)
	return nil
}

// Text returns the value as the text a device or a UL payload would carry:
// text as is, numbers in their shortest form, null as "null", objects and
// arrays as JSON.
func (v Value) Text() string {
	if v.Kind == ValueString {
		return v.Str
	}
	return string(v.AppendJSON(nil))
}

// Any returns the value as Go data: nil, float64, bool, string, or for
// objects and arrays the result of encoding/json decoding into an any.
func (v Value) Any() any {
	switch v.Kind {
	case ValueNumber:
		return v.Num
	case ValueBool:
		return v.Bool
	case ValueString:
		return v.Str
	case ValueJSON:
		var x any
		if json.Unmarshal([]byte(v.Str), &x) != nil {
			return nil
		}
		return x
	}
	return nil
}

// valueOf converts Go data (as expression results are) into a Value. It
// returns false for data that has no JSON form (functions, channels, …) or
// a number that is not finite.
func valueOf(x any) (Value, bool) {
	switch t := x.(type) {
	case nil:
		return Null, true
	case Value:
		return t, true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return Null, false
		}
		return Number(t), true
	case float32:
		return valueOf(float64(t))
	case int:
		return Number(float64(t)), true
	case int64:
		return Number(float64(t)), true
	case int32:
		return Number(float64(t)), true
	case uint:
		return Number(float64(t)), true
	case uint64:
		return Number(float64(t)), true
	case bool:
		return Bool(t), true
	case string:
		return Text(t), true
	}
	b, err := json.Marshal(x)
	if err != nil {
		return Null, false
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return Null, false
	}
	val, err := fastjson.ParseBytes(buf.Bytes())
	if err != nil {
		return Null, false
	}
	return fromFast(val), true
}

// fromFast converts a parsed JSON value, copying everything out of the
// parser's memory.
func fromFast(v *fastjson.Value) Value {
	switch v.Type() {
	case fastjson.TypeNumber:
		// fastjson's own Float64 rounds some exponent forms wrongly
		// (11e10 → 1.1000000000000002e11); strconv is exact.
		f, err := strconv.ParseFloat(string(v.MarshalTo(nil)), 64)
		if err != nil && !math.IsInf(f, 0) {
			f, _ = v.Float64()
		}
		return Number(f)
	case fastjson.TypeTrue:
		return Bool(true)
	case fastjson.TypeFalse:
		return Bool(false)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return Text(string(b))
	case fastjson.TypeObject, fastjson.TypeArray:
		return Value{Kind: ValueJSON, Str: string(v.MarshalTo(nil))}
	}
	return Null
}

// castJSON reads s the way the IoT Agents cast Ultralight text values, with
// JavaScript's JSON.parse: text that is a JSON document becomes that value
// ("23" → 23, "true" → true, "[1,2]" → an array, "\"a\"" → a), anything else
// stays text ("None", "007", "23 dB", "['a']"). A number beyond float64 stays
// text.
func castJSON(s string) Value {
	if s == "" || !json.Valid([]byte(s)) {
		return Text(s)
	}
	v, err := fastjson.Parse(s)
	if err != nil {
		return Text(s)
	}
	val := fromFast(v)
	if val.Kind == ValueNumber && (math.IsInf(val.Num, 0) || math.IsNaN(val.Num)) {
		return Text(s)
	}
	return val
}
