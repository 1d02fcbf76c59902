package ngsild

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// Limits of the entity query.
const (
	DefaultLimit = 20
	MaxLimit     = 1000
)

// Handler serves the NGSI-LD API over a twin state and city.
type Handler struct {
	State *twin.State
	City  *geo.City // nil: no feature entities
	// History answers temporal queries; nil answers 503.
	History Temporal
	// Now is the clock for staleness; default time.Now.
	Now func() time.Time

	// linearScan makes geo-queries visit every sensor instead of asking
	// the spatial index: the baseline of the benchmarks.
	linearScan bool
	// eagerFeatures computes every matching feature's indicators before
	// paging (the former way; the benchmarks' baseline).
	eagerFeatures bool
}

// Register adds the NGSI-LD routes to mux.
func (h *Handler) Register(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("GET /ngsi-ld/v1/entities", http.HandlerFunc(h.entities))
	mux.Handle("GET /ngsi-ld/v1/entities/{id}", http.HandlerFunc(h.entity))
	mux.Handle("GET /ngsi-ld/v1/types", http.HandlerFunc(h.types))
	mux.Handle("GET /ngsi-ld/v1/temporal/entities/{id}", http.HandlerFunc(h.temporal))
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Tenant returns the request's tenant: NGSILD-Tenant, else Fiware-Service,
// else twin.DefaultTenant.
func Tenant(r *http.Request) string {
	if t := r.Header.Get("NGSILD-Tenant"); t != "" {
		return t
	}
	if t := r.Header.Get("Fiware-Service"); t != "" {
		return t
	}
	return twin.DefaultTenant
}

// query is a parsed entity query.
type query struct {
	types     []string
	ids       map[string]bool
	idPattern *regexp.Regexp
	q         *Q
	attrs     projection
	rel       *geo.Relation
	limit     int
	offset    int
	count     bool
	format    format
}

// badRequest is a 400 naming the parameter and the rule.
type badRequest struct{ param, msg string }

func (e *badRequest) Error() string { return e.param + ": " + e.msg }

func bad(param, format string, args ...any) error {
	return &badRequest{param, fmt.Sprintf(format, args...)}
}

// splitList splits a comma-separated parameter, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseOptions(v string) (format, error) {
	f := normalized
	for _, o := range splitList(v) {
		switch o {
		case "keyValues", "simplified":
			f = keyValues
		case "concise":
			f = concise
		case "normalized":
			f = normalized
		case "sysAttrs", "temporalValues", "count":
			// sysAttrs: no system attributes are kept; temporalValues is
			// read by the temporal handler; count is the legacy option.
		default:
			return 0, bad("options", "unknown option %q: want keyValues, concise, normalized or sysAttrs", o)
		}
	}
	return f, nil
}

func parseFormat(vals map[string][]string) (format, error) {
	f, err := parseOptions(strings.Join(vals["options"], ","))
	if err != nil {
		return 0, err
	}
	if v := first(vals, "format"); v != "" {
		switch v {
		case "keyValues", "simplified":
			f = keyValues
		case "concise":
			f = concise
		case "normalized":
			f = normalized
		default:
			return 0, bad("format", "unknown format %q: want normalized, concise or keyValues", v)
		}
	}
	return f, nil
}

// attrList is the attributes named by attrs and pick (its newer name).
func attrList(vals map[string][]string) []string {
	return append(splitList(first(vals, "attrs")), splitList(first(vals, "pick"))...)
}

// parseProjection is attrList as a projection; nil when none is named.
func parseProjection(vals map[string][]string) projection {
	attrs := attrList(vals)
	if len(attrs) == 0 {
		return nil
	}
	p := make(projection, len(attrs))
	for _, a := range attrs {
		p[a] = true
	}
	return p
}

func first(vals map[string][]string, k string) string {
	if v := vals[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// queryValues parses the query string splitting on & only: NGSI-LD puts
// raw semicolons in georel and q (near;maxDistance==500, a==1;b==2), which
// net/url's parser rejects.
func queryValues(r *http.Request) (map[string][]string, error) {
	vals := map[string][]string{}
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, bad(k, "bad percent-encoding in parameter name")
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, bad(key, "bad percent-encoding: %v", err)
		}
		if len(vals[key]) > 0 {
			return nil, bad(key, "given more than once")
		}
		vals[key] = append(vals[key], val)
	}
	return vals, nil
}

