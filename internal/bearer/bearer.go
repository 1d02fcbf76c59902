// Package bearer checks the shared-secret tokens of citytwin's operator
// endpoints (the REST APIs and the /ws stream) and reads those of the
// provisioning API: RFC 6750 bearer tokens in
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
	got, ok := Header(r)
	if !ok {
		got = r.URL.Query().Get("token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// Header returns the token of r's "Authorization: Bearer <token>" header
// (the scheme in any case), and whether there is one.
func Header(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
