package stream

import (
	"strings"
	"testing"
)

func TestMergeItems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []string
		want  string
	}{
		{"one item is copied", []string{`{"id":"a","x":1}`}, `{"id":"a","x":1}`},
		// Top-level members replace in place, new ones are appended; values
		// merge per attribute: a from the 3rd, b from the 2nd, c from the 1st.
		{"values per attribute", []string{
			`{"id":"s","type":"T","values":{"a":{"value":1},"c":{"value":5,"unitCode":"2N"}}}`,
			`{"id":"s","stale":true,"values":{"b":{"value":2}}}`,
			`{"id":"s","values":{"a":{"value":3}},"stale":false}`,
		}, `{"id":"s","type":"T","values":{"a":{"value":3},"c":{"value":5,"unitCode":"2N"},"b":{"value":2}},"stale":false}`},
		// links is not a merged member: the later object replaces it whole.
		{"other objects replace", []string{
			`{"id":"s","links":{"district":"d1","road":"r1"}}`,
			`{"id":"s","links":{"district":"d2"}}`,
		}, `{"id":"s","links":{"district":"d2"}}`},
		// null replaces values; a later object starts from nothing.
		{"null then object", []string{
			`{"id":"s","values":{"a":{"value":1}}}`,
			`{"id":"s","values":null}`,
			`{"id":"s","values":{"b":{"value":2}}}`,
		}, `{"id":"s","values":{"b":{"value":2}}}`},
		{"strings with braces, escapes and spaces", []string{
			` { "id" : "s}\"{" , "values" : { "a" : { "value" : "x,}" } } } `,
			`{"id":"s}\"{","values":{"b":{"value":[1,{"q":"]"}]}}}`,
		}, `{"id":"s}\"{","values":{"a":{ "value" : "x,}" },"b":{"value":[1,{"q":"]"}]}}}`},
	} {
		items := make([][]byte, len(tc.items))
		for i, s := range tc.items {
			items[i] = []byte(s)
		}
		got, err := mergeItems([]byte("prefix:"), items, []string{"values"})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != "prefix:"+tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, strings.TrimPrefix(string(got), "prefix:"), tc.want)
		}
	}
}

func TestMergeItemsMalformed(t *testing.T) {
	for _, bad := range []string{`[1]`, `{"a":1`, `{"a" 1}`, `{"a":"x}`, `{"a":1,}`, `{a:1}`, `{"a":}`} {
		got, err := mergeItems(nil, [][]byte{[]byte(`{"id":"s"}`), []byte(bad)}, []string{"values"})
		if err == nil {
			t.Errorf("%s: merged into %s, want an error", bad, got)
		} else if string(got) != bad {
			t.Errorf("%s: fallback %s, want the latest item as it is", bad, got)
		}
	}
}