func parseQuery(r *http.Request) (*query, error) {
	vals, err := queryValues(r)
	if err != nil {
		return nil, err
	}
	qr := &query{limit: DefaultLimit}
	known := []string{"type", "id", "idPattern", "q", "attrs", "pick", "georel", "geometry", "coordinates", "geoproperty",
		"limit", "offset", "count", "options", "format", "local", "lang"}
	for k := range vals {
		if !slices.Contains(known, k) {
			return nil, bad(k, "unknown parameter; supported: %s", strings.Join(known, ", "))
		}
	}
	qr.types = splitList(first(vals, "type"))
	for _, t := range qr.types {
		if strings.ContainsAny(t, "|;()") {
			return nil, bad("type", "type expressions with | ; ( ) are not supported, list types separated by commas")
		}
	}
	if ids := splitList(first(vals, "id")); len(ids) > 0 {
		qr.ids = make(map[string]bool, len(ids))
		for _, id := range ids {
			qr.ids[id] = true
		}
	}
	if p := first(vals, "idPattern"); p != "" {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, bad("idPattern", "not a regular expression: %v", err)
		}
		qr.idPattern = re
	}
	if s := first(vals, "q"); s != "" {
		q, err := ParseQ(s)
		if err != nil {
			return nil, &badRequest{"q", strings.TrimPrefix(err.Error(), "q: ")}
		}
		qr.q = q
	}
	qr.attrs = parseProjection(vals)
	if qr.rel, err = parseGeoQuery(vals); err != nil {
		return nil, err
	}
	if v := first(vals, "limit"); v != "" {
		if qr.limit, err = strconv.Atoi(v); err != nil || qr.limit < 0 {
			return nil, bad("limit", "must be a non-negative integer")
		}
		if qr.limit > MaxLimit {
			return nil, &badRequest{"limit", fmt.Sprintf("must not exceed %d", MaxLimit)}
		}
	}
	if v := first(vals, "offset"); v != "" {
		if qr.offset, err = strconv.Atoi(v); err != nil || qr.offset < 0 {
			return nil, bad("offset", "must be a non-negative integer")
		}
	}
	if v := first(vals, "count"); v != "" {
		if qr.count, err = strconv.ParseBool(v); err != nil {
			return nil, bad("count", "must be true or false")
		}
	}
	if qr.limit == 0 && !qr.count {
		return nil, bad("limit", "0 is only allowed with count=true")
	}
	if qr.format, err = parseFormat(vals); err != nil {
		return nil, err
	}
	return qr, nil
}

// parseGeoQuery reads georel, geometry, coordinates and geoproperty.
func parseGeoQuery(vals map[string][]string) (*geo.Relation, error) {
	georel, gtype, coords := first(vals, "georel"), first(vals, "geometry"), first(vals, "coordinates")
	if gp := first(vals, "geoproperty"); gp != "" && gp != "location" {
		return nil, bad("geoproperty", "only location is indexed")
	}
	if georel == "" && gtype == "" && coords == "" {
		return nil, nil
	}
	if georel == "" || gtype == "" || coords == "" {
		return nil, bad("georel", "georel, geometry and coordinates go together")
	}
	parts := strings.Split(georel, ";")
	rel := &geo.Relation{Rel: geo.GeoRel(parts[0])}
	for _, mod := range parts[1:] {
		k, v, ok := strings.Cut(mod, "==")
		if !ok {
			// Orion-LD also accepts the NGSI-v2 form maxDistance:1000.
			k, v, ok = strings.Cut(mod, ":")
		}
		d, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			return nil, bad("georel", "modifier %q: want maxDistance==metres or minDistance==metres", mod)
		}
		switch k {
		case "maxDistance":
			rel.MaxDistance = d
		case "minDistance":
			rel.MinDistance = d
		default:
			return nil, bad("georel", "unknown modifier %q: want maxDistance or minDistance", k)
		}
		if rel.Rel != geo.Near {
			return nil, bad("georel", "%s takes no distance, only near does", rel.Rel)
		}
	}
	if strings.HasPrefix(coords, "[") {
		raw := fmt.Sprintf(`{"type":%q,"coordinates":%s}`, gtype, coords)
		g, err := geojson.UnmarshalGeometry([]byte(raw))
		if err != nil {
			return nil, bad("coordinates", "not valid %s coordinates as a GeoJSON array: %v", gtype, err)
		}
		rel.Geometry = g.Geometry()
	} else {
		return nil, bad("coordinates", "must be a GeoJSON coordinates array, e.g. [9.19,45.46] (longitude first)")
	}
	if err := rel.Check(); err != nil {
		return nil, bad("georel", "%v", err)
	}
	return rel, nil
}

