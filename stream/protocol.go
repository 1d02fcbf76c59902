package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxTenantLen bounds a tenant name, in bytes.
const maxTenantLen = 256

// subscription is what one client receives: a comparable value, so that
// clients with equal subscriptions share one group and one encoding.
type subscription struct {
	tenant  string
	mask    uint64 // bit i: layer i
	hasBBox bool
	bbox    Bound
}

// wants reports whether the subscription receives e.
func (s *subscription) wants(e *entry) bool {
	if s.mask&(1<<e.layer) == 0 || (e.tenant != "" && e.tenant != s.tenant) {
		return false
	}
	return !s.hasBBox || (e.located && s.bbox.Meets(e.bound))
}

// protocolError says which field of a client message broke which rule. The
// client receives it as {"type":"error","field":…,"message":…}.
type protocolError struct {
	// Field is the JSON path of the offending field ("layers[2]", "bbox"),
	// empty when the message as a whole is wrong.
	Field string
	// Rule states what the field must be.
	Rule string
}

// Error returns "field: rule", or the rule alone for the whole message.
func (e *protocolError) Error() string {
	if e.Field == "" {
		return e.Rule
	}
	return e.Field + ": " + e.Rule
}

func perr(field, format string, args ...any) *protocolError {
	return &protocolError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// parseSubscribe validates a client message. headerTenant is the tenant the
// connection's headers named ("" if none); def the default tenant.
func (h *Hub) parseSubscribe(data []byte, headerTenant string) (subscription, *protocolError) {
	var sub subscription
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return sub, perr("", "a message must be a JSON object such as {\"type\":\"subscribe\",\"layers\":[\"noise\"]}")
	}
	for name := range fields {
		switch name {
		case "type", "layers", "bbox", "tenant":
		default:
			return sub, perr(name, "unknown field (a subscribe message has type, layers, bbox and tenant)")
		}
	}
	var typ string
	if raw, ok := fields["type"]; !ok || json.Unmarshal(raw, &typ) != nil {
		return sub, perr("type", "required: the string \"subscribe\"")
	}
	if typ != "subscribe" {
		return sub, perr("type", "must be \"subscribe\", got %q", typ)
	}

	raw, ok := fields["layers"]
	if !ok {
		return sub, perr("layers", "required: an array of layer names (one of %s); [] unsubscribes from everything", h.layerNames)
	}
	var layers []json.RawMessage
	if err := json.Unmarshal(raw, &layers); err != nil || layers == nil {
		return sub, perr("layers", "must be an array of layer names (one of %s)", h.layerNames)
	}
	for i, l := range layers {
		var name string
		if err := json.Unmarshal(l, &name); err != nil {
			return sub, perr(fmt.Sprintf("layers[%d]", i), "must be a string, one of %s", h.layerNames)
		}
		idx, ok := h.layerIndex[name]
		if !ok {
			return sub, perr(fmt.Sprintf("layers[%d]", i), "unknown layer %q: want one of %s", clip(name), h.layerNames)
		}
		sub.mask |= 1 << idx
	}

	if raw, ok := fields["bbox"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		var nums []json.RawMessage
		if err := json.Unmarshal(raw, &nums); err != nil || len(nums) != 4 {
			return sub, perr("bbox", "must be null or an array of 4 numbers [minLon, minLat, maxLon, maxLat]")
		}
		for i, n := range nums {
			var v float64
			if err := json.Unmarshal(n, &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return sub, perr(fmt.Sprintf("bbox[%d]", i), "must be a finite number")
			}
			sub.bbox[i] = v
		}
		b := sub.bbox
		switch {
		case b[0] < -180 || b[0] > 180:
			return sub, perr("bbox[0]", "minLon must be within [-180, 180], got %g", b[0])
		case b[2] < -180 || b[2] > 180:
			return sub, perr("bbox[2]", "maxLon must be within [-180, 180], got %g", b[2])
		case b[1] < -90 || b[1] > 90:
			return sub, perr("bbox[1]", "minLat must be within [-90, 90], got %g", b[1])
		case b[3] < -90 || b[3] > 90:
			return sub, perr("bbox[3]", "maxLat must be within [-90, 90], got %g", b[3])
		case b[0] > b[2]:
			return sub, perr("bbox", "minLon %g must be ≤ maxLon %g (a box across the antimeridian is not supported)", b[0], b[2])
		case b[1] > b[3]:
			return sub, perr("bbox", "minLat %g must be ≤ maxLat %g", b[1], b[3])
		}
		sub.hasBBox = true
	}

	sub.tenant = headerTenant
	if sub.tenant == "" {
		sub.tenant = h.cfg.DefaultTenant
	}
	if raw, ok := fields["tenant"]; ok {
		var t string
		if err := json.Unmarshal(raw, &t); err != nil {
			return sub, perr("tenant", "must be a string")
		}
		switch {
		case t == "" || len(t) > maxTenantLen || !utf8.ValidString(t):
			return sub, perr("tenant", "must be a non-empty UTF-8 string of at most %d bytes", maxTenantLen)
		case headerTenant != "" && t != headerTenant:
			return sub, perr("tenant", "must equal the connection's NGSILD-Tenant header %q, got %q", headerTenant, clip(t))
		}
		sub.tenant = t
	}
	return sub, nil
}

