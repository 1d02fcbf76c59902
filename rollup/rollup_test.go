package rollup_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/ingest"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/rollup"
	"github.com/citytwin/citytwin/twin"
)

type env struct {
	db    *testenv.InfluxDB
	w     *ingest.Influx
	store *history.Store
}

func newEnv(t *testing.T) env {
	db := testenv.StartInfluxDB(t)
	w, err := ingest.NewInflux(ingest.InfluxConfig{URL: db.URL, Token: db.Token, Org: db.Org, Bucket: db.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	s, err := history.New(history.Config{URL: db.URL, Token: db.Token, Org: db.Org, Bucket: db.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return env{db, w, s}
}

// noise returns the observations of one noise sensor: one per minute from
// start with levels l(i), linked to road r-1.
func noise(id string, start time.Time, n int, l func(i int) float64) []twin.Observation {
	out := make([]twin.Observation, n)
	for i := range out {
		out[i] = twin.Observation{
			Tenant: "t1", EntityID: id, EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise,
			Time:     start.Add(time.Duration(i) * time.Minute),
			Links:    geo.Links{District: "d-1", Neighbourhood: "n-1", Road: "r-1"},
			Location: orb.Point{9.19, 45.46},
			Attrs:    []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: l(i)}, {Name: "sonometerClass", Kind: twin.KindString, Str: "1"}},
		}
	}
	return out
}

func lines(obs []twin.Observation) string {
	var b strings.Builder
	for _, o := range obs {
		fmt.Fprintf(&b, "%s,district=%s,domain=%s,entity_id=%s,neighbourhood=%s,road=%s,tenant=%s LAeq=%g,sonometerClass=\"1\",location=\"{\\\"type\\\":\\\"Point\\\",\\\"coordinates\\\":[9.19,45.46]}\" %d\n",
			o.EntityType, o.Links.District, o.Domain, o.EntityID, o.Links.Neighbourhood, o.Links.Road, o.Tenant, o.Attrs[0].Num, o.Time.UnixNano())
	}
	return b.String()
}

func hourly(t *testing.T, e env, start, stop time.Time) map[string]float64 {
	got := map[string]float64{}
	q := history.HourlyQuery{
		Tenant: "t1", Types: []string{"NoiseLevelObserved"},
		Fields: []string{"LAeq", "LAeq_n", "LAeq_min", "LAeq_max", "LAeq_sum"}, Start: start, Stop: stop,
	}
	err := e.store.Hourly(t.Context(), q, func(p *history.HourlyPoint) error {
		got[fmt.Sprintf("%s %s %s", p.EntityID, p.Hour.UTC().Format("15"), p.Field)] = p.Value
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ents, err := e.store.HourlyEntities(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	for id, en := range ents {
		if en.Links.Road != "r-1" || en.Type != "NoiseLevelObserved" || en.Location != (orb.Point{9.19, 45.46}) {
			t.Errorf("entity %+v: want road r-1, type NoiseLevelObserved, location [9.19 45.46]", *en)
		}
		got[id+" location"]++
	}
	return got
}

// The hour of 60 readings alternating 60 and 70 dB(A): energetic mean
// 10·lg((10^6 + 10^7)/2) = 10·lg(5.5·10^6) = 67.404 dB, arithmetic sum
// 30·60 + 30·70 = 3,900, min 60, max 70, n 60. Observe + Flush and
// Backfill from the raw points must give the same, and the rollups must
// not leak into the raw reads.
func TestRollupLiveAndBackfill(t *testing.T) {
	e := newEnv(t)
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour)
	alt := func(i int) float64 { return 60 + 10*float64(i%2) }
	live := noise("n-live", h0.Add(2*time.Hour), 60, alt)
	old := noise("n-old", h0, 60, alt)
	e.db.Write(t, lines(live)+lines(old))

	now := h0.Add(3*time.Hour + 10*time.Minute)
	r := rollup.New(rollup.Config{Now: func() time.Time { return now }}, e.w, e.store, h0.Add(time.Hour+30*time.Minute))
	r.Observe(live)
	r.Observe(old) // before the process started: left to the backfill
	if r.Pending() != 2 {
		t.Fatalf("pending hours %d, want 2 (the hour before the start, and the start hour once it ends)", r.Pending())
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Backfill(t.Context(), h0, h0.Add(30*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	got := hourly(t, e, h0, h0.Add(6*time.Hour))
	want := 10 * math.Log10(5.5e6)
	for _, id := range []string{"n-live", "n-old"} {
		hour := h0.Format("15")
		if id == "n-live" {
			hour = h0.Add(2 * time.Hour).Format("15")
		}
		k := id + " " + hour + " "
		if math.Abs(got[k+"LAeq"]-want) > 1e-9 || got[k+"LAeq_n"] != 60 || got[k+"LAeq_min"] != 60 ||
			got[k+"LAeq_max"] != 70 || got[k+"LAeq_sum"] != 3900 {
			t.Errorf("%s: got %v, want LAeq %.4f n 60 min 60 max 70 sum 3900", id, got, want)
		}
	}
	if len(got) != 12 || got["n-live location"] != 1 || got["n-old location"] != 1 {
		t.Errorf("got %d rollup fields, want 10 and a location per entity: %v", len(got), got)
	}

	// A late reading within Keep rewrites its whole hour.
	r.Observe(noise("n-live", h0.Add(2*time.Hour+59*time.Minute+30*time.Second), 1, func(int) float64 { return 80 }))
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got = hourly(t, e, h0, h0.Add(6*time.Hour))
	k := "n-live " + h0.Add(2*time.Hour).Format("15") + " "
	if got[k+"LAeq_n"] != 61 || got[k+"LAeq_max"] != 80 {
		t.Errorf("after a late reading: n %v max %v, want 61 and 80", got[k+"LAeq_n"], got[k+"LAeq_max"])
	}

	// The raw reads do not see the rollups.
	res, err := e.store.Temporal(t.Context(), history.TemporalQuery{Tenant: "t1", EntityID: "n-live",
		TimeRel: "between", TimeAt: h0, EndTimeAt: h0.Add(6 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name := range res.Values {
		if strings.Contains(name, "_") {
			t.Errorf("temporal query returned rollup field %q", name)
		}
	}
	if n := len(res.Values["LAeq"]); n != 60 {
		t.Errorf("temporal query: %d LAeq values, want the 60 raw ones", n)
	}
}
