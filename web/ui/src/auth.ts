// The operator token: when citytwin runs with -api-token, its REST APIs
// (api/…, ngsi-ld/…) and the stream want it. The dashboard takes it from its
// own URL (?token=…, as for the stream in main.ts) and sends it as a bearer
// header on every fetch, or as ?token= on links the browser opens itself
// (downloads, entities in a new tab).

let token: string | null | undefined;

/** The page's ?token=, or null. */
export function operatorToken(): string | null {
  if (token === undefined) {
    token = typeof location === 'undefined' ? null : new URLSearchParams(location.search).get('token');
  }
  return token;
}

/** Sets the token (tests; a page without ?token= leaves it null). */
export function setOperatorToken(t: string | null): void {
  token = t;
}

/** The Authorization header for a fetch, or none. */
export function authHeaders(): Record<string, string> {
  const t = operatorToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** url with the token as a query parameter, for links the browser opens. */
export function withToken(url: string): string {
  const t = operatorToken();
  if (!t) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}`;
}
