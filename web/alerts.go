package web

import (
	"net/http"
	"strconv"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
)

// AlertsAPI serves the twin's threshold alerts:
//
//	GET /api/v1/alerts         open alerts (state=open, the default), closed ones
//	                           (state=closed, newest first) or both (state=all);
//	                           filters: tenant, rule, featureKind, featureId; limit
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
