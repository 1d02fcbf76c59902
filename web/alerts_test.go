package web_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/web"
)

// TestAlertsAt: the alerts open at a past time, for the map's replay.
//
//	a (nbh-a)  opens 10:00, closes 10:20
//	b (nbh-b)  opens 10:10, still open
func TestAlertsAt(t *testing.T) {
	rule := twin.Rule{ID: "loud", Title: "loud", Domain: twin.DomainNoise, Attr: "LAeq", Threshold: 65, Hysteresis: 2,
		Scopes: []geo.Kind{geo.KindNeighbourhood}}
	alerts := twin.NewAlerts(twin.AlertConfig{Rules: []twin.Rule{rule}})
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	reading := func(id, nbh string, min int, laeq float64) twin.Observation {
		return twin.Observation{Tenant: twin.DefaultTenant, EntityID: id, EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise,
			Time: t0.Add(time.Duration(min) * time.Minute), Location: orb.Point{9.19, 45.46}, Links: geo.Links{Neighbourhood: nbh},
			Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: laeq}}}
	}
	alerts.Apply([]twin.Observation{reading("a", "nbh-a", 0, 70)})
	alerts.Apply([]twin.Observation{reading("b", "nbh-b", 10, 70)})
	alerts.Apply([]twin.Observation{reading("a", "nbh-a", 20, 60)})
	h := serve(t, (&web.AlertsAPI{Alerts: alerts}).Register)

	at := func(query string) []string {
		t.Helper()
		r := request(t, "GET", h+"/api/v1/alerts?"+query)
		if r.code != 200 {
			t.Fatalf("%s: %d %s", query, r.code, r.body)
		}
		var list []twin.Alert
		if err := json.Unmarshal(r.body, &list); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range list {
			ids = append(ids, a.FeatureID)
		}
		return ids
	}
	for _, c := range []struct {
		min  int
		want string
	}{{-1, ""}, {0, "nbh-a"}, {15, "nbh-b nbh-a"}, {20, "nbh-b"}, {60, "nbh-b"}} {
		q := "at=" + url.QueryEscape(t0.Add(time.Duration(c.min)*time.Minute).Format(time.RFC3339))
		if got := strings.Join(at(q), " "); got != c.want {
			t.Errorf("open at 10:%02d: %q, want %q (newest start first)", c.min, got, c.want)
		}
	}
	if got := at("at=2026-11-22T10:15:00Z&featureId=nbh-a"); len(got) != 1 {
		t.Errorf("filtered by feature: %v", got)
	}
	for q, want := range map[string]string{"at=yesterday": "at must be an RFC 3339 time", "at=2026-11-22T10:15:00Z&state=open": "state cannot be combined with at"} {
		if r := request(t, "GET", h+"/api/v1/alerts?"+q); r.code != 400 || !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d %s, want 400 saying %q", q, r.code, r.body, want)
		}
	}
}