// result is one page of a query.
type result struct {
	page  []entity
	total int
}

// run evaluates qr for tenant.
func (h *Handler) run(tenant string, qr *query) (result, error) {
	var m *geo.Matcher
	if qr.rel != nil {
		var err error
		if m, err = geo.NewMatcher(*qr.rel); err != nil {
			return result{}, bad("geometry", "%v", err)
		}
		defer m.Close()
	}
	var sensorTypes, featTypes []string
	for _, t := range qr.types {
		if _, ok := featureTypes[t]; ok {
			featTypes = append(featTypes, t)
		} else {
			sensorTypes = append(sensorTypes, t)
		}
	}
	all := len(qr.types) == 0
	now := h.now()
	var matches []entity
	keep := func(e *entity) bool {
		if qr.ids != nil && !qr.ids[e.id] {
			return false
		}
		if qr.idPattern != nil && !qr.idPattern.MatchString(e.id) {
			return false
		}
		if qr.attrs != nil {
			has := false
			for i := range e.attrs {
				if qr.attrs[e.attrs[i].name] {
					has = true
					break
				}
			}
			if !has {
				return false
			}
		}
		if qr.q != nil && !qr.q.Match(e.get) {
			return false
		}
		if m != nil && qr.rel.Rel == geo.Near {
			e.dist = m.Distance(e.geom)
		}
		return true
	}
	if all || len(sensorTypes) > 0 {
		f := twin.Filter{Tenant: tenant, Types: sensorTypes}
		if qr.ids != nil || qr.idPattern != nil {
			f.ID = func(id string) bool {
				return (qr.ids == nil || qr.ids[id]) && (qr.idPattern == nil || qr.idPattern.MatchString(id))
			}
		}
		if m != nil {
			if b, ok := qr.rel.Bound(); ok && !h.linearScan {
				f.Bound = &b
			}
			f.Geo = m.Match
		}
		h.State.Query(f, func(s twin.Sensor) bool {
			e := sensorEntity(s, h.State.Stale(now, s))
			if keep(&e) {
				matches = append(matches, e)
			}
			return true
		})
	}
	if h.City != nil && (all || len(featTypes) > 0) {
		for _, k := range geo.Kinds {
			if !all && !slices.Contains(featTypes, typeOfKind(k)) {
				continue
			}
			h.features(k, qr, m, now, func(e entity) {
				if keep(&e) {
					matches = append(matches, e)
				}
			})
		}
	}
	if m != nil && qr.rel.Rel == geo.Near {
		sort.Slice(matches, func(i, j int) bool {
			if matches[i].dist != matches[j].dist {
				return matches[i].dist < matches[j].dist
			}
			return matches[i].id < matches[j].id
		})
	} else {
		sort.Slice(matches, func(i, j int) bool { return matches[i].id < matches[j].id })
	}
	res := result{total: len(matches)}
	lo := min(qr.offset, len(matches))
	hi := min(lo+qr.limit, len(matches))
	res.page = matches[lo:hi]
	for i := range res.page {
		if e := &res.page[i]; e.feat != nil {
			dist := e.dist
			*e = featureEntity(e.feat, h.State.Indicators(e.feat.Kind, e.feat.ID, now))
			e.dist = dist
		}
	}
	return res, nil
}

// features calls fn with the entity of every feature of layer k that passes
// the id and geo tests, with its indicators when the query filters on
// attributes, else deferred (entity.feat) until the page is known: a page of
// 20 road segments of 20,000 then computes 20 features' indicators, not
// 20,000.
func (h *Handler) features(k geo.Kind, qr *query, m *geo.Matcher, now time.Time, fn func(entity)) {
	var cands []*geo.Feature
	if qr.rel != nil {
		if b, ok := qr.rel.Bound(); ok {
			cands = h.City.Within(k, b)
		} else {
			cands = h.City.Features(k)
		}
	} else {
		cands = h.City.Features(k)
	}
	for _, f := range cands {
		id := FeatureID(k, f.ID)
		if qr.ids != nil && !qr.ids[id] || qr.idPattern != nil && !qr.idPattern.MatchString(id) {
			continue
		}
		if m != nil && !m.Match(f.Geometry) {
			continue
		}
		if qr.q == nil && qr.attrs == nil && !h.eagerFeatures {
			// Nothing filters on the indicators: computed after paging.
			fn(entity{id: id, typ: typeOfKind(k), geom: f.Geometry, feat: f})
			continue
		}
		fn(featureEntity(f, h.State.Indicators(k, f.ID, now)))
	}
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	if b, ok := err.(*badRequest); ok {
		problem(w, http.StatusBadRequest, errBadRequest, "Bad request data", b.Error())
		return
	}
	problem(w, http.StatusInternalServerError, errInternal, "Internal error", err.Error())
}

