package ngsild

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/twin"
)

// benchState returns a twin of n sensors placed uniformly at random over
// the demo city's bound, each linked to the city and carrying one value.
func benchState(tb testing.TB, n int) (*twin.State, *geo.City) {
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		tb.Fatal(err)
	}
	st := twin.NewState(city, twin.StateConfig{})
	b := city.Bound()
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	obs := make([]twin.Observation, 0, 1000)
	for i := range n {
		p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		obs = append(obs, twin.Observation{
			Tenant: twin.DefaultTenant, EntityID: fmt.Sprintf("urn:ngsi-ld:NoiseLevelObserved:n%06d", i),
			EntityType: "NoiseLevelObserved", Domain: twin.DomainNoise, Time: now, Location: p,
			Attrs: []twin.Attr{{Name: "LAeq", Kind: twin.KindNumber, Num: 40 + float64(i%40), Unit: "2N"}},
			Links: city.Link(p, nil, 50),
		})
		if len(obs) == cap(obs) {
			st.Apply(obs)
			obs = obs[:0]
		}
	}
	st.Apply(obs)
	return st, city
}

// BenchmarkNear answers "which noise sensors within 500 m of this point
// exceed 65 dB(A)" over 100,000 sensors through the HTTP handler, with the
// spatial index and with the linear-scan baseline, in one run.
func BenchmarkNear(b *testing.B) {
	st, city := benchState(b, 100_000)
	c := city.Bound().Center()
	url := fmt.Sprintf("/ngsi-ld/v1/entities?type=NoiseLevelObserved&q=LAeq%%3E65&georel=near;maxDistance==500&geometry=Point&coordinates=[%f,%f]&limit=100&count=true", c[0], c[1])
	for _, mode := range []struct {
		name   string
		linear bool
	}{{"index", false}, {"linear", true}} {
		b.Run(mode.name, func(b *testing.B) {
			rec := benchGet(b, &Handler{State: st, City: city, linearScan: mode.linear}, url)
			b.ReportMetric(float64(atoi(rec.Header().Get("NGSILD-Results-Count"))), "results")
		})
	}
}

// benchGet serves GET target through h in the benchmark's loop, failing on
// any status but 200, and returns the last answer.
func benchGet(b *testing.B, h *Handler, target string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	h.Register(mux)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	var rec *httptest.ResponseRecorder
	for b.Loop() {
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	return rec
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// BenchmarkFeaturePage lists one page of 20 road segments of the demo city
// (~2,600) with 20,000 sensors linked: indicators computed for the page
// only (the default) and, the baseline, for every segment before paging.
func BenchmarkFeaturePage(b *testing.B) {
	st, city := benchState(b, 20_000)
	for _, mode := range []struct {
		name  string
		eager bool
	}{{"page", false}, {"eager", true}} {
		b.Run(mode.name, func(b *testing.B) {
			benchGet(b, &Handler{State: st, City: city, eagerFeatures: mode.eager}, "/ngsi-ld/v1/entities?type=RoadSegment&limit=20&offset=100&count=true")
		})
	}
}
