package ngsild

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// CoreContext is the NGSI-LD core @context linked from every response.
const CoreContext = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"

// format is an NGSI-LD representation.
type format uint8

const (
	normalized format = iota
	concise
	keyValues
)

// mediaType is the negotiated response type.
type mediaType string

const (
	mtJSON    mediaType = "application/json"
	mtJSONLD  mediaType = "application/ld+json"
	mtGeoJSON mediaType = "application/geo+json"
)

// negotiate picks the response media type from Accept (the first one
// listed that is served; */* and application/* mean application/json).
func negotiate(r *http.Request) (mediaType, bool) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mtJSON, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch mt {
		case string(mtJSON), "*/*", "application/*":
			return mtJSON, true
		case string(mtJSONLD):
			return mtJSONLD, true
		case string(mtGeoJSON):
			return mtGeoJSON, true
		}
	}
	return "", false
}

// accept negotiates the response type, answering 406 when none is served
// (GeoJSON only where geoJSON is true).
func accept(w http.ResponseWriter, r *http.Request, geoJSON bool) (mediaType, bool) {
	mt, ok := negotiate(r)
	if ok && (geoJSON || mt != mtGeoJSON) {
		return mt, true
	}
	detail := "Accept must allow application/json or application/ld+json"
	if geoJSON {
		detail = "Accept must allow application/json, application/ld+json or application/geo+json"
	}
	problem(w, http.StatusNotAcceptable, errNotAcceptable, "Not acceptable", detail)
	return "", false
}

func timeString(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// attrValue renders one attribute in format f.
func attrValue(a *attr, f format) any {
	switch f {
	case keyValues:
		if g, ok := a.value.(orb.Geometry); ok {
			return geojson.NewGeometry(g)
		}
		return a.value
	case concise:
		switch a.kind {
		case relationship:
			return map[string]any{"object": a.value}
		case geoProperty:
			return geojson.NewGeometry(a.value.(orb.Geometry))
		}
		if a.observedAt.IsZero() && a.unit == "" {
			return a.value
		}
		m := map[string]any{"value": a.value}
		addMeta(m, a)
		return m
	}
	switch a.kind {
	case relationship:
		return map[string]any{"type": "Relationship", "object": a.value}
	case geoProperty:
		return map[string]any{"type": "GeoProperty", "value": geojson.NewGeometry(a.value.(orb.Geometry))}
	}
	m := map[string]any{"type": "Property", "value": a.value}
	addMeta(m, a)
	return m
}

func addMeta(m map[string]any, a *attr) {
	if !a.observedAt.IsZero() {
		m["observedAt"] = timeString(a.observedAt)
	}
	if a.unit != "" {
		m["unitCode"] = a.unit
	}
}

// projection selects attributes: nil keeps all.
type projection map[string]bool

func (p projection) keeps(name string) bool { return p == nil || p[name] }

// render builds the JSON object of an entity. withContext adds @context
// (application/ld+json).
func render(e *entity, f format, p projection, withContext bool) map[string]any {
	m := make(map[string]any, len(e.attrs)+3)
	m["id"] = e.id
	m["type"] = e.typ
	for i := range e.attrs {
		if p.keeps(e.attrs[i].name) {
			m[e.attrs[i].name] = attrValue(&e.attrs[i], f)
		}
	}
	if withContext {
		m["@context"] = CoreContext
	}
	return m
}

// renderFeature builds a GeoJSON Feature of an entity: the geometry is the
// entity's location, the properties its attributes in format f plus type.
func renderFeature(e *entity, f format, p projection) map[string]any {
	props := render(e, f, p, false)
	delete(props, "id")
	var g any
	if e.geom != nil {
		g = geojson.NewGeometry(e.geom)
	}
	return map[string]any{"id": e.id, "type": "Feature", "geometry": g, "properties": props}
}

// write answers v as JSON with mt's content type and the core context link
// when the body carries no @context.
func write(w http.ResponseWriter, mt mediaType, status int, v any) {
	w.Header().Set("Content-Type", string(mt))
	if mt == mtJSON {
		w.Header().Set("Link", `<`+CoreContext+`>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`)
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Problem types (ETSI GS CIM 009 §5.5.2).
const (
	errBadRequest    = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
	errInvalid       = "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
	errNotFound      = "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
	errNotAcceptable = "https://uri.etsi.org/ngsi-ld/errors/NotAcceptable"
	errTooMany       = "https://uri.etsi.org/ngsi-ld/errors/TooManyResults"
	errInternal      = "https://uri.etsi.org/ngsi-ld/errors/InternalError"
)

// problem answers NGSI-LD ProblemDetails (RFC 9457 fields).
func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "title": title, "status": status, "detail": detail})
}
