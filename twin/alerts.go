package twin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/citytwin/citytwin/geo"
)

// ScopeSensor is the feature kind of an alert grouped by the sensor itself:
// the kind used when a sensor has a link to none of its rule's Scopes, and a
// kind a rule may list in Scopes to alert per sensor.
const ScopeSensor geo.Kind = "sensor"

// Rule is a threshold rule: when the value of one attribute of a sensor,
// optionally averaged over a rolling window, passes a threshold, the feature
// the sensor belongs to has an alert.
type Rule struct {
	// ID identifies the rule, e.g. "noise-dpcm-iv"; unique among the rules.
	ID string
	// Title says in words what the rule checks and cites its source.
	Title string
	// Domain selects the observations the rule applies to; empty means every
	// domain.
	Domain Domain
	// Attr is the attribute name as sent (LAeq, no2, soilMoistureVwc, …). Only
	// numeric values are considered.
	Attr string
	// Window is the averaging period: 0 means the latest value; otherwise the
	// rolling mean over (t−Window, t], t being the sensor's newest observation
	// time, kept in windowBuckets buckets of Window/12 each (see window).
	Window time.Duration
	// Energetic averages decibels energetically, 10·lg(mean(10^(L/10)))
	// (reference/domain.md §1), instead of arithmetically.
	Energetic bool
	// Below alerts when the value is below the threshold (soil moisture);
	// false alerts when it is above.
	Below bool
	// Threshold is the limit, in the attribute's unit. The comparison is
	// strict: a value equal to the threshold does not alert.
	Threshold float64
	// NightThreshold, when set, replaces Threshold between 22:00 and 06:00 in
	// the engine's time zone (the day and night reference periods of DPCM
	// 14/11/1997), judged by the observation's time.
	NightThreshold *float64
	// Hysteresis keeps an alert open until the value is back past
	// Threshold − Hysteresis (Threshold + Hysteresis for Below rules), so
	// that a value oscillating around the threshold does not flap.
	Hysteresis float64
	// Scopes are the feature kinds an alert is grouped by, in order of
	// preference: the first kind the sensor has a link to wins. A sensor with
	// none of them (or a rule with no Scopes) alerts on its own, with feature
	// kind ScopeSensor and the sensor's id as feature id.
	Scopes []geo.Kind
	// PerFeature overrides Threshold by feature id. A feature without an entry
	// takes the entry of the sensor's link at a later kind in Scopes (an
	// irrigation zone its green area's), else Threshold. At night the override
	// keeps the rule's night offset: it becomes
	// override + (NightThreshold − Threshold), so a class II area overridden
	// to 55 dB by day gets 45 dB at night under the class IV rule.
	PerFeature map[string]float64
}

// Night hours of the DPCM 14/11/1997 reference periods: night is
// 22:00–06:00, day 06:00–22:00, local time.
const (
	nightStartHour = 22
	nightEndHour   = 6
)

// DefaultRules returns the built-in rules. The noise and air rules group by
// neighbourhood; the soil rule by irrigation zone, then green area. Limits
// that the law sets over a fixed period (a calendar day, the 16-hour day) are
// checked here on a rolling window of the stated length: an alert is an early
// warning that the limit is being or will be exceeded, not a count of legal
// exceedances.
//
//	id             attr             window  mean       threshold         hysteresis  source
//	noise-dpcm-iv  LAeq             1h      energetic  > 65 / 55 night   2 dB        DPCM 14/11/1997, class IV immission
//	no2-eu-1h      no2              1h      mean       > 200 µg/m³       10          2008/50/EC, (EU) 2024/2881 hourly
//	pm10-eu-24h    pm10             24h     mean       > 45 µg/m³        5           (EU) 2024/2881 daily
//	pm25-eu-24h    pm25             24h     mean       > 25 µg/m³        3           (EU) 2024/2881 daily
//	o3-eu-8h       o3               8h      mean       > 120 µg/m³       10          2008/50/EC target, max daily 8-h mean
//	soil-refill    soilMoistureVwc  latest  -          < 0.20 m³/m³      0.02        FAO-56 refill point (StateConfig.RefillVWC)
func DefaultRules() []Rule {
	air := []geo.Kind{geo.KindNeighbourhood}
	return []Rule{
		{
			// DPCM 14/11/1997 Tab. C, immission limit of acoustic class IV
			// (areas of intense human activity): 65 dB(A) by day (06–22), 55
			// by night (22–06) (reference/domain.md §5; the class III–VI
			// values are marked there as recalled, not re-read). The law
			// applies the limit to the Leq of the whole reference period;
			// an hourly LAeq above it is the early warning.
			ID:     "noise-dpcm-iv",
			Title:  "LAeq hourly > 65 dB(A) day / 55 night, DPCM 14/11/1997 class IV immission",
			Domain: DomainNoise, Attr: "LAeq", Window: time.Hour, Energetic: true,
			Threshold: 65, NightThreshold: ptr(55.0), Hysteresis: 2,
			Scopes: []geo.Kind{geo.KindNeighbourhood},
		},
		{
			// Directive 2008/50/EC Annex XI and Directive (EU) 2024/2881
			// Annex I: NO2 hourly limit value 200 µg/m³ (reference/domain.md
			// §6).
			ID:     "no2-eu-1h",
			Title:  "NO2 hourly mean > 200 µg/m³, EU 2008/50/EC and 2024/2881 hourly limit value",
			Domain: DomainAir, Attr: "no2", Window: time.Hour,
			Threshold: 200, Hysteresis: 10, Scopes: air,
		},
		{
			// Directive (EU) 2024/2881 Annex I: PM10 daily limit value
			// 45 µg/m³, to be met by 2030 (2008/50/EC had 50).
			ID:     "pm10-eu-24h",
			Title:  "PM10 24-hour mean > 45 µg/m³, EU 2024/2881 daily limit value",
			Domain: DomainAir, Attr: "pm10", Window: 24 * time.Hour,
			Threshold: 45, Hysteresis: 5, Scopes: air,
		},
		{
			// Directive (EU) 2024/2881 Annex I: PM2.5 daily limit value
			// 25 µg/m³, to be met by 2030 (2008/50/EC had none).
			ID:     "pm25-eu-24h",
			Title:  "PM2.5 24-hour mean > 25 µg/m³, EU 2024/2881 daily limit value",
			Domain: DomainAir, Attr: "pm25", Window: 24 * time.Hour,
			Threshold: 25, Hysteresis: 3, Scopes: air,
		},
		{
			// Directive 2008/50/EC Annex VII: O3 target value for human
			// health 120 µg/m³ as the maximum daily 8-hour mean; a rolling
			// 8-hour mean above it means the day's maximum is above it.
			ID:     "o3-eu-8h",
			Title:  "O3 8-hour mean > 120 µg/m³, EU 2008/50/EC target value (max daily 8-h mean)",
			Domain: DomainAir, Attr: "o3", Window: 8 * time.Hour,
			Threshold: 120, Hysteresis: 10, Scopes: air,
		},
		RefillRule(StateConfig{}),
	}
}

