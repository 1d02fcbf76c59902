// Package bearer checks the shared-secret tokens of citytwin's operator
// endpoints (the REST APIs and the /ws stream): RFC 6750 bearer tokens in
// the Authorization header, or in the token query parameter for what a
// browser opens itself (a WebSocket, an export link).
package bearer

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Matches reports whether r carries token as "Authorization: Bearer
// <token>" or, without that header, as the token query parameter. The
// comparison takes constant time; an empty token never matches.
func Matches(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	got := r.URL.Query().Get("token")
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		got = strings.TrimSpace(a[7:])
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
