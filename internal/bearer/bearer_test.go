package bearer

import (
	"net/http/httptest"
	"testing"
)

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		name, target, auth, token string
		want                      bool
	}{
		{"header", "/x", "Bearer s3cret-token", "s3cret-token", true},
		{"header, any case and spaces", "/x", "bearer   s3cret-token ", "s3cret-token", true},
		{"query", "/x?token=s3cret-token", "", "s3cret-token", true},
		{"header wins over query", "/x?token=s3cret-token", "Bearer wrong", "s3cret-token", false},
		{"wrong", "/x", "Bearer wrong", "s3cret-token", false},
		{"basic is not bearer", "/x", "Basic czNjcmV0LXRva2Vu", "s3cret-token", false},
		{"missing", "/x", "", "s3cret-token", false},
		{"empty token never matches", "/x?token=", "", "", false},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := Matches(r, tc.token); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		auth, want string
		ok         bool
	}{
		{"Bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("GET", "/x?token=query", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got, ok := Header(r); got != tc.want || ok != tc.ok {
			t.Errorf("Header(%q) = %q, %v; want %q, %v", tc.auth, got, ok, tc.want, tc.ok)
		}
	}
}