func (h *Handler) entities(w http.ResponseWriter, r *http.Request) {
	mt, ok := accept(w, r, true)
	if !ok {
		return
	}
	qr, err := parseQuery(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	res, err := h.run(Tenant(r), qr)
	if err != nil {
		h.fail(w, err)
		return
	}
	if qr.count {
		w.Header().Set("NGSILD-Results-Count", strconv.Itoa(res.total))
	}
	if mt == mtGeoJSON {
		feats := make([]any, len(res.page))
		for i := range res.page {
			feats[i] = renderFeature(&res.page[i], qr.format, qr.attrs)
		}
		write(w, mt, http.StatusOK, map[string]any{"type": "FeatureCollection", "features": feats})
		return
	}
	out := make([]any, len(res.page))
	for i := range res.page {
		out[i] = render(&res.page[i], qr.format, qr.attrs, mt == mtJSONLD)
	}
	write(w, mt, http.StatusOK, out)
}

// lookup finds one entity by id: a feature id, else a sensor of tenant.
func (h *Handler) lookup(tenant, id string) (entity, bool) {
	if k, local, ok := parseFeatureID(id); ok && h.City != nil {
		if f, ok := h.City.Feature(k, local); ok {
			return featureEntity(f, h.State.Indicators(k, f.ID, h.now())), true
		}
	}
	s, ok := h.State.Sensor(tenant, id)
	if !ok {
		return entity{}, false
	}
	return sensorEntity(s, h.State.Stale(h.now(), s)), true
}

func (h *Handler) entity(w http.ResponseWriter, r *http.Request) {
	mt, ok := accept(w, r, true)
	if !ok {
		return
	}
	vals, err := queryValues(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	for k := range vals {
		if !slices.Contains([]string{"attrs", "pick", "options", "format", "geoproperty", "lang", "local"}, k) {
			h.fail(w, bad(k, "unknown parameter; supported: attrs, options, format"))
			return
		}
	}
	f, err := parseFormat(vals)
	if err != nil {
		h.fail(w, err)
		return
	}
	p := parseProjection(vals)
	id := r.PathValue("id")
	e, ok := h.lookup(Tenant(r), id)
	if !ok {
		problem(w, http.StatusNotFound, errNotFound, "Entity not found", fmt.Sprintf("no entity %q in tenant %q", id, Tenant(r)))
		return
	}
	if mt == mtGeoJSON {
		write(w, mt, http.StatusOK, renderFeature(&e, f, p))
		return
	}
	write(w, mt, http.StatusOK, render(&e, f, p, mt == mtJSONLD))
}

// types lists the entity types of the tenant with their entity counts.
func (h *Handler) types(w http.ResponseWriter, r *http.Request) {
	counts := map[string]int{}
	h.State.Query(twin.Filter{Tenant: Tenant(r)}, func(s twin.Sensor) bool {
		counts[s.Type]++
		return true
	})
	if h.City != nil {
		for _, k := range geo.Kinds {
			if n := len(h.City.Features(k)); n > 0 {
				counts[typeOfKind(k)] += n
			}
		}
	}
	names := make([]string, 0, len(counts))
	for t := range counts {
		names = append(names, t)
	}
	sort.Strings(names)
	list := make([]map[string]any, len(names))
	for i, t := range names {
		list[i] = map[string]any{"id": t, "type": "EntityType", "typeName": t, "entityCount": counts[t]}
	}
	write(w, mtJSON, http.StatusOK, map[string]any{
		"id": "urn:ngsi-ld:EntityTypeList:" + Tenant(r), "type": "EntityTypeList", "typeList": names, "types": list,
	})
}
