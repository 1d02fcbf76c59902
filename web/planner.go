package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/twin"
)

// PlannerAPI serves history analytics and what-if scenarios:
//
//	GET    /api/v1/analytics/{domain}          noise | air | traffic | irrigation; last=7d or start&end (RFC 3339),
//	                                           groupBy, periods, limitClass, refillVwc, tenant; format=json|csv|geojson
//	POST   /api/v1/scenarios/run               run a scenario (JSON or YAML body), not saved; format=json|csv|geojson
//	POST   /api/v1/scenarios                   run and save (201 with the saved scenario)
//	GET    /api/v1/scenarios                   the tenant's saved scenarios, newest first
//	GET    /api/v1/scenarios/{id}              one saved scenario with its latest result
//	POST   /api/v1/scenarios/{id}/run          re-run on the current data
//	DELETE /api/v1/scenarios/{id}
//	GET    /api/v1/scenarios/{id}/export       format=json|csv|geojson (a download)
//	GET    /api/v1/scenarios/compare?a=&b=     two saved scenarios side by side
//
// The tenant is the tenant parameter, else NGSILD-Tenant or Fiware-Service,
// else twin.DefaultTenant (a scenario's own tenant field wins for runs).
// Errors are problem details with "field" and "rule".
type PlannerAPI struct {
	Planner *planner.Planner
	Store   *planner.Store
}

// maxSpecBytes bounds a scenario document.
const maxSpecBytes = 1 << 20

// Register adds the endpoints to s.
func (a *PlannerAPI) Register(s *Server) {
	s.Handle("GET /api/v1/analytics/{domain}", http.HandlerFunc(a.analytics))
	s.Handle("POST /api/v1/scenarios/run", http.HandlerFunc(a.runOnce))
	s.Handle("POST /api/v1/scenarios", http.HandlerFunc(a.create))
	s.Handle("GET /api/v1/scenarios", http.HandlerFunc(a.list))
	s.Handle("GET /api/v1/scenarios/compare", http.HandlerFunc(a.compare))
	s.Handle("GET /api/v1/scenarios/{id}", http.HandlerFunc(a.get))
	s.Handle("DELETE /api/v1/scenarios/{id}", http.HandlerFunc(a.delete))
	s.Handle("POST /api/v1/scenarios/{id}/run", http.HandlerFunc(a.rerun))
	s.Handle("GET /api/v1/scenarios/{id}/export", http.HandlerFunc(a.export))
}

func tenantOf(r *http.Request) string {
	return cmp.Or(r.URL.Query().Get("tenant"), r.Header.Get("NGSILD-Tenant"), r.Header.Get("Fiware-Service"), twin.DefaultTenant)
}

// fieldProblem answers 400 naming the field and the rule.
func fieldProblem(w http.ResponseWriter, field, rule string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusBadRequest)
	detail := rule
	if field != "" {
		detail = field + ": " + rule
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": "invalid request", "status": 400,
		"detail": detail, "field": field, "rule": rule})
}

func plannerError(w http.ResponseWriter, err error) {
	var se *planner.SpecError
	switch {
	case errors.As(err, &se):
		fieldProblem(w, se.Field, se.Rule)
	case errors.Is(err, planner.ErrNotFound):
		problem(w, http.StatusNotFound, "not found", err.Error())
	default:
		problem(w, http.StatusBadGateway, "history unavailable", err.Error())
	}
}

func (a *PlannerAPI) analytics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	win, err := windowOf(q.Get("last"), q.Get("start"), q.Get("end"))
	if err != nil {
		plannerError(w, err)
		return
	}
	query := planner.Query{Domain: r.PathValue("domain"), Tenant: tenantOf(r), Window: win, GroupBy: q.Get("groupBy"),
		Periods: q.Get("periods"), LimitClass: q.Get("limitClass")}
	if v := q.Get("refillVwc"); v != "" {
		if err := json.Unmarshal([]byte(v), &query.RefillVWC); err != nil {
			fieldProblem(w, "refillVwc", "must be a number within 0..1")
			return
		}
	}
	format := cmp.Or(q.Get("format"), "json")
	if format != "json" && format != "csv" && format != "geojson" {
		fieldProblem(w, "format", "must be json, csv or geojson")
		return
	}
	an, err := a.Planner.Analyze(r.Context(), query)
	if err != nil {
		plannerError(w, err)
		return
	}
	switch format {
	case "geojson":
		writeJSON(w, "application/geo+json", a.Planner.AnalysisGeoJSON(an))
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_ = planner.WriteAnalysisCSV(w, an)
	default:
		writeJSON(w, "application/json", an)
	}
}

func windowOf(last, start, end string) (planner.Window, error) {
	w := planner.Window{Last: last}
	if start == "" && end == "" && last == "" {
		w.Last = "7d"
	}
	for _, p := range []struct {
		name, v string
		dst     *time.Time
	}{{"start", start, &w.Start}, {"end", end, &w.End}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.v)
		if err != nil {
			return w, &planner.SpecError{Field: p.name, Rule: "must be an RFC 3339 time such as 2026-11-01T00:00:00Z"}
		}
		*p.dst = t
	}
	return w, nil
}

