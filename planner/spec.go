package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Spec is a what-if scenario as a planner writes it (JSON or YAML, same
// field names). A scenario has a traffic part (noise and NO2 response), an
// irrigation part, or both.
//
//	name: Area B, −30 % traffic
//	author: planner@comune.example
//	tenant: demo
//	baseline: {last: 7d}               # or {start: …, end: …} (RFC 3339)
//	area:
//	  neighbourhoods: [nil-12, nil-13] # and/or districts, roads, polygon
//	traffic:
//	  flowChangePct: -30               # on every road of the area
//	  speedChangePct: 0
//	  close: [r-0042]                  # closed roads …
//	  divert: {r-0043: 60}             # … their traffic moved, % per road
//	air: {backgroundShare: 0.45}       # optional: else estimated or the default
//	noise: {periods: eu, limitClass: IV}
//	irrigation:
//	  horizonDays: 7
//	  policies:
//	    - {policy: threshold}
//	    - {policy: fixed, everyDays: 2, depthMm: 12}
//	    - {policy: rain-skip, everyDays: 2, depthMm: 12}
type Spec struct {
	Name   string `json:"name" yaml:"name"`
	Author string `json:"author,omitempty" yaml:"author,omitempty"`
	Tenant string `json:"tenant,omitempty" yaml:"tenant,omitempty"`

	Baseline Window `json:"baseline" yaml:"baseline"`
	Area     Area   `json:"area" yaml:"area"`

	Traffic    *TrafficSpec    `json:"traffic,omitempty" yaml:"traffic,omitempty"`
	Air        *AirSpec        `json:"air,omitempty" yaml:"air,omitempty"`
	Noise      *NoiseSpec      `json:"noise,omitempty" yaml:"noise,omitempty"`
	Irrigation *IrrigationSpec `json:"irrigation,omitempty" yaml:"irrigation,omitempty"`
}

// Window is a baseline period: Last (a duration before the run, e.g. 7d,
// 36h) or Start and End (RFC 3339).
type Window struct {
	Last  string    `json:"last,omitempty" yaml:"last,omitempty"`
	Start time.Time `json:"start,omitzero" yaml:"start,omitempty"`
	End   time.Time `json:"end,omitzero" yaml:"end,omitempty"`
}

// Resolve returns the window's bounds, truncated to whole hours (the
// rollups' resolution), relative to now.
func (w Window) Resolve(now time.Time) (start, end time.Time, err error) {
	switch {
	case w.Last != "" && (!w.Start.IsZero() || !w.End.IsZero()):
		return start, end, fieldErr("baseline", "give either last or start and end, not both")
	case w.Last != "":
		d, err := ParseDays(w.Last)
		if err != nil || d <= 0 {
			return start, end, fieldErr("baseline.last", "must be a positive duration such as 7d, 36h or 1d12h, got %q", w.Last)
		}
		end = now.Truncate(time.Hour)
		start = end.Add(-d).Truncate(time.Hour)
	case w.Start.IsZero() || w.End.IsZero():
		return start, end, fieldErr("baseline", "needs last, or both start and end")
	default:
		start, end = w.Start.Truncate(time.Hour), w.End.Truncate(time.Hour)
	}
	if !start.Before(end) {
		return start, end, fieldErr("baseline", "start must be at least one hour before end")
	}
	if end.Sub(start) > MaxBaseline {
		return start, end, fieldErr("baseline", "must be at most %s long, got %s", MaxBaseline, end.Sub(start))
	}
	return start, end, nil
}

// MaxBaseline bounds a scenario's baseline window.
const MaxBaseline = 92 * 24 * time.Hour

// Area is where a scenario acts: the union of the named districts and
// neighbourhoods, the drawn polygon, and the listed roads. Roads acted on
// are the listed ones plus every road segment that intersects the areas and
// the polygon.
type Area struct {
	Districts      []string `json:"districts,omitempty" yaml:"districts,omitempty"`
	Neighbourhoods []string `json:"neighbourhoods,omitempty" yaml:"neighbourhoods,omitempty"`
	// Polygon is a ring of [lon, lat] positions (closed or not).
	Polygon    [][2]float64 `json:"polygon,omitempty" yaml:"polygon,omitempty"`
	Roads      []string     `json:"roads,omitempty" yaml:"roads,omitempty"`
	GreenAreas []string     `json:"greenAreas,omitempty" yaml:"greenAreas,omitempty"`
}

func (a Area) empty() bool {
	return len(a.Districts) == 0 && len(a.Neighbourhoods) == 0 && len(a.Polygon) == 0 && len(a.Roads) == 0 && len(a.GreenAreas) == 0
}

// TrafficSpec is the traffic intervention.
type TrafficSpec struct {
	// FlowChangePct changes the flow of every road of the area, in percent
	// (−30 is a 30 % cut); −100..+300.
	FlowChangePct float64 `json:"flowChangePct" yaml:"flowChangePct"`
	// SpeedChangePct changes the mean speed on those roads, in percent;
	// −80..+100.
	SpeedChangePct float64 `json:"speedChangePct,omitempty" yaml:"speedChangePct,omitempty"`
	// Close lists road segments closed to traffic (flow 0).
	Close []string `json:"close,omitempty" yaml:"close,omitempty"`
	// Divert moves a share (percent, summing to at most 100) of the closed
	// roads' total flow onto these roads.
	Divert map[string]float64 `json:"divert,omitempty" yaml:"divert,omitempty"`
}

// AirSpec sets the NO2 response's assumption.
type AirSpec struct {
	// BackgroundShare is the share (0–1) of the NO2 concentration that does
	// not come from the area's traffic. Absent: estimated from a background
	// and a roadside station when both exist, else DefaultBackgroundShare.
	BackgroundShare *float64 `json:"backgroundShare,omitempty" yaml:"backgroundShare,omitempty"`
}

// NoiseSpec sets the noise periods and the limits counted.
type NoiseSpec struct {
	// Periods: "eu" (day 07–19, evening 19–23, night 23–07, Directive
	// 2002/49/EC) or "italy" (06–20, 20–22, 22–06). Default eu.
	Periods string `json:"periods,omitempty" yaml:"periods,omitempty"`
	// LimitClass is the DPCM 14/11/1997 acoustic class (I–VI) whose
	// immission limits count the hours above limit; default IV (65/55).
	LimitClass string `json:"limitClass,omitempty" yaml:"limitClass,omitempty"`
}

// IrrigationSpec asks for the water needs of the area's green areas.
type IrrigationSpec struct {
	// HorizonDays is how far ahead to plan, 1–31; default 7.
	HorizonDays int `json:"horizonDays,omitempty" yaml:"horizonDays,omitempty"`
	// Policies are simulated side by side; default threshold, fixed every 2
	// days 10 mm, rain-skip of the same.
	Policies []PolicySpec `json:"policies,omitempty" yaml:"policies,omitempty"`
	// Kc, ThetaFC, ThetaWP, RootDepthM, P override the FAO-56 defaults for
	// every green area (twin/fao56).
	Kc         float64 `json:"kc,omitempty" yaml:"kc,omitempty"`
	ThetaFC    float64 `json:"thetaFC,omitempty" yaml:"thetaFC,omitempty"`
	ThetaWP    float64 `json:"thetaWP,omitempty" yaml:"thetaWP,omitempty"`
	RootDepthM float64 `json:"rootDepthM,omitempty" yaml:"rootDepthM,omitempty"`
	P          float64 `json:"p,omitempty" yaml:"p,omitempty"`
	// Efficiency of the irrigation system (0–1]; default 1.
	Efficiency float64 `json:"efficiency,omitempty" yaml:"efficiency,omitempty"`
}

// PolicySpec is one irrigation policy: threshold (refill when the
// depletion reaches RAW), fixed (DepthMM every EveryDays days or on
// Weekdays) or rain-skip (fixed, skipped when the day's forecast rain
// covers it).
type PolicySpec struct {
	Policy    string   `json:"policy" yaml:"policy"`
	EveryDays int      `json:"everyDays,omitempty" yaml:"everyDays,omitempty"`
	Weekdays  []string `json:"weekdays,omitempty" yaml:"weekdays,omitempty"`
	DepthMM   float64  `json:"depthMm,omitempty" yaml:"depthMm,omitempty"`
}

// SpecError is an invalid scenario: Field is the path of the offending
// field (traffic.flowChangePct), Rule what it breaks.
type SpecError struct {
	Field, Rule string
}

func (e *SpecError) Error() string { return e.Field + ": " + e.Rule }

// ErrInvalid matches every *SpecError with errors.Is.
var ErrInvalid = errors.New("planner: invalid scenario")

// Is reports target == ErrInvalid.
func (e *SpecError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, args ...any) *SpecError {
	return &SpecError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// ParseSpec reads a scenario from JSON or YAML (JSON is YAML; unknown
// fields are refused in both, naming the field).
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return s, &SpecError{Field: jsonField(err), Rule: err.Error()}
		}
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return s, &SpecError{Field: "", Rule: "not a valid scenario document: " + err.Error()}
	}
	return s, nil
}

