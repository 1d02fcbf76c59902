package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/twin"
)

// alertTopicPrefix: every change of an alert (opened, new peak or sensor,
// closed) is published as its JSON on {prefix}/{tenant}/{rule}.
const alertTopicPrefix = "citytwin/alerts"

// newAlerts builds the alert engine from the rule file and time zone.
func newAlerts(c *serveConfig) (*twin.Alerts, error) {
	loc, err := time.LoadLocation(c.timeZone)
	if err != nil {
		return nil, fmt.Errorf("time-zone %q: %w", c.timeZone, err)
	}
	cfg := twin.AlertConfig{Location: loc}
	if c.alertRules != "" {
		f, err := os.Open(c.alertRules)
		if err != nil {
			return nil, fmt.Errorf("alert-rules: %w", err)
		}
		defer f.Close()
		if cfg.Rules, err = twin.LoadRules(f); err != nil {
			return nil, fmt.Errorf("alert-rules %s: %w", c.alertRules, err)
		}
	}
	return twin.NewAlerts(cfg), nil
}

// alertMetrics counts alert changes. report is called from the pipeline
// and from the ticker.
type alertMetrics struct {
	opened, closed *prometheus.CounterVec
	dropped        prometheus.Counter

	mu   sync.Mutex
	open map[string]bool // ids of the open alerts already reported
}

func newAlertMetrics(reg prometheus.Registerer) *alertMetrics {
	m := &alertMetrics{
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citytwin_alerts_opened_total",
			Help: "Alerts opened, by rule."}, []string{"rule"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citytwin_alerts_closed_total",
			Help: "Alerts closed, by rule."}, []string{"rule"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "citytwin_alert_events_dropped_total",
			Help: "Alert events not published on MQTT because the notice queue was full."}),
	}
	m.open = map[string]bool{}
	reg.MustRegister(m.opened, m.closed, m.dropped)
	return m
}

// report logs, counts and publishes alert changes.
func (m *alertMetrics) report(changed []twin.Alert, sub *ingest.Subscriber, log *slog.Logger) {
	if len(changed) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range changed {
		body, err := json.Marshal(a)
		if err != nil {
			continue
		}
		switch {
		case !a.Open:
			delete(m.open, a.ID)
			m.closed.WithLabelValues(a.Rule).Inc()
			log.Info("alert closed", "rule", a.Rule, "tenant", a.Tenant, "feature", string(a.FeatureKind)+"/"+a.FeatureID, "peak", a.Peak, "start", a.Start, "end", a.End)
		case !m.open[a.ID]:
			m.open[a.ID] = true
			m.opened.WithLabelValues(a.Rule).Inc()
			log.Info("alert opened", "rule", a.Rule, "tenant", a.Tenant, "feature", string(a.FeatureKind)+"/"+a.FeatureID, "value", a.Value, "threshold", a.Threshold, "sensor", a.PeakSensor)
		}
		if !sub.PublishError(alertTopicPrefix+"/"+a.Tenant+"/"+a.Rule, body) {
			m.dropped.Inc()
		}
	}
}
