package ngsild

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/twin"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// The fixture city: two districts side by side, one neighbourhood each, a
// road along the border and a park in the west.
//
//	45.47 +------------+------------+
//	      | D1 / N1    |  D2 / N2   |
//	      |  [park]  road          |
//	      |   n1 o  n2 o   o a1     |     o n3 (800 m east of n1, in D2)
//	45.46 +------------+------------+
//	     9.18        9.19         9.20
func fixture(t testing.TB) *Handler {
	sq := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	city, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{
		geo.KindDistrict: {
			{ID: "D1", Name: "Centro", Geometry: sq(9.18, 45.46, 9.19, 45.47)},
			{ID: "D2", Name: "Est", Geometry: sq(9.19, 45.46, 9.20, 45.47)},
		},
		geo.KindNeighbourhood: {
			{ID: "N1", Name: "Duomo", Parent: "D1", Geometry: sq(9.18, 45.46, 9.19, 45.47)},
			{ID: "N2", Name: "Venezia", Parent: "D2", Geometry: sq(9.19, 45.46, 9.20, 45.47)},
		},
		geo.KindRoad:      {{ID: "R1", Name: "Corso", RoadClass: "primary", Lanes: 2, SpeedLimit: 50, Geometry: orb.LineString{{9.19, 45.46}, {9.19, 45.47}}}},
		geo.KindGreenArea: {{ID: "P1", Name: "Giardino", Geometry: sq(9.181, 45.466, 9.184, 45.469)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := twin.NewState(city, twin.StateConfig{})
	add := func(tenant, id, typ string, p orb.Point, attrs ...twin.Attr) {
		st.Apply([]twin.Observation{{Tenant: tenant, EntityID: id, EntityType: typ, Domain: twin.DomainOf(typ),
			Time: now.Add(-time.Minute), Location: p, Attrs: attrs, Links: city.Link(p, nil, 50)}})
	}
	laeq := func(v float64) twin.Attr { return twin.Attr{Name: "LAeq", Kind: twin.KindNumber, Num: v, Unit: "2N"} }
	add("default", "urn:ngsi-ld:NoiseLevelObserved:n1", "NoiseLevelObserved", orb.Point{9.185, 45.464}, laeq(70))
	add("default", "urn:ngsi-ld:NoiseLevelObserved:n2", "NoiseLevelObserved", orb.Point{9.1885, 45.464}, laeq(60))
	add("default", "urn:ngsi-ld:NoiseLevelObserved:n3", "NoiseLevelObserved", orb.Point{9.1953, 45.464}, laeq(68))
	add("default", "urn:ngsi-ld:AirQualityObserved:a1", "AirQualityObserved", orb.Point{9.195, 45.465},
		twin.Attr{Name: "no2", Kind: twin.KindNumber, Num: 120, Unit: "GQ"}, twin.Attr{Name: "pm10", Kind: twin.KindNumber, Num: 20},
		twin.Attr{Name: "stationName", Kind: twin.KindString, Str: "Senato"})
	add("other", "urn:ngsi-ld:NoiseLevelObserved:n1", "NoiseLevelObserved", orb.Point{9.185, 45.464}, laeq(50))
	return &Handler{State: st, City: city, Now: func() time.Time { return now }}
}

func get(t *testing.T, h *Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	h.Register(mux)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func decodeList(t *testing.T, rec *httptest.ResponseRecorder) []map[string]any {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return out
}

func ids(list []map[string]any) string {
	var s []string
	for _, e := range list {
		s = append(s, strings.TrimPrefix(e["id"].(string), "urn:ngsi-ld:"))
	}
	return strings.Join(s, " ")
}

func TestEntityQueries(t *testing.T) {
	h := fixture(t)
	for _, tc := range []struct {
		name, query string
		hdr         []string
		want        string
	}{
		{"by type", "type=NoiseLevelObserved", nil, "NoiseLevelObserved:n1 NoiseLevelObserved:n2 NoiseLevelObserved:n3"},
		{"tenant header", "type=NoiseLevelObserved", []string{"NGSILD-Tenant", "other"}, "NoiseLevelObserved:n1"},
		{"fiware-service header", "type=NoiseLevelObserved", []string{"Fiware-Service", "other"}, "NoiseLevelObserved:n1"},
		{"unknown tenant", "type=NoiseLevelObserved", []string{"NGSILD-Tenant", "nobody"}, ""},
		{"q and near, by distance", "type=NoiseLevelObserved&q=LAeq>65&georel=near;maxDistance==500&geometry=Point&coordinates=[9.186,45.464]", nil, "NoiseLevelObserved:n1"},
		{"near, sorted by distance", "type=NoiseLevelObserved&georel=near;maxDistance==1000&geometry=Point&coordinates=[9.1953,45.464]", nil, "NoiseLevelObserved:n3 NoiseLevelObserved:n2 NoiseLevelObserved:n1"},
		{"near, min distance", "type=NoiseLevelObserved&georel=near;minDistance==100;maxDistance==1000&geometry=Point&coordinates=[9.1953,45.464]", nil, "NoiseLevelObserved:n2 NoiseLevelObserved:n1"},
		{"encoded semicolons", "type=NoiseLevelObserved&q=" + url.QueryEscape("LAeq>=60;LAeq<69") + "&georel=" + url.QueryEscape("near;maxDistance==2000") + "&geometry=Point&coordinates=" + url.QueryEscape("[9.19,45.465]"), nil, "NoiseLevelObserved:n2 NoiseLevelObserved:n3"},
		{"range", "type=NoiseLevelObserved&q=LAeq==65..70", nil, "NoiseLevelObserved:n1 NoiseLevelObserved:n3"},
		{"unit", "type=AirQualityObserved&q=no2.unitCode==\"GQ\"", nil, "AirQualityObserved:a1"},
		{"id list", "id=urn:ngsi-ld:NoiseLevelObserved:n2,urn:ngsi-ld:AirQualityObserved:a1", nil, "AirQualityObserved:a1 NoiseLevelObserved:n2"},
		{"idPattern", "idPattern=.*:n[13]$", nil, "NoiseLevelObserved:n1 NoiseLevelObserved:n3"},
		{"attrs match any", "attrs=no2,nothing", nil, "AdministrativeArea:district:D2 AdministrativeArea:neighbourhood:N2 AirQualityObserved:a1"},
		{"within polygon", "type=NoiseLevelObserved&georel=within&geometry=Polygon&coordinates=[[[9.18,45.46],[9.19,45.46],[9.19,45.47],[9.18,45.47],[9.18,45.46]]]", nil, "NoiseLevelObserved:n1 NoiseLevelObserved:n2"},
		{"relationship", "type=NoiseLevelObserved&q=refDistrict==\"urn:ngsi-ld:AdministrativeArea:district:D2\"", nil, "NoiseLevelObserved:n3"},
		{"areas containing a point", "type=AdministrativeArea&georel=contains&geometry=Point&coordinates=[9.195,45.465]", nil, "AdministrativeArea:district:D2 AdministrativeArea:neighbourhood:N2"},
		{"neighbourhoods by level", "type=AdministrativeArea&q=adminLevel==\"neighbourhood\"", nil, "AdministrativeArea:neighbourhood:N1 AdministrativeArea:neighbourhood:N2"},
		// Area indicators count every tenant's sensors. D1: energetic mean of
		// 70, 60 and 50 dB (tenant "other") = 65.7; D2: 68.
		{"area indicator", "type=AdministrativeArea&q=LAeq>67.5", nil, "AdministrativeArea:district:D2 AdministrativeArea:neighbourhood:N2"},
		{"area indicator, energetic", "type=AdministrativeArea&q=LAeq==65.6..65.8", nil, "AdministrativeArea:district:D1 AdministrativeArea:neighbourhood:N1"},
		{"roads and parks", "type=RoadSegment,Greenspace", nil, "Greenspace:P1 RoadSegment:R1"},
		{"paging", "type=NoiseLevelObserved&limit=1&offset=1", nil, "NoiseLevelObserved:n2"},
		{"or", "type=NoiseLevelObserved,AirQualityObserved&q=LAeq<65|no2>100", nil, "AirQualityObserved:a1 NoiseLevelObserved:n2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(decodeList(t, get(t, h, "/ngsi-ld/v1/entities?"+tc.query, tc.hdr...))); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestEntityRepresentations(t *testing.T) {
	h := fixture(t)
	base := "/ngsi-ld/v1/entities?id=urn:ngsi-ld:AirQualityObserved:a1&attrs=no2,location,refDistrict,stationName"

	rec := get(t, h, base)
	if !strings.Contains(rec.Header().Get("Link"), CoreContext) {
		t.Errorf("no context Link header: %v", rec.Header())
	}
	e := decodeList(t, rec)[0]
	no2 := e["no2"].(map[string]any)
	if no2["type"] != "Property" || no2["value"] != 120.0 || no2["unitCode"] != "GQ" || no2["observedAt"] != "2026-11-22T09:59:00.000Z" {
		t.Errorf("normalized no2 = %v", no2)
	}
	if loc := e["location"].(map[string]any); loc["type"] != "GeoProperty" {
		t.Errorf("location = %v", loc)
	}
	if rel := e["refDistrict"].(map[string]any); rel["type"] != "Relationship" || rel["object"] != "urn:ngsi-ld:AdministrativeArea:district:D2" {
		t.Errorf("refDistrict = %v", rel)
	}
	if _, ok := e["pm10"]; ok {
		t.Error("attrs did not project pm10 away")
	}

	e = decodeList(t, get(t, h, base+"&options=keyValues"))[0]
	if e["no2"] != 120.0 || e["refDistrict"] != "urn:ngsi-ld:AdministrativeArea:district:D2" || e["stationName"] != "Senato" {
		t.Errorf("keyValues = %v", e)
	}
	if loc := e["location"].(map[string]any); loc["type"] != "Point" {
		t.Errorf("keyValues location = %v", loc)
	}

	e = decodeList(t, get(t, h, base+"&format=concise"))[0]
	if no2 := e["no2"].(map[string]any); no2["value"] != 120.0 || no2["type"] != nil {
		t.Errorf("concise no2 = %v", no2)
	}
	if rel := e["refDistrict"].(map[string]any); rel["object"] == nil || rel["type"] != nil {
		t.Errorf("concise refDistrict = %v", rel)
	}

	e = decodeList(t, get(t, h, base, "Accept", "application/ld+json"))[0]
	if e["@context"] != CoreContext {
		t.Errorf("ld+json without @context: %v", e)
	}

	rec = get(t, h, "/ngsi-ld/v1/entities?type=NoiseLevelObserved&options=keyValues&count=true", "Accept", "application/geo+json")
	var fc struct {
		Type     string
		Features []struct {
			ID         string
			Geometry   struct{ Type string }
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fc); err != nil || rec.Header().Get("Content-Type") != "application/geo+json" {
		t.Fatalf("geo+json: %v %v", err, rec.Header())
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 3 || fc.Features[0].Geometry.Type != "Point" ||
		fc.Features[0].Properties["LAeq"] != 70.0 || fc.Features[0].Properties["type"] != "NoiseLevelObserved" {
		t.Errorf("geo+json = %+v", fc)
	}
	if rec.Header().Get("NGSILD-Results-Count") != "3" {
		t.Errorf("count header %q", rec.Header().Get("NGSILD-Results-Count"))
	}
}

func TestEntityByID(t *testing.T) {
	h := fixture(t)
	rec := get(t, h, "/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:n1?options=keyValues", "NGSILD-Tenant", "other")
	var e map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != 200 || e["LAeq"] != 50.0 || e["stale"] != false {
		t.Fatalf("%d %v", rec.Code, e)
	}
	rec = get(t, h, "/ngsi-ld/v1/entities/urn:ngsi-ld:AdministrativeArea:neighbourhood:N2?options=keyValues")
	e = nil
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != 200 || e["type"] != TypeArea || e["name"] != "Venezia" || e["no2"] != 120.0 || e["aqiBand"] == nil ||
		e["refDistrict"] != "urn:ngsi-ld:AdministrativeArea:district:D2" || e["sensorCount"] != 2.0 {
		t.Fatalf("%d %v", rec.Code, e)
	}
	rec = get(t, h, "/ngsi-ld/v1/entities/urn:ngsi-ld:RoadSegment:R1?options=keyValues")
	e = nil
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if e["maximumAllowedSpeed"] != 50.0 || e["totalLaneNumber"] != 2.0 || e["roadClass"] != "primary" {
		t.Fatalf("road %v", e)
	}
	rec = get(t, h, "/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:nope")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "ResourceNotFound") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestFeaturePages: a list without attribute filters computes the features'
// indicators after paging; each page's entities equal the ones by id, and
// the pages together are the whole list.
func TestFeaturePages(t *testing.T) {
	h := fixture(t)
	all := decodeList(t, get(t, h, "/ngsi-ld/v1/entities?type=AdministrativeArea,RoadSegment,Greenspace&options=keyValues&limit=100"))
	if len(all) < 5 {
		t.Fatalf("only %d features", len(all))
	}
	var paged []map[string]any
	for off := 0; off < len(all); off += 2 {
		paged = append(paged, decodeList(t, get(t, h, fmt.Sprintf("/ngsi-ld/v1/entities?type=AdministrativeArea,RoadSegment,Greenspace&options=keyValues&limit=2&offset=%d", off)))...)
	}
	if ids(paged) != ids(all) {
		t.Fatalf("pages %s, want %s", ids(paged), ids(all))
	}
	withIndicators := 0
	for _, e := range paged {
		rec := get(t, h, "/ngsi-ld/v1/entities/"+e["id"].(string)+"?options=keyValues")
		var byID map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &byID)
		delete(byID, "@context")
		if fmt.Sprint(byID) != fmt.Sprint(e) {
			t.Errorf("%s listed as %v, by id %v", e["id"], e, byID)
		}
		if e["sensorCount"] != nil && e["sensorCount"].(float64) > 0 {
			withIndicators++
		}
	}
	if withIndicators == 0 {
		t.Fatal("no listed feature has sensors: the fixture does not test the indicators")
	}
}

func TestEntityQueryErrors(t *testing.T) {
	h := fixture(t)
	for _, tc := range []struct {
		query, hdrAccept string
		status           int
		want             string
	}{
		{"q=LAeq>>3", "", 400, "q: position"},
		{"type=X&colour=red", "", 400, "colour: unknown parameter"},
		{"limit=5000", "", 400, "limit: must not exceed 1000"},
		{"limit=-1", "", 400, "limit: must be a non-negative integer"},
		{"limit=0", "", 400, "limit: 0 is only allowed with count=true"},
		{"georel=near;maxDistance==500&geometry=Point", "", 400, "georel, geometry and coordinates go together"},
		{"georel=near;maxDistance==500&geometry=Point&coordinates=9.19,45.46", "", 400, "coordinates: must be a GeoJSON coordinates array"},
		{"georel=near;maxDistance==500&geometry=Point&coordinates=[9.19,95]", "", 400, "coordinates must be finite WGS84"},
		{"georel=near&geometry=Point&coordinates=[9.19,45.46]", "", 400, "near needs maxDistance or minDistance"},
		{"georel=around&geometry=Point&coordinates=[9.19,45.46]", "", 400, "unknown georel"},
		{"georel=within;maxDistance==3&geometry=Polygon&coordinates=[[[0,0],[1,0],[1,1],[0,0]]]", "", 400, "within takes no distance"},
		{"georel=within&geometry=Polygon&coordinates=[[[0,0],[1,1],[1,0],[0,1],[0,0]]]", "", 400, "not valid"},
		{"idPattern=(", "", 400, "idPattern: not a regular expression"},
		{"options=fancy", "", 400, "options: unknown option"},
		{"type=A|B", "", 400, "type expressions"},
		{"type=A&type=B", "", 400, "type: given more than once"},
		{"type=A", "text/html", 406, "NotAcceptable"},
	} {
		var hdr []string
		if tc.hdrAccept != "" {
			hdr = []string{"Accept", tc.hdrAccept}
		}
		rec := get(t, h, "/ngsi-ld/v1/entities?"+tc.query, hdr...)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.query, rec.Code, rec.Body, tc.status, tc.want)
		}
		if rec.Code == 400 && !strings.Contains(rec.Body.String(), "https://uri.etsi.org/ngsi-ld/errors/BadRequestData") {
			t.Errorf("%s: not a ProblemDetails body: %s", tc.query, rec.Body)
		}
	}
}

func TestTypes(t *testing.T) {
	var out struct {
		TypeList []string
		Types    []struct {
			TypeName    string
			EntityCount int
		}
	}
	rec := get(t, fixture(t), "/ngsi-ld/v1/types")
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ty := range out.Types {
		got[ty.TypeName] = ty.EntityCount
	}
	if got["NoiseLevelObserved"] != 3 || got["AirQualityObserved"] != 1 || got[TypeArea] != 4 || got[TypeRoad] != 1 {
		t.Errorf("types %v", got)
	}
}

// fakeHistory records the query and answers a canned result.
type fakeHistory struct {
	got history.TemporalQuery
	res history.TemporalResult
	err error
}

func (f *fakeHistory) Temporal(_ context.Context, q history.TemporalQuery) (history.TemporalResult, error) {
	f.got = q
	return f.res, f.err
}

func TestTemporal(t *testing.T) {
	h := fixture(t)
	t1 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	fh := &fakeHistory{res: history.TemporalResult{Found: true, EntityType: "AirQualityObserved",
		Aggregates: map[string]map[string][]history.Bucket{"no2": {"avg": {{Start: t1, End: t1.Add(time.Hour), Value: 42.5}}}}}}
	h.History = fh
	rec := get(t, h, "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:a1?attrs=no2&timerel=between&timeAt=2026-11-21T00:00:00Z&endTimeAt=2026-11-22T00:00:00Z&aggrMethods=avg,max&aggrPeriodDuration=PT1H",
		"NGSILD-Tenant", "default")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	q := fh.got
	if q.EntityID != "urn:ngsi-ld:AirQualityObserved:a1" || q.TimeRel != "between" || !q.TimeAt.Equal(t1) ||
		!q.EndTimeAt.Equal(t1.Add(24*time.Hour)) || q.AggrPeriod != time.Hour || strings.Join(q.AggrMethods, ",") != "avg,max" ||
		strings.Join(q.Attrs, ",") != "no2" || q.Tenant != "default" {
		t.Errorf("query %+v", q)
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	avg := out["no2"].(map[string]any)["avg"].([]any)[0].([]any)
	if out["type"] != "AirQualityObserved" || avg[0] != 42.5 || avg[1] != "2026-11-21T00:00:00.000Z" || avg[2] != "2026-11-21T01:00:00.000Z" {
		t.Errorf("body %s", rec.Body)
	}

	fh.res = history.TemporalResult{Found: true, EntityType: "NoiseLevelObserved", Values: map[string][]history.Value{
		"LAeq": {{Time: t1, Num: 61, Kind: twin.KindNumber}, {Time: t1.Add(time.Minute), Num: 63, Kind: twin.KindNumber}}}}
	rec = get(t, h, "/ngsi-ld/v1/temporal/entities/x?lastN=2&options=temporalValues")
	if fh.got.LastN != 2 || !strings.Contains(rec.Body.String(), `"values":[[61,"2026-11-21T00:00:00.000Z"],[63,"2026-11-21T00:01:00.000Z"]]`) {
		t.Errorf("temporalValues: %+v %s", fh.got, rec.Body)
	}
	rec = get(t, h, "/ngsi-ld/v1/temporal/entities/x")
	if !strings.Contains(rec.Body.String(), `"LAeq":[{"observedAt":"2026-11-21T00:00:00.000Z","type":"Property","value":61}`) {
		t.Errorf("normalized: %s", rec.Body)
	}

	for _, tc := range []struct{ query, want string }{
		{"timerel=between&timeAt=2026-11-21T00:00:00Z", "endTimeAt"},
		{"timerel=during&timeAt=2026-11-21T00:00:00Z", "timerel"},
		{"timerel=after&timeAt=yesterday", "timeAt"},
		{"aggrMethods=avg&aggrPeriodDuration=P1M", "aggrPeriodDuration"},
		{"aggrPeriodDuration=PT1H", "aggrPeriodDuration: needs aggrMethods"},
		{"lastN=0", "lastN"},
	} {
		rec := get(t, h, "/ngsi-ld/v1/temporal/entities/x?"+tc.query)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s", tc.query, rec.Code, rec.Body)
		}
	}
	fh.err = &history.QueryError{Param: "aggrMethods", Msg: `unknown method "median"`}
	if rec := get(t, h, "/ngsi-ld/v1/temporal/entities/x?aggrMethods=median"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "median") {
		t.Errorf("history validation: %d %s", rec.Code, rec.Body)
	}
	fh.err, fh.res = nil, history.TemporalResult{}
	if rec := get(t, h, "/ngsi-ld/v1/temporal/entities/unknown"); rec.Code != 404 {
		t.Errorf("unknown entity: %d", rec.Code)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1H": time.Hour, "P1D": 24 * time.Hour, "PT15M": 15 * time.Minute, "P1DT12H": 36 * time.Hour,
		"PT0.5S": 500 * time.Millisecond, "P1W": 7 * 24 * time.Hour, "PT1H30M": 90 * time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "P1M", "P1Y", "PT1", "P1H", "PTH", "PT-1H", "P0D"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