func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	}
	return ""
}

// Validate checks everything that does not need the city; the run checks
// that named features exist.
func (s *Spec) Validate() error {
	switch {
	case strings.TrimSpace(s.Name) == "":
		return fieldErr("name", "is required")
	case len(s.Name) > 200:
		return fieldErr("name", "must be at most 200 bytes")
	case len(s.Author) > 200:
		return fieldErr("author", "must be at most 200 bytes")
	case s.Traffic == nil && s.Irrigation == nil:
		return fieldErr("traffic", "a scenario needs a traffic or an irrigation part (or both)")
	case s.Area.empty():
		return fieldErr("area", "name districts, neighbourhoods, roads, green areas or draw a polygon")
	}
	if _, _, err := s.Baseline.Resolve(time.Now()); err != nil {
		return err
	}
	if p := s.Area.Polygon; len(p) > 0 {
		if len(p) < 3 {
			return fieldErr("area.polygon", "needs at least 3 positions, got %d", len(p))
		}
		for i, pt := range p {
			if !(pt[0] >= -180 && pt[0] <= 180 && pt[1] >= -90 && pt[1] <= 90) {
				return fieldErr(fmt.Sprintf("area.polygon[%d]", i), "must be [lon, lat] within -180..180, -90..90")
			}
		}
	}
	if t := s.Traffic; t != nil {
		if !finite(t.FlowChangePct) || t.FlowChangePct < -100 || t.FlowChangePct > 300 {
			return fieldErr("traffic.flowChangePct", "must be within -100..300 percent, got %g", t.FlowChangePct)
		}
		if !finite(t.SpeedChangePct) || t.SpeedChangePct < -80 || t.SpeedChangePct > 100 {
			return fieldErr("traffic.speedChangePct", "must be within -80..100 percent, got %g", t.SpeedChangePct)
		}
		var sum float64
		for road, pct := range t.Divert {
			if !finite(pct) || pct <= 0 || pct > 100 {
				return fieldErr("traffic.divert."+road, "must be a share within 0..100 percent (exclusive of 0), got %g", pct)
			}
			sum += pct
		}
		if sum > 100+1e-9 {
			return fieldErr("traffic.divert", "shares must sum to at most 100 percent, got %g", sum)
		}
		if len(t.Divert) > 0 && len(t.Close) == 0 {
			return fieldErr("traffic.divert", "diverts the traffic of closed roads: list them in traffic.close")
		}
	}
	if a := s.Air; a != nil && a.BackgroundShare != nil {
		if b := *a.BackgroundShare; !finite(b) || b < 0 || b > 1 {
			return fieldErr("air.backgroundShare", "must be within 0..1, got %g", b)
		}
	}
	if n := s.Noise; n != nil {
		if _, err := periodsOf(n.Periods); err != nil {
			return err
		}
		if _, err := limitClass(n.LimitClass); err != nil {
			return err
		}
	}
	if ir := s.Irrigation; ir != nil {
		if ir.HorizonDays < 0 || ir.HorizonDays > 31 {
			return fieldErr("irrigation.horizonDays", "must be within 1..31, got %d", ir.HorizonDays)
		}
		if ir.Efficiency < 0 || ir.Efficiency > 1 {
			return fieldErr("irrigation.efficiency", "must be within 0..1 (exclusive of 0), got %g", ir.Efficiency)
		}
		for i, p := range ir.Policies {
			if _, err := p.policy(fmt.Sprintf("irrigation.policies[%d]", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// ParseDays is time.ParseDuration with d (24 h) as a unit: 7d, 1d12h, 36h.
func ParseDays(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var d time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		var n int
		if _, err := fmt.Sscanf(s[:i], "%d", &n); err != nil || fmt.Sprint(n) != s[:i] || n > 100000 {
			return 0, fmt.Errorf("bad day count in %q", s)
		}
		d, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	if s != "" {
		rest, err := time.ParseDuration(s)
		if err != nil {
			return 0, err
		}
		d += rest
	}
	if neg {
		d = -d
	}
	return d, nil
}
