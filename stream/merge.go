package stream

import (
	"bytes"
	"errors"
	"fmt"
)

// Merging partial items. An item of a layer with Layer.Merge set is a merge
// patch of the entity's previous item: each top-level member replaces the
// previous one (null: removed), except the members named in Layer.Merge,
// objects whose own members replace the previous ones one by one (null:
// removed). The hub merges only when it conflates the deltas of a lagging
// client; otherwise it never looks inside an item.

// member is one member of a JSON object: its key as encoded (quotes
// included) and its value.
type member struct {
	key, val []byte
}

// errNotObject reports an item that is not a JSON object.
var errNotObject = errors.New("stream: item is not a JSON object")

// members appends the members of the JSON object obj to dst. It checks the
// structure only as far as needed to find the members' boundaries.
func members(dst []member, obj []byte) ([]member, error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return dst, errNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return dst, nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return dst, fmt.Errorf("stream: item: want a member name at byte %d", i)
		}
		ke, err := skipValue(obj, i)
		if err != nil {
			return dst, err
		}
		key := obj[i:ke]
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return dst, fmt.Errorf("stream: item: want ':' at byte %d", i)
		}
		vs := skipSpace(obj, i+1)
		ve, err := skipValue(obj, vs)
		if err != nil {
			return dst, err
		}
		dst = append(dst, member{key, obj[vs:ve]})
		i = skipSpace(obj, ve)
		if i >= len(obj) {
			return dst, errors.New("stream: item: unterminated object")
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return dst, nil
		default:
			return dst, fmt.Errorf("stream: item: want ',' or '}' at byte %d", i)
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, errors.New("stream: item: value missing")
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return len(b), errors.New("stream: item: unterminated string")
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, err := skipValue(b, j)
				if err != nil {
					return e, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return len(b), errors.New("stream: item: unterminated object or array")
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return j, fmt.Errorf("stream: item: unexpected %q at byte %d", b[i], i)
	}
	return j, nil
}

// patch merges the members of later objects into list: a member already
// present is replaced in place, a new one appended.
func patch(list []member, later []member) []member {
next:
	for _, m := range later {
		for i := range list {
			if bytes.Equal(list[i].key, m.key) {
				list[i].val = m.val
				continue next
			}
		}
		list = append(list, m)
	}
	return list
}

func appendObject(dst []byte, list []member) []byte {
	dst = append(dst, '{')
	for i, m := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}')
}

// mergeItems appends to dst the merge of the items in order (each a patch
// of the ones before it), deep naming the members merged member by member.
// A member whose merged value is null stays null: the client may hold an
// older state with it. On a malformed item it returns dst with the last
// item appended and the error.
func mergeItems(dst []byte, items [][]byte, deep []string) ([]byte, error) {
	if len(items) == 1 {
		return append(dst, items[0]...), nil
	}
	var top []member
	var err error
	if top, err = members(top, items[0]); err != nil {
		return append(dst, items[len(items)-1]...), err
	}
	// nested[k] holds the merged members of deep member k, once two
	// objects had to be merged.
	var nested map[string][]member
	for _, it := range items[1:] {
		var later []member
		if later, err = members(later, it); err != nil {
			return append(dst, items[len(items)-1]...), err
		}
		for _, m := range later {
			name := keyName(m.key)
			if !isDeep(name, deep) || !isObject(m.val) {
				top = patch(top, []member{m})
				if nested != nil {
					delete(nested, name)
				}
				continue
			}
			cur, ok := nested[name]
			if !ok {
				// The previous value of the member, if an object.
				for _, t := range top {
					if bytes.Equal(t.key, m.key) && isObject(t.val) {
						if cur, err = members(nil, t.val); err != nil {
							return append(dst, items[len(items)-1]...), err
						}
					}
				}
			}
			add, err := members(nil, m.val)
			if err != nil {
				return append(dst, items[len(items)-1]...), err
			}
			if nested == nil {
				nested = map[string][]member{}
			}
			nested[name] = patch(cur, add)
			top = patch(top, []member{{key: m.key, val: m.val}}) // placeholder, rewritten below
		}
	}
	dst = append(dst, '{')
	for i, m := range top {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		if list, ok := nested[keyName(m.key)]; ok {
			dst = appendObject(dst, list)
		} else {
			dst = append(dst, m.val...)
		}
	}
	return append(dst, '}'), nil
}

// keyName returns an encoded member name without its quotes (names with
// escapes are compared as encoded).
func keyName(key []byte) string { return string(key[1 : len(key)-1]) }

func isDeep(name string, deep []string) bool {
	for _, d := range deep {
		if d == name {
			return true
		}
	}
	return false
}

func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// mergeChain appends to dst the merge of the patches of one entity, oldest
// first. A malformed patch (a Source bug) is logged and the latest sent as
// it is.
func (h *Hub) mergeChain(dst []byte, list []*entry) []byte {
	items := make([][]byte, len(list))
	for i, e := range list {
		items[i] = e.json
	}
	out, err := mergeItems(dst, items, h.layerMerge[list[0].layer])
	if err != nil {
		h.log.Error("cannot merge partial items; sending the latest as it is", "layer", h.layers[list[0].layer].Name, "key", list[0].key, "error", err)
	}
	return out
}
