package iota

import (
	"strconv"
	"strings"

	"github.com/citytwin/citytwin/twin"
)

// ULGroup is one '#'-separated group of an Ultralight 2.0 payload: either
// measures (Pairs, with an optional Timestamp) or a command result (Result).
type ULGroup struct {
	// Timestamp is the group's leading timestamp field ("2016-06-13T00:35:30Z"
	// in "2016-06-13T00:35:30Z|lle|100"), empty when the group has none. It
	// becomes the TimeInstant measure; ParseUL does not check its syntax.
	Timestamp string
	// Pairs are the key|value pairs, in payload order.
	Pairs []ULPair
	// Result is set when the group is a command result,
	// "{deviceId}@{command}|{result}".
	Result *ULResult
}

// ULPair is one key|value measure. Ultralight values are untyped text;
// Value gives the typed reading the IoT Agents send on.
type ULPair struct {
	Key string
	Raw string
}

// Value casts the raw text as the IoT Agents do (JSON.parse with fallback):
// "23" → 23, "43.4" → 43.4, "true" → true, "null" → null, "[1,2]" and
// "{\"a\":1}" → JSON, anything else ("None", "007", "1.2/3.4") → text.
func (p ULPair) Value() Value { return castJSON(p.Raw) }

// Number returns the numeric reading of the raw text, if it is a number.
func (p ULPair) Number() (float64, bool) {
	v := castJSON(p.Raw)
	return v.Num, v.Kind == ValueNumber
}

// ULResult is an Ultralight command result, "{deviceId}@{command}|{result}".
type ULResult struct {
	DeviceID string
	Command  string
	// Raw is everything after the first '|' (empty when there is none).
	Raw string
}

// Value casts the result text as ULPair.Value does ("1234567890" →
// 1234567890, "Ping ok" → text).
func (r ULResult) Value() Value { return castJSON(r.Raw) }

// ParseUL parses an Ultralight 2.0 measure payload: '#'-separated groups of
// '|'-separated key|value pairs. The rules are those of the IoT Agent's
// parser (lib/ulParser.js):
//
//   - one leading '|' of a group is dropped ("|c|7" is "c|7");
//   - a group with an even number of '|' (an odd number of fields) starts
//     with a timestamp field ("2016-06-13T00:35:30Z|lle|100"); an empty one
//     is ignored;
//   - every key and every value must be non-empty, so "a|10||" and
//     "a|10|b|11##t|3" are errors, as is an empty payload;
//   - a group whose first field is "{deviceId}@{command}" is a command
//     result; the agent reads any group holding an '@' so, and then fails
//     on "email|a@b.c": citytwin only looks at the first field.
//
// Later pairs with the same key replace earlier ones at the earlier
// position, as the agent's object keys do. Bytes that are not UTF-8 read
// as U+FFFD, as in the agent. The error is a *twin.InputError
// (reason twin.ReasonUnknownShape) whose field names the group and field,
// and whose rule gives the byte offset.
func ParseUL(payload []byte) ([]ULGroup, error) {
	if len(payload) == 0 {
		return nil, ulError("", "an Ultralight payload must not be empty")
	}
	// The agents read the payload as UTF-8 text (Buffer.toString), which
	// turns invalid bytes into U+FFFD.
	s := strings.ToValidUTF8(string(payload), "\uFFFD")
	groups := make([]ULGroup, 0, strings.Count(s, "#")+1)
	offset := 0
	for gi, g := range strings.Split(s, "#") {
		grp, err := parseULGroup(g, gi, offset)
		if err != nil {
			return nil, err
		}
		groups = append(groups, grp)
		offset += len(g) + 1
	}
	return groups, nil
}

func parseULGroup(g string, gi, offset int) (ULGroup, error) {
	field := "groups[" + strconv.Itoa(gi) + "]"
	if g == "" {
		return ULGroup{}, ulError(field, "at byte %d: a measure group must not be empty (a doubled or trailing '#'?)", offset)
	}
	if g[0] == '|' {
		g, offset = g[1:], offset+1
	}
	first, rest, hasBar := strings.Cut(g, "|")
	if at := strings.IndexByte(first, '@'); at > 0 {
		r := &ULResult{DeviceID: first[:at], Command: first[at+1:], Raw: rest}
		if r.Command == "" {
			return ULGroup{}, ulError(field, "at byte %d: a command result must be {deviceId}@{command}|{result}", offset)
		}
		return ULGroup{Result: r}, nil
	}
	if !hasBar {
		return ULGroup{}, ulError(field, "at byte %d: a group must be key|value pairs separated by '|', got %q", offset, clip(g))
	}
	fields := strings.Split(g, "|")
	var grp ULGroup
	if len(fields)%2 == 1 {
		grp.Timestamp = fields[0]
		offset += len(fields[0]) + 1
		fields = fields[1:]
	}
	grp.Pairs = make([]ULPair, 0, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		k, v := fields[i], fields[i+1]
		ff := field + ".fields[" + strconv.Itoa(i) + "]"
		if k == "" {
			return ULGroup{}, ulError(ff, "at byte %d: a key must not be empty", offset)
		}
		if v == "" {
			return ULGroup{}, ulError(field+".fields["+strconv.Itoa(i+1)+"]", "at byte %d: the value of %q must not be empty", offset+len(k)+1, clip(k))
		}
		grp.Pairs = setPair(grp.Pairs, ULPair{Key: k, Raw: v})
		offset += len(k) + len(v) + 2
	}
	return grp, nil
}