// RefillRule returns the soil moisture rule "soil-refill" with the refill
// thresholds of cfg (RefillVWC, default 0.20, and RefillByFeature), so that
// its alerts agree with the NeedsWater indicator of a State built with the
// same StateConfig: the FAO-56 trigger "irrigate when Dr ≥ RAW" in its
// sensor-driven form (reference/domain.md §7; see StateConfig.RefillVWC).
// It alerts on the latest value, strictly below the threshold, per
// irrigation zone, else green area, else sensor; hysteresis 0.02 m³/m³.
func RefillRule(cfg StateConfig) Rule {
	cfg = cfg.withDefaults()
	var per map[string]float64
	if len(cfg.RefillByFeature) > 0 {
		per = cfg.RefillByFeature
	}
	return Rule{
		ID:     "soil-refill",
		Title:  fmt.Sprintf("Soil moisture < %g m³/m³, FAO-56 refill point θFC − RAW/(1000·Zr)", cfg.RefillVWC),
		Domain: DomainIrrigation, Attr: "soilMoistureVwc", Below: true,
		Threshold: cfg.RefillVWC, Hysteresis: 0.02,
		Scopes:     []geo.Kind{geo.KindIrrigationZone, geo.KindGreenArea},
		PerFeature: per,
	}
}

func ptr[T any](v T) *T { return &v }

// RuleError says which field of which rule is invalid.
type RuleError struct {
	// Index is the rule's position in the rules file or slice.
	Index int
	// ID is the rule's id, empty when it has none.
	ID string
	// Field is the JSON name of the field (window, perFeature.nil-12, …).
	Field string
	// Msg states the problem.
	Msg string
}

// Error returns "rules[i].field: problem (rule "id")".
func (e *RuleError) Error() string {
	s := fmt.Sprintf("rules[%d]", e.Index)
	if e.Field != "" {
		s += "." + e.Field
	}
	s += ": " + e.Msg
	if e.ID != "" {
		s += fmt.Sprintf(" (rule %q)", e.ID)
	}
	return s
}

var knownDomains = []Domain{DomainNoise, DomainAir, DomainTraffic, DomainIrrigation, DomainGeneric}

// ValidateRules checks rules: id present and unique, attr present, domain
// empty or known, window and hysteresis ≥ 0, thresholds finite, scope kinds
// known (geo.Kinds or ScopeSensor). The error is a *RuleError.
func ValidateRules(rules []Rule) error {
	seen := make(map[string]bool, len(rules))
	for i := range rules {
		if field, msg := checkRule(&rules[i]); field != "" {
			return &RuleError{Index: i, ID: rules[i].ID, Field: field, Msg: msg}
		}
		if seen[rules[i].ID] {
			return &RuleError{Index: i, ID: rules[i].ID, Field: "id", Msg: "duplicate id"}
		}
		seen[rules[i].ID] = true
	}
	return nil
}