// readSpec reads a scenario from the body (JSON or YAML).
func readSpec(r *http.Request) (planner.Spec, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSpecBytes+1))
	if err != nil {
		return planner.Spec{}, &planner.SpecError{Rule: "could not read the body: " + err.Error()}
	}
	if len(body) > maxSpecBytes {
		return planner.Spec{}, &planner.SpecError{Rule: "a scenario must be at most 1 MiB"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return planner.Spec{}, &planner.SpecError{Rule: "the body must be a scenario (JSON or YAML)"}
	}
	spec, err := planner.ParseSpec(body)
	if err != nil {
		return spec, err
	}
	if spec.Tenant == "" {
		spec.Tenant = tenantOf(r)
	}
	return spec, nil
}

func (a *PlannerAPI) runOnce(w http.ResponseWriter, r *http.Request) {
	spec, err := readSpec(r)
	if err != nil {
		plannerError(w, err)
		return
	}
	res, err := a.Planner.Run(r.Context(), spec, nil)
	if err != nil {
		plannerError(w, err)
		return
	}
	a.writeResult(w, r, res, false)
}

func (a *PlannerAPI) create(w http.ResponseWriter, r *http.Request) {
	spec, err := readSpec(r)
	if err != nil {
		plannerError(w, err)
		return
	}
	res, err := a.Planner.Run(r.Context(), spec, nil)
	if err != nil {
		plannerError(w, err)
		return
	}
	sv, err := a.Store.Save(res)
	if err != nil {
		problem(w, http.StatusInternalServerError, "not saved", err.Error())
		return
	}
	w.Header().Set("Location", "/api/v1/scenarios/"+sv.ID)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(sv)
}

func (a *PlannerAPI) list(w http.ResponseWriter, r *http.Request) {
	out, err := a.Store.List(tenantOf(r))
	if err != nil {
		problem(w, http.StatusInternalServerError, "store unavailable", err.Error())
		return
	}
	if out == nil {
		out = []planner.Summary{}
	}
	writeJSON(w, "application/json", out)
}

func (a *PlannerAPI) get(w http.ResponseWriter, r *http.Request) {
	sv, err := a.Store.Get(r.PathValue("id"))
	if err != nil {
		plannerError(w, err)
		return
	}
	writeJSON(w, "application/json", sv)
}

func (a *PlannerAPI) delete(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.Delete(r.PathValue("id")); err != nil {
		plannerError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *PlannerAPI) rerun(w http.ResponseWriter, r *http.Request) {
	sv, err := a.Store.Get(r.PathValue("id"))
	if err != nil {
		plannerError(w, err)
		return
	}
	res, err := a.Planner.Run(r.Context(), sv.Result.Spec, nil)
	if err != nil {
		plannerError(w, err)
		return
	}
	if sv, err = a.Store.Update(sv.ID, res); err != nil {
		problem(w, http.StatusInternalServerError, "not saved", err.Error())
		return
	}
	writeJSON(w, "application/json", sv)
}

func (a *PlannerAPI) export(w http.ResponseWriter, r *http.Request) {
	sv, err := a.Store.Get(r.PathValue("id"))
	if err != nil {
		plannerError(w, err)
		return
	}
	a.writeResult(w, r, sv.Result, true)
}

// writeResult answers a result in the format asked (json, csv, geojson);
// as a download (Content-Disposition) when attach.
func (a *PlannerAPI) writeResult(w http.ResponseWriter, r *http.Request, res *planner.Result, attach bool) {
	format := cmp.Or(r.URL.Query().Get("format"), "json")
	name := "scenario"
	if res.ID != "" {
		name += "-" + res.ID
	}
	disp := func(ext string) {
		if attach {
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+ext+`"`)
		}
	}
	switch format {
	case "json":
		disp("json")
		writeJSON(w, "application/json", res)
	case "csv":
		disp("csv")
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_ = planner.WriteCSV(w, res)
	case "geojson":
		disp("geojson")
		writeJSON(w, "application/geo+json", a.Planner.GeoJSON(res))
	default:
		fieldProblem(w, "format", "must be json, csv or geojson")
	}
}

func (a *PlannerAPI) compare(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var rs [2]*planner.Result
	for i, p := range []string{"a", "b"} {
		id := q.Get(p)
		if id == "" {
			fieldProblem(w, p, "is required: the id of a saved scenario")
			return
		}
		sv, err := a.Store.Get(id)
		if err != nil {
			if errors.Is(err, planner.ErrNotFound) {
				fieldProblem(w, p, "no saved scenario with id "+id)
				return
			}
			plannerError(w, err)
			return
		}
		rs[i] = sv.Result
	}
	writeJSON(w, "application/json", planner.Compare(rs[0], rs[1]))
}