// setPair appends p, or replaces the value of an earlier pair with its key.
func setPair(pairs []ULPair, p ULPair) []ULPair {
	for i := range pairs {
		if pairs[i].Key == p.Key {
			pairs[i].Raw = p.Raw
			return pairs
		}
	}
	return append(pairs, p)
}

func ulError(field, format string, args ...any) error {
	return twin.Errorf(twin.ReasonUnknownShape, "", field, "Ultralight 2.0: "+format, args...)
}

// FormatUL encodes measure groups as an Ultralight 2.0 payload, the inverse
// of ParseUL for groups it returned. Keys and values must not contain '|'
// or '#' (Ultralight has no escaping). A group whose first key holds an '@'
// gets an empty timestamp field ("||a@b|1"), lest it read as a command
// result.
func FormatUL(groups []ULGroup) []byte {
	var b []byte
	for i, g := range groups {
		if i > 0 {
			b = append(b, '#')
		}
		if g.Result != nil {
			b = append(b, g.Result.DeviceID...)
			b = append(b, '@')
			b = append(b, g.Result.Command...)
			b = append(b, '|')
			b = append(b, g.Result.Raw...)
			continue
		}
		if g.Timestamp != "" {
			b = append(b, g.Timestamp...)
			b = append(b, '|')
		} else if len(g.Pairs) > 0 && strings.IndexByte(g.Pairs[0].Key, '@') > 0 {
			b = append(b, "||"...)
		}
		for j, p := range g.Pairs {
			if j > 0 {
				b = append(b, '|')
			}
			b = append(b, p.Key...)
			b = append(b, '|')
			b = append(b, p.Raw...)
		}
	}
	return b
}

// ParseULResult parses an Ultralight command result published on cmdexe,
// "{deviceId}@{command}|{result}" ("weatherStation167@ping|Ping ok"). The
// agent keeps only the field after the first '|'; citytwin keeps the rest
// of the payload.
func ParseULResult(payload []byte) (ULResult, error) {
	s := strings.ToValidUTF8(string(payload), "\uFFFD")
	first, rest, _ := strings.Cut(s, "|")
	at := strings.IndexByte(first, '@')
	if at <= 0 || at == len(first)-1 {
		return ULResult{}, ulError("", "a command result must be {deviceId}@{command}|{result}, got %q", clip(s))
	}
	return ULResult{DeviceID: first[:at], Command: first[at+1:], Raw: rest}, nil
}

// ULCommand is an Ultralight command as a device receives it:
// "{deviceId}@{command}|{value}" or "{deviceId}@{command}|{k}={v}|…".
type ULCommand struct {
	DeviceID string
	Command  string
	// Value is the single value, when the command has no k=v parameters.
	Value string
	// Params are the k=v parameters, in payload order.
	Params []ULPair
}

// ParseULCommand parses a command payload as a device would (the agent's
// ulParser.command): one field without '=' is the value, otherwise every
// field must be k=v.
func ParseULCommand(payload []byte) (ULCommand, error) {
	s := strings.ToValidUTF8(string(payload), "\uFFFD")
	fields := strings.Split(s, "|")
	at := strings.IndexByte(fields[0], '@')
	if at <= 0 || at == len(fields[0])-1 {
		return ULCommand{}, ulError("", "a command must be {deviceId}@{command}[|…], got %q", clip(s))
	}
	c := ULCommand{DeviceID: fields[0][:at], Command: fields[0][at+1:]}
	data := fields[1:]
	if len(data) == 1 && !strings.Contains(data[0], "=") {
		c.Value = data[0]
		return c, nil
	}
	for i, f := range data {
		k, v, ok := strings.Cut(f, "=")
		if !ok || strings.Contains(v, "=") {
			return ULCommand{}, ulError("fields["+strconv.Itoa(i+1)+"]", "a command parameter must be key=value, got %q", clip(f))
		}
		c.Params = append(c.Params, ULPair{Key: k, Raw: v})
	}
	return c, nil
}

// EncodeULCommand encodes a command for an Ultralight device as the agent
// does (createCommandPayload): an object value becomes k=v parameters
// ("weatherStation167@ping|param1=1|param2=2"), any other value is sent as
// text ("Robot1@turn|left"). Nested objects and arrays in parameters are
// sent as JSON.
func EncodeULCommand(deviceID, command string, v Value) []byte {
	b := []byte(deviceID + "@" + command)
	if v.Kind == ValueJSON && strings.HasPrefix(v.Str, "{") {
		for _, m := range objectMembers(v) {
			b = append(b, '|')
			b = append(b, m.Name...)
			b = append(b, '=')
			b = append(b, m.Value.Text()...)
		}
		return b
	}
	b = append(b, '|')
	return append(b, v.Text()...)
}
