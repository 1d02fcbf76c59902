package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// AlertsAPI serves the twin's threshold alerts:
//
//	GET /api/v1/alerts         open alerts (state=open, the default), closed ones
//	                           (state=closed, newest first) or both (state=all);
//	                           filters: tenant, rule, featureKind, featureId; limit
//	GET /api/v1/alerts?at=T    the alerts that were open at T (RFC 3339; the
//	                           map's replay): started at or before T and open
//	                           or ended after it, newest start first, each as
//	                           known now (its end, final peak); the same
//	                           filters. Closed alerts come from the history
//	                           the process keeps (twin.AlertsConfig.History,
//	                           1,000, since it started).
//	GET /api/v1/alerts/rules   the rules in force
type AlertsAPI struct {
	Alerts *twin.Alerts
}

// Register adds the alert endpoints to s.
func (a *AlertsAPI) Register(s *Server) {
	s.Handle("GET /api/v1/alerts", http.HandlerFunc(a.list))
	s.Handle("GET /api/v1/alerts/rules", http.HandlerFunc(a.rules))
}

// maxAlerts bounds one answer.
const maxAlerts = 1000

func (a *AlertsAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := maxAlerts
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAlerts {
			problem(w, http.StatusBadRequest, "bad limit", "limit must be an integer from 1 to 1000")
			return
		}
		limit = n
	}
	var list []twin.Alert
	if q.Has("at") {
		at, err := time.Parse(time.RFC3339Nano, q.Get("at"))
		if err != nil {
			problem(w, http.StatusBadRequest, "bad at", "at must be an RFC 3339 time such as 2026-11-22T10:00:00Z")
			return
		}
		if q.Has("state") {
			problem(w, http.StatusBadRequest, "bad state", "state cannot be combined with at: at lists the alerts open at that time")
			return
		}
		for _, al := range append(a.Alerts.Active(), a.Alerts.Recent(0)...) {
			if !al.Start.After(at) && (al.Open || al.End.After(at)) {
				list = append(list, al)
			}
		}
		slices.SortStableFunc(list, func(x, y twin.Alert) int { return y.Start.Compare(x.Start) })
	} else {
		switch q.Get("state") {
		case "", "open":
			list = a.Alerts.Active()
		case "closed":
			list = a.Alerts.Recent(0)
		case "all":
			list = append(a.Alerts.Active(), a.Alerts.Recent(0)...)
		default:
			problem(w, http.StatusBadRequest, "bad state", "state must be open, closed or all")
			return
		}
	}
	if k := q.Get("featureKind"); k != "" && k != string(twin.ScopeSensor) && !isKind(k) {
		problem(w, http.StatusBadRequest, "bad featureKind", "featureKind must be sensor, district, neighbourhood, road, greenarea or irrigationzone")
		return
	}
	out := []twin.Alert{}
	for _, al := range list {
		if len(out) == limit {
			break
		}
		if v := q.Get("tenant"); v != "" && al.Tenant != v {
			continue
		}
		if v := q.Get("rule"); v != "" && al.Rule != v {
			continue
		}
		if v := q.Get("featureKind"); v != "" && string(al.FeatureKind) != v {
			continue
		}
		if v := q.Get("featureId"); v != "" && al.FeatureID != v {
			continue
		}
		out = append(out, al)
	}
	writeJSON(w, "application/json", out)
}

func isKind(k string) bool {
	for _, x := range geo.Kinds {
		if string(x) == k {
			return true
		}
	}
	return false
}

func (a *AlertsAPI) rules(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", a.Alerts.Rules())
}