// checkRule returns the JSON name of the first invalid field and the problem.
func checkRule(r *Rule) (field, msg string) {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case r.ID == "":
		return "id", "must not be empty"
	case r.Attr == "":
		return "attr", "must not be empty"
	case r.Domain != "" && !slices.Contains(knownDomains, r.Domain):
		return "domain", fmt.Sprintf("%q is not a domain (want one of %v, or empty for all)", r.Domain, knownDomains)
	case r.Window < 0:
		return "window", fmt.Sprintf("must be ≥ 0, got %s", r.Window)
	case r.Window > 0 && r.Window < windowBuckets:
		return "window", fmt.Sprintf("must be 0 or at least %dns, got %s", windowBuckets, r.Window)
	case !finite(r.Threshold):
		return "threshold", "must be a finite number"
	case r.NightThreshold != nil && !finite(*r.NightThreshold):
		return "nightThreshold", "must be a finite number"
	case !finite(r.Hysteresis) || r.Hysteresis < 0:
		return "hysteresis", fmt.Sprintf("must be a finite number ≥ 0, got %g", r.Hysteresis)
	}
	for i, k := range r.Scopes {
		if k != ScopeSensor && !slices.Contains(geo.Kinds, k) {
			return fmt.Sprintf("scopes[%d]", i), fmt.Sprintf("%q is not a feature kind (want one of %v or %q)", k, geo.Kinds, ScopeSensor)
		}
	}
	for id, v := range r.PerFeature {
		if !finite(v) {
			return "perFeature." + id, "must be a finite number"
		}
	}
	return "", ""
}

// ruleJSON is a Rule in the rules file.
type ruleJSON struct {
	ID             string             `json:"id"`
	Title          string             `json:"title,omitempty"`
	Domain         Domain             `json:"domain,omitempty"`
	Attr           string             `json:"attr"`
	Window         string             `json:"window"`
	Energetic      bool               `json:"energetic,omitempty"`
	Below          bool               `json:"below,omitempty"`
	Threshold      float64            `json:"threshold"`
	NightThreshold *float64           `json:"nightThreshold,omitempty"`
	Hysteresis     float64            `json:"hysteresis"`
	Scopes         []geo.Kind         `json:"scopes,omitempty"`
	PerFeature     map[string]float64 `json:"perFeature,omitempty"`
}

// MarshalJSON writes a rule as LoadRules reads it (window as a Go duration
// string), so that a {"rules": […]} document of marshalled rules loads back
// to the same rules.
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(ruleJSON{
		ID: r.ID, Title: r.Title, Domain: r.Domain, Attr: r.Attr, Window: r.Window.String(),
		Energetic: r.Energetic, Below: r.Below, Threshold: r.Threshold, NightThreshold: r.NightThreshold,
		Hysteresis: r.Hysteresis, Scopes: r.Scopes, PerFeature: r.PerFeature,
	})
}