// clip shortens a client-supplied string quoted back in an error.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}

// entry is an Item inside the hub.
type entry struct {
	layer   uint8
	section uint8
	located bool
	partial bool
	tenant  string
	key     string
	bound   Bound
	json    []byte
}

// pendKey identifies an entity for conflation.
type pendKey struct {
	layer  uint8
	tenant string
	key    string
}

func (e *entry) pendKey() pendKey { return pendKey{e.layer, e.tenant, e.key} }

// bySection holds entries sorted into the message sections.
type bySection [len(sections)][]*entry

func (b *bySection) size() int {
	n := 0
	for _, s := range b {
		for _, e := range s {
			n += len(e.json) + 1
		}
	}
	return n
}

func (b *bySection) count() int {
	n := 0
	for _, s := range b {
		n += len(s)
	}
	return n
}

func (b *bySection) empty() bool {
	for _, s := range b {
		if len(s) > 0 {
			return false
		}
	}
	return true
}

// appendSections writes ,"sensors":[…],"features":[…],"alerts":[…]} closing
// the message object.
func appendSections(buf []byte, b *bySection) []byte {
	for i, s := range b {
		buf = append(buf, ',', '"')
		buf = append(buf, sections[i]...)
		buf = append(buf, '"', ':', '[')
		for j, e := range s {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, e.json...)
		}
		buf = append(buf, ']')
	}
	return append(buf, '}')
}

// appendDelta encodes {"type":"delta","seq":n,"sensors":[…],…}.
func appendDelta(buf []byte, seq uint64, b *bySection) []byte {
	buf = append(buf, `{"type":"delta","seq":`...)
	buf = strconv.AppendUint(buf, seq, 10)
	return appendSections(buf, b)
}

// appendSnapshot encodes {"type":"snapshot","seq":n,"full":…,"tenant":…,
// "layers":[…],"bbox":…,"sensors":[…],…}.
func (h *Hub) appendSnapshot(buf []byte, seq uint64, full bool, sub *subscription, b *bySection) []byte {
	buf = append(buf, `{"type":"snapshot","seq":`...)
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, `,"full":`...)
	buf = strconv.AppendBool(buf, full)
	buf = append(buf, `,"tenant":`...)
	t, _ := json.Marshal(sub.tenant)
	buf = append(buf, t...)
	buf = append(buf, `,"layers":[`...)
	first := true
	for i, l := range h.layers {
		if sub.mask&(1<<i) == 0 {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		n, _ := json.Marshal(l.Name)
		buf = append(buf, n...)
	}
	buf = append(buf, `],"bbox":`...)
	if sub.hasBBox {
		for i, v := range sub.bbox {
			buf = append(buf, "[,,,"[i])
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		}
		buf = append(buf, ']')
	} else {
		buf = append(buf, "null"...)
	}
	return appendSections(buf, b)
}

// errorMessage encodes {"type":"error","field":…,"message":…}.
func errorMessage(e *protocolError) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	}{typeError, e.Field, e.Error()})
	return b
}

// layerList formats layer names for error messages.
func layerList(layers []Layer) string {
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name
	}
	return strings.Join(names, ", ")
}

// validLayers checks a Source's layers.
func validLayers(layers []Layer) error {
	if len(layers) == 0 || len(layers) > maxLayers {
		return fmt.Errorf("stream: source has %d layers, want 1 to %d", len(layers), maxLayers)
	}
	seen := map[string]bool{}
	for i, l := range layers {
		switch {
		case l.Name == "":
			return fmt.Errorf("stream: source layer %d has no name", i)
		case seen[l.Name]:
			return fmt.Errorf("stream: source layer %q is listed twice", l.Name)
		case !slices.Contains(sections[:], l.Section):
			return fmt.Errorf("stream: source layer %q has section %q, want one of %v", l.Name, l.Section, sections)
		}
		seen[l.Name] = true
	}
	return nil
}