// LoadRules reads a rules file and returns DefaultRules with its changes
// applied. The file is a JSON object {"rules": [ … ]}. An entry whose id is
// a default rule's changes only the fields it gives, e.g.
//
//	{"rules": [
//	  {"id": "noise-dpcm-iv", "threshold": 60, "perFeature": {"nil-12": 55}},
//	  {"id": "o3-eu-8h", "disabled": true},
//	  {"id": "co-8h", "domain": "air", "attr": "co", "window": "8h", "threshold": 10000,
//	   "hysteresis": 500, "scopes": ["neighbourhood"], "title": "CO 8-hour mean > 10 mg/m³"}
//	]}
//
// "disabled": true removes a rule. Any other id adds a new rule, after the
// defaults in file order; fields it does not give are zero (window "0s":
// latest value; no scopes: one alert per sensor). Fields are id, title,
// domain, attr, window (a Go duration string such as "1h" or "30m"),
// energetic, below, threshold, nightThreshold (null removes it), hysteresis,
// scopes (feature kinds), perFeature (feature id → threshold; replaces the
// default's map) and disabled. Errors are *RuleError naming the entry and
// field, e.g. `rules[2].window: "x" is not a duration`.
func LoadRules(r io.Reader) ([]Rule, error) {
	var doc struct {
		Rules []json.RawMessage `json:"rules"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode rules file (want {\"rules\": [ … ]}): %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode rules file: data after the top-level object")
	}
	rules := DefaultRules()
	disabled := map[string]bool{}
	given := map[string]bool{}
	for i, raw := range doc.Rules {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			return nil, &RuleError{Index: i, Field: "", Msg: "must be a JSON object"}
		}
		var id string
		if err := json.Unmarshal(fields["id"], &id); err != nil || id == "" {
			return nil, &RuleError{Index: i, Field: "id", Msg: "must be a non-empty string"}
		}
		if given[id] {
			return nil, &RuleError{Index: i, ID: id, Field: "id", Msg: "given twice"}
		}
		given[id] = true
		j := slices.IndexFunc(rules, func(r Rule) bool { return r.ID == id })
		if j < 0 {
			rules = append(rules, Rule{ID: id})
			j = len(rules) - 1
		}
		rule := &rules[j]
		// Apply fields in a stable order so that the first error is stable.
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, name := range names {
			msg := setRuleField(rule, name, fields[name], &disabled)
			if msg != "" {
				return nil, &RuleError{Index: i, ID: id, Field: name, Msg: msg}
			}
		}
		if field, msg := checkRule(rule); field != "" {
			return nil, &RuleError{Index: i, ID: id, Field: field, Msg: msg}
		}
	}
	rules = slices.DeleteFunc(rules, func(r Rule) bool { return disabled[r.ID] })
	return rules, nil
}

// setRuleField sets one field of r from its JSON value and returns what is
// wrong with it, or "".
func setRuleField(r *Rule, name string, raw json.RawMessage, disabled *map[string]bool) string {
	isNull := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	str := func(dst *string) string {
		if json.Unmarshal(raw, dst) != nil {
			return "must be a string"
		}
		return ""
	}
	boolean := func(dst *bool) string {
		if isNull || json.Unmarshal(raw, dst) != nil {
			return "must be true or false"
		}
		return ""
	}
	number := func(dst *float64) string {
		if isNull || json.Unmarshal(raw, dst) != nil {
			return fmt.Sprintf("%s is not a number", raw)
		}
		return ""
	}
	switch name {
	case "id":
		return ""
	case "title":
		return str(&r.Title)
	case "domain":
		var d string
		if msg := str(&d); msg != "" {
			return msg
		}
		r.Domain = Domain(d)
	case "attr":
		return str(&r.Attr)
	case "window":
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fmt.Sprintf("%s is not a duration string (e.g. \"1h\")", raw)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("%q is not a duration", s)
		}
		r.Window = d
	case "energetic":
		return boolean(&r.Energetic)
	case "below":
		return boolean(&r.Below)
	case "threshold":
		return number(&r.Threshold)
	case "nightThreshold":
		if isNull {
			r.NightThreshold = nil
			return ""
		}
		var v float64
		if msg := number(&v); msg != "" {
			return msg
		}
		r.NightThreshold = &v
	case "hysteresis":
		return number(&r.Hysteresis)
	case "scopes":
		var ks []string
		if json.Unmarshal(raw, &ks) != nil {
			return "must be an array of feature kinds"
		}
		r.Scopes = nil
		for _, k := range ks {
			r.Scopes = append(r.Scopes, geo.Kind(k))
		}
	case "perFeature":
		var m map[string]float64
		if json.Unmarshal(raw, &m) != nil {
			return "must be an object of feature id → number"
		}
		r.PerFeature = m
	case "disabled":
		var b bool
		if msg := boolean(&b); msg != "" {
			return msg
		}
		(*disabled)[r.ID] = b
	default:
		return "unknown field"
	}
	return ""
}

// AlertConfig configures an Alerts engine. The zero value means the
// documented defaults.
type AlertConfig struct {
	// Rules are the rules to apply; nil means DefaultRules(), an empty
	// non-nil slice none. They must pass ValidateRules.
	Rules []Rule
	// Location is the time zone of the day and night periods; nil means UTC.
	Location *time.Location
	// History is how many closed alerts Recent keeps; default 1000.
	History int
	// MinSilence is the shortest silence that makes Tick release a sensor
	// from an alert; default 1 hour (see Tick).
	MinSilence time.Duration
}

// Alert is one alert: a rule exceeded at one feature. Times are UTC and
// marshal as RFC 3339.
type Alert struct {
	// ID is "{rule}/{tenant}/{featureKind}/{featureID}/{start Unix seconds}",
	// stable for the alert's life.
	ID string `json:"id"`
	// Rule, Title and Attr are the rule's ID, Title and Attr.
	Rule  string `json:"rule"`
	Title string `json:"title"`
	Attr  string `json:"attr"`
	// Tenant is the tenant of the alert's sensors.
	Tenant string `json:"tenant"`
	// FeatureKind and FeatureID name the feature the alert is grouped by
	// (ScopeSensor and the sensor id when the sensor has no link to any of
	// the rule's scopes).
	FeatureKind geo.Kind `json:"featureKind"`
	FeatureID   string   `json:"featureId"`
	// Sensors are the ids of the sensors that exceeded during the alert,
	// sorted, at most MaxAlertSensors of them (the first to exceed);
	// SensorCount counts them all.
	Sensors     []string `json:"sensors"`
	SensorCount int      `json:"sensorCount"`
	// Threshold is the threshold in force at the latest update (day or night,
	// per-feature override applied).
	Threshold float64 `json:"threshold"`
	// Value is the windowed value of the worst sensor still exceeding; once
	// closed, the value that closed the alert (the last one known, when
	// closed for silence). Apply reports an alert when it opens, closes, or
	// its peak, sensors or threshold change, not on every new Value: Active
	// has the current one.
	Value float64 `json:"value"`
	// Peak is the worst windowed value during the alert (highest, or lowest
	// for a Below rule), reached by PeakSensor at PeakTime.
	Peak       float64   `json:"peak"`
	PeakSensor string    `json:"peakSensor"`
	PeakTime   time.Time `json:"peakTime"`
	// Start is the time of the observation that opened the alert; End that of
	// the observation that closed it (zero while open), or, for an alert that
	// Tick closed, the newest observation time of its sensors. A sensor is
	// judged at its newest observation time, where its window ends: when a
	// late observation (older than the sensor's newest, still inside the
	// window) opens or closes an alert, or makes a peak, the time recorded is
	// the sensor's newest observation time.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Open is true until the alert closes.
	Open bool `json:"open"`
	// Silent reports that Tick closed the alert because its sensors stopped
	// reporting, not because the value came back.
	Silent bool `json:"silent,omitempty"`
	// Window is the rule's averaging window (0: latest value); it marshals as
	// a Go duration string ("1h0m0s").
	Window time.Duration `json:"-"`
}

// MarshalJSON writes the alert with its window as a duration string.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	return json.Marshal(struct {
		plain
		Window string `json:"window"`
	}{plain(a), a.Window.String()})
}

// MaxAlertSensors bounds Alert.Sensors.
const MaxAlertSensors = 100

// windowBuckets is the number of buckets of a rolling window. A window of
// length W is kept as windowBuckets sums and counts of W/windowBuckets each,
// aligned on multiples of that width since the Unix epoch: memory per
// (rule, sensor) is fixed (152 bytes) whatever the sensor's rate. The
// resolution is one bucket: the mean at t covers t's bucket and the
// windowBuckets−1 before it, i.e. the observations in [t−W+δ, t] for some
// δ in (0, W/12] depending on where t falls in its bucket (1 h: up to 5 min
// short; 8 h: 40 min; 24 h: 2 h), and an observation is dropped as too old
// when its bucket has left the window.
const windowBuckets = 12

type window struct {
	head int64 // bucket number (time / width) of the newest bucket
	sum  [windowBuckets]float64
	n    [windowBuckets]uint32
}

func bucketIndex(b int64) int { return int(((b % windowBuckets) + windowBuckets) % windowBuckets) }

// add adds x to bucket b and reports false if b is older than the window.
func (w *window) add(b int64, x float64) bool {
	d := b - w.head
	switch {
	case d <= -windowBuckets:
		return false
	case d >= windowBuckets:
		w.sum, w.n = [windowBuckets]float64{}, [windowBuckets]uint32{}
		w.head = b
	case d > 0:
		for k := w.head + 1; k <= b; k++ {
			i := bucketIndex(k)
			w.sum[i], w.n[i] = 0, 0
		}
		w.head = b
	}
	i := bucketIndex(b)
	w.sum[i] += x
	w.n[i]++
	return true
}

func (w *window) mean() float64 {
	var s float64
	var n uint32
	for i := range w.sum {
		s += w.sum[i]
		n += w.n[i]
	}
	return s / float64(n)
}

// rule is a Rule compiled for the engine.
type rule struct {
	Rule
	width      int64   // bucket width, ns; 0 for the latest value
	nightDelta float64 // NightThreshold − Threshold
}

// series is the state of one (rule, tenant, sensor).
type series struct {
	rule      int32
	exceeding bool
	counted   uint32  // serial of the alert this sensor was last counted in
	last      int64   // newest observation time with the attribute, Unix ns
	value     float64 // windowed value at last (the latest value for Window 0)
	win       *window // nil for Window 0
	alert     *alertState
}

// alertSensor is one sensor of the engine: its links and the series of the
// rules that matched its attributes.
type alertSensor struct {
	id       string
	tenant   uint32
	lastSeen int64
	interval int64 // EWMA of inter-arrival times, ns
	links    geo.Links
	series   []series
}

type seriesRef struct{ sensor, k int32 }

type alertKey struct {
	tenant  uint32
	rule    int32
	kind    geo.Kind
	feature string
}

type alertState struct {
	a       Alert
	key     alertKey
	serial  uint32
	members []seriesRef // series exceeding now
	mark    uint64      // the Apply or Tick call that last reported it
}

// Alerts is the alerts engine: it applies threshold rules to observations
// and keeps the open alerts and a bounded history of closed ones. Its time
// base is the observation time, never the wall clock. It does no I/O and
// starts no goroutines; it is safe for concurrent use (one mutex).
//
// Memory is bounded per sensor: for each (rule, sensor) one series of 48
// bytes plus, for a windowed rule, a 152-byte window of windowBuckets
// buckets; sensors are never forgotten.
type Alerts struct {
	rules      []rule
	byDomain   map[Domain][]int32
	anyDomain  []int32
	loc        *time.Location
	history    int
	minSilence int64

	mu      sync.Mutex
	strs    interner // tenants, feature ids
	index   map[sensorKey]int32
	sensors []alertSensor
	open    map[alertKey]*alertState
	closed  []Alert // ring of at most history, oldest at closedAt once full
	closeAt int
	serial  uint32
	call    uint64
	changed []*alertState
}

// NewAlerts returns an engine applying cfg.Rules. It panics if the rules do
// not pass ValidateRules (rules from DefaultRules and LoadRules always do),
// as a configuration error found at start.
func NewAlerts(cfg AlertConfig) *Alerts {
	rules := cfg.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	if err := ValidateRules(rules); err != nil {
		panic("twin.NewAlerts: " + err.Error())
	}
	a := &Alerts{
		byDomain:   map[Domain][]int32{},
		loc:        cfg.Location,
		history:    cfg.History,
		minSilence: int64(cfg.MinSilence),
		index:      map[sensorKey]int32{},
		open:       map[alertKey]*alertState{},
	}
	if a.loc == nil {
		a.loc = time.UTC
	}
	if a.history <= 0 {
		a.history = 1000
	}
	if a.minSilence <= 0 {
		a.minSilence = int64(time.Hour)
	}
	a.strs.id("")
	for i, r := range rules {
		r.Scopes = slices.Clone(r.Scopes)
		r.PerFeature = cloneMap(r.PerFeature)
		if r.NightThreshold != nil {
			r.NightThreshold = ptr(*r.NightThreshold)
		}
		cr := rule{Rule: r, width: int64(r.Window) / windowBuckets}
		if r.NightThreshold != nil {
			cr.nightDelta = *r.NightThreshold - r.Threshold
		}
		a.rules = append(a.rules, cr)
		if r.Domain == "" {
			a.anyDomain = append(a.anyDomain, int32(i))
		}
	}
	// Each domain named by a rule gets the list of its own rules and the
	// any-domain ones, in rule order; other domains use anyDomain.
	for _, r := range a.rules {
		if _, ok := a.byDomain[r.Domain]; !ok && r.Domain != "" {
			var list []int32
			for i, q := range a.rules {
				if q.Domain == "" || q.Domain == r.Domain {
					list = append(list, int32(i))
				}
			}
			a.byDomain[r.Domain] = list
		}
	}
	return a
}

func cloneMap(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Rules returns a copy of the engine's rules.
func (a *Alerts) Rules() []Rule {
	out := make([]Rule, len(a.rules))
	for i, r := range a.rules {
		out[i] = r.Rule
		out[i].Scopes = slices.Clone(r.Scopes)
		out[i].PerFeature = cloneMap(r.PerFeature)
		if r.NightThreshold != nil {
			out[i].NightThreshold = ptr(*r.NightThreshold)
		}
	}
	return out
}

// Apply feeds observations to the rules and returns the alerts whose state
// changed in this call (opened, closed, new peak, new sensor, new threshold),
// each once with its state at the end of the call, in the order of their
// first change.
//
// For each numeric attribute a rule of the observation's domain names, the
// value enters the (rule, tenant, sensor) window at the observation time; an
// observation older than the window (for Window 0: older than the latest
// value) is ignored for that rule. The sensor's windowed value is then
// compared with the threshold in force for its feature at its newest
// observation time. A sensor joins its feature's alert (opening it if none is
// open) when the value passes the threshold, and leaves it when the value is
// back past the threshold by the hysteresis; the alert closes when its last
// exceeding sensor leaves. The sensor's links follow its newest observation
// that has a location or links (as in State.Apply); a sensor whose feature
// changes leaves the old feature's alert.
func (a *Alerts) Apply(obs []Observation) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.call++
	a.changed = a.changed[:0]
	for i := range obs {
		a.apply(&obs[i])
	}
	return a.report()
}

func (a *Alerts) report() []Alert {
	if len(a.changed) == 0 {
		return nil
	}
	out := make([]Alert, len(a.changed))
	for i, al := range a.changed {
		out[i] = a.snapshot(al)
	}
	clear(a.changed)
	a.changed = a.changed[:0]
	return out
}

func (a *Alerts) apply(o *Observation) {
	d := o.Domain
	if d == "" {
		d = DomainOf(o.EntityType)
	}
	rules, ok := a.byDomain[d]
	if !ok {
		rules = a.anyDomain
	}
	if len(rules) == 0 || o.EntityID == "" {
		return
	}
	t := o.Time.UnixNano()
	idx := int32(-1)
	for ai := range o.Attrs {
		at := &o.Attrs[ai]
		if at.Kind != KindNumber || math.IsNaN(at.Num) || math.IsInf(at.Num, 0) {
			continue
		}
		for _, ri := range rules {
			if a.rules[ri].Attr != at.Name {
				continue
			}
			if idx < 0 {
				idx = a.sensor(o, t)
			}
			a.add(idx, ri, t, at.Num)
		}
	}
}

// sensor returns the index of o's sensor, creating it, and updates its
// interval and links from o when o is its newest observation.
func (a *Alerts) sensor(o *Observation, t int64) int32 {
	ti := a.strs.id(o.Tenant)
	idx, ok := a.index[sensorKey{ti, o.EntityID}]
	if !ok {
		idx = int32(len(a.sensors))
		id := strings.Clone(o.EntityID)
		a.sensors = append(a.sensors, alertSensor{id: id, tenant: ti, lastSeen: t})
		a.index[sensorKey{ti, id}] = idx
	}
	sn := &a.sensors[idx]
	if t < sn.lastSeen {
		return idx
	}
	if ok && t > sn.lastSeen {
		dt := t - sn.lastSeen
		if sn.interval == 0 {
			sn.interval = dt
		} else {
			sn.interval += (dt - sn.interval) / 5 // weight 0.2, as State
		}
	}
	sn.lastSeen = t
	if (o.Location != nil || o.Links != geo.Links{}) && o.Links != sn.links {
		a.relink(idx, o.Links, t)
	}
	return idx
}

// relink sets a sensor's links; each of its series whose feature changes
// leaves the old feature's alert and is judged again under the new one.
func (a *Alerts) relink(idx int32, l geo.Links, t int64) {
	sn := &a.sensors[idx]
	in := func(x string) string { return a.strs.str(a.strs.id(x)) }
	l.District, l.Neighbourhood, l.Road = in(l.District), in(l.Neighbourhood), in(l.Road)
	l.GreenArea, l.IrrigationZone = in(l.GreenArea), in(l.IrrigationZone)
	old := sn.links
	sn.links = l
	for k := range sn.series {
		s := &sn.series[k]
		r := &a.rules[s.rule]
		ok, oid, _ := featureOf(sn.id, &old, r.Scopes)
		nk, nid, _ := featureOf(sn.id, &l, r.Scopes)
		if ok == nk && oid == nid {
			continue
		}
		if s.exceeding {
			a.leave(s.alert, seriesRef{idx, int32(k)}, t, s.value)
			s.exceeding, s.alert = false, nil
		}
		a.eval(idx, k)
	}
}

// add enters value x of rule ri at time t into the sensor's series and
// judges the series.
func (a *Alerts) add(idx int32, ri int32, t int64, x float64) {
	sn := &a.sensors[idx]
	r := &a.rules[ri]
	k := -1
	for j := range sn.series {
		if sn.series[j].rule == ri {
			k = j
			break
		}
	}
	if k < 0 {
		s := series{rule: ri, last: t, value: x}
		if r.width > 0 {
			s.win = &window{head: floorDiv(t, r.width)}
		}
		sn.series = append(sn.series, s)
		k = len(sn.series) - 1
		if s.win == nil {
			a.eval(idx, k)
			return
		}
	}
	s := &sn.series[k]
	if s.win == nil {
		if t < s.last {
			return
		}
		s.last, s.value = t, x
	} else {
		if r.Energetic {
			x = math.Exp(x * (math.Ln10 / 10)) // 10^(x/10), faster than math.Pow
		}
		if !s.win.add(floorDiv(t, r.width), x) {
			return
		}
		s.last = max(s.last, t)
		s.value = s.win.mean()
		if r.Energetic {
			s.value = 10 * math.Log10(s.value)
		}
	}
	a.eval(idx, k)
}

func floorDiv(t, w int64) int64 {
	q := t / w
	if t%w != 0 && t < 0 {
		q--
	}
	return q
}

// featureOf returns the feature a sensor's alerts of a rule with scopes are
// grouped by, and the position in scopes of its kind (len(scopes) for the
// sensor fallback).
func featureOf(sensorID string, l *geo.Links, scopes []geo.Kind) (geo.Kind, string, int) {
	for j, k := range scopes {
		if id := linkOf(sensorID, l, k); id != "" {
			return k, id, j
		}
	}
	return ScopeSensor, sensorID, len(scopes)
}

func linkOf(sensorID string, l *geo.Links, k geo.Kind) string {
	switch k {
	case geo.KindDistrict:
		return l.District
	case geo.KindNeighbourhood:
		return l.Neighbourhood
	case geo.KindRoad:
		return l.Road
	case geo.KindGreenArea:
		return l.GreenArea
	case geo.KindIrrigationZone:
		return l.IrrigationZone
	case ScopeSensor:
		return sensorID
	}
	return ""
}

// threshold returns the threshold of rule r in force at time t for a sensor
// grouped by feature id at position j of r.Scopes.
func (a *Alerts) threshold(r *rule, sn *alertSensor, id string, j int, t int64) float64 {
	th := r.Threshold
	if len(r.PerFeature) > 0 {
		if v, ok := r.PerFeature[id]; ok {
			th = v
		} else {
			for _, k := range r.Scopes[min(j+1, len(r.Scopes)):] {
				if lid := linkOf(sn.id, &sn.links, k); lid != "" {
					if v, ok := r.PerFeature[lid]; ok {
						th = v
						break
					}
				}
			}
		}
	}
	if r.NightThreshold != nil {
		if h := time.Unix(0, t).In(a.loc).Hour(); h >= nightStartHour || h < nightEndHour {
			th += r.nightDelta
		}
	}
	return th
}

// worse reports whether value x is worse than y for rule r.
func (r *rule) worse(x, y float64) bool {
	if r.Below {
		return x < y
	}
	return x > y
}

// eval judges series k of sensor idx at its newest time: it joins, updates
// or leaves its feature's alert.
func (a *Alerts) eval(idx int32, k int) {
	sn := &a.sensors[idx]
	s := &sn.series[k]
	r := &a.rules[s.rule]
	kind, fid, j := featureOf(sn.id, &sn.links, r.Scopes)
	th := a.threshold(r, sn, fid, j, s.last)
	v := s.value
	ref := seriesRef{idx, int32(k)}
	if !s.exceeding {
		if !r.worse(v, th) {
			return
		}
		key := alertKey{sn.tenant, s.rule, kind, fid}
		al := a.open[key]
		if al == nil {
			a.serial++
			start := time.Unix(0, s.last).UTC()
			al = &alertState{key: key, serial: a.serial, a: Alert{
				ID:     fmt.Sprintf("%s/%s/%s/%s/%d", r.ID, a.strs.str(sn.tenant), kind, fid, start.Unix()),
				Rule:   r.ID,
				Title:  r.Title,
				Attr:   r.Attr,
				Tenant: a.strs.str(sn.tenant), FeatureKind: kind, FeatureID: fid,
				Threshold: th, Peak: v, PeakSensor: sn.id, PeakTime: start,
				Start: start, Open: true, Window: r.Window,
			}}
			a.open[key] = al
			a.touch(al)
		}
		s.exceeding, s.alert = true, al
		al.members = append(al.members, ref)
		if s.counted != al.serial {
			s.counted = al.serial
			al.a.SensorCount++
			if len(al.a.Sensors) < MaxAlertSensors {
				i, _ := slices.BinarySearch(al.a.Sensors, sn.id)
				al.a.Sensors = slices.Insert(al.a.Sensors, i, sn.id)
			}
			a.touch(al)
		}
	}
	al := s.alert
	if al.a.Threshold != th {
		al.a.Threshold = th
		a.touch(al)
	}
	back := v <= th-r.Hysteresis
	if r.Below {
		back = v >= th+r.Hysteresis
	}
	if back {
		s.exceeding, s.alert = false, nil
		a.leave(al, ref, s.last, v)
		return
	}
	if r.worse(v, al.a.Peak) {
		al.a.Peak, al.a.PeakSensor, al.a.PeakTime = v, sn.id, time.Unix(0, s.last).UTC()
		a.touch(al)
	}
}

// leave removes a series from an alert's exceeding members and closes the
// alert at time t with value v when none is left.
func (a *Alerts) leave(al *alertState, ref seriesRef, t int64, v float64) {
	if i := slices.Index(al.members, ref); i >= 0 {
		al.members[i] = al.members[len(al.members)-1]
		al.members = al.members[:len(al.members)-1]
	}
	if len(al.members) > 0 {
		return
	}
	al.a.Open = false
	al.a.Value = v
	al.a.End = time.Unix(0, t).UTC()
	if al.a.End.Before(al.a.Start) {
		// An out-of-order observation of another sensor may close it.
		al.a.End = al.a.Start
	}
	a.closeAlert(al)
}

func (a *Alerts) closeAlert(al *alertState) {
	delete(a.open, al.key)
	al.members = nil
	if len(a.closed) < a.history {
		a.closed = append(a.closed, al.a)
	} else {
		a.closed[a.closeAt] = al.a
		a.closeAt = (a.closeAt + 1) % a.history
	}
	a.touch(al)
}

func (a *Alerts) touch(al *alertState) {
	if al.mark != a.call {
		al.mark = a.call
		a.changed = append(a.changed, al)
	}
}

// snapshot returns a copy of an alert with its current Value.
func (a *Alerts) snapshot(al *alertState) Alert {
	out := al.a
	out.Sensors = slices.Clone(al.a.Sensors)
	if out.Open && len(al.members) > 0 {
		r := &a.rules[al.key.rule]
		for i, m := range al.members {
			v := a.sensors[m.sensor].series[m.k].value
			if i == 0 || r.worse(v, out.Value) {
				out.Value = v
			}
		}
	}
	return out
}

// Tick releases from their alerts the exceeding sensors that have been silent
// at now for longer than max(Window, 2·interval, MinSilence), where interval
// is the sensor's usual interval between observations (an exponentially
// weighted mean, as in State) and Window the rule's: by then a windowed value
// has no data left in its window, and a sensor that died while exceeding
// would otherwise keep its alert open forever. An alert left with no
// exceeding sensor closes with Silent set and End the newest observation
// time of its sensors. Tick returns the alerts it closed; an alert that only
// lost some sensors is not reported. now is on the observation time base
// (normally the wall clock, since observations carry real times).
func (a *Alerts) Tick(now time.Time) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.call++
	a.changed = a.changed[:0]
	t := now.UnixNano()
	var closing []*alertState
	for _, al := range a.open {
		r := &a.rules[al.key.rule]
		last := int64(math.MinInt64)
		for _, m := range al.members {
			sn := &a.sensors[m.sensor]
			last = max(last, sn.series[m.k].last)
		}
		kept := al.members[:0]
		var lastValue float64
		for i, m := range al.members {
			sn := &a.sensors[m.sensor]
			s := &sn.series[m.k]
			limit := max(int64(r.Window), 2*sn.interval, a.minSilence)
			if t-s.last > limit {
				s.exceeding, s.alert = false, nil
				if i == 0 || r.worse(s.value, lastValue) {
					lastValue = s.value
				}
				continue
			}
			kept = append(kept, m)
		}
		clear(al.members[len(kept):])
		al.members = kept
		if len(kept) == 0 {
			al.a.Value, al.a.Silent, al.a.Open = lastValue, true, false
			al.a.End = time.Unix(0, last).UTC()
			closing = append(closing, al)
		}
	}
	// Close in a stable order so that the history is deterministic.
	slices.SortFunc(closing, func(x, y *alertState) int {
		return cmp.Or(x.a.Start.Compare(y.a.Start), strings.Compare(x.a.ID, y.a.ID))
	})
	for _, al := range closing {
		a.closeAlert(al)
	}
	return a.report()
}

// Active returns the open alerts, sorted by Start, then ID.
func (a *Alerts) Active() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.open))
	for _, al := range a.open {
		out = append(out, a.snapshot(al))
	}
	slices.SortFunc(out, func(x, y Alert) int {
		return cmp.Or(x.Start.Compare(y.Start), strings.Compare(x.ID, y.ID))
	})
	return out
}

// Recent returns up to n closed alerts, newest closed first; n ≤ 0 means all
// kept (at most AlertConfig.History).
func (a *Alerts) Recent(n int) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n <= 0 || n > len(a.closed) {
		n = len(a.closed)
	}
	out := make([]Alert, 0, n)
	// The newest is just before closeAt once the ring is full, else last.
	newest := len(a.closed) - 1
	if len(a.closed) == a.history {
		newest = (a.closeAt - 1 + a.history) % a.history
	}
	for i := range n {
		al := a.closed[(newest-i+len(a.closed))%len(a.closed)]
		al.Sensors = slices.Clone(al.Sensors)
		out = append(out, al)
	}
	return out
}
