//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/geo/democity"
	"github.com/citytwin/citytwin/internal/testenv"
)

// TestLayersShowLiveIndicators: noise readings published over MQTT to a
// running citytwin (demo city) show up in the GeoJSON layer API as the
// energetic mean LAeq of their neighbourhood, with the sensors listed.
func TestLayersShowLiveIndicators(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, mq, db, "citytwin-layers")
	city, _, err := geo.NewCity(democity.Generate(democity.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	// Two sensors in the neighbourhood of the city centre.
	centre := orb.Point{democity.DefaultLon, democity.DefaultLat}
	nb := city.Link(centre, nil, 50).Neighbourhood
	if nb == "" {
		t.Fatal("the demo city has no neighbourhood at its centre")
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID("pub-layers"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	now := time.Now().UTC()
	for i, laeq := range []float64{60, 70} {
		p := orb.Point{centre[0] + float64(i)*0.0002, centre[1]}
		if city.Link(p, nil, 50).Neighbourhood != nb {
			t.Fatalf("test point %v left neighbourhood %s", p, nb)
		}
		body := fmt.Sprintf(`{"id":"urn:ngsi-ld:NoiseLevelObserved:c%d","type":"NoiseLevelObserved","dateObserved":%q,"LAeq":%g,"location":{"type":"Point","coordinates":[%f,%f]}}`,
			i, now.Format(time.RFC3339Nano), laeq, p[0], p[1])
		if tok := pub.Publish("ngsi/layers/noise/c", 1, false, body); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	want := 10 * math.Log10((math.Pow(10, 6)+math.Pow(10, 7))/2) // 67.40 dB(A)

	var got struct {
		Properties struct {
			Name       string
			Indicators struct {
				Sensors int
				LAeq    *float64 `json:"laeq"`
			}
			Sensors []struct{ ID string }
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + ct.HTTPAddr + "/api/v1/layers/neighbourhood/" + nb)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/geo+json" {
			t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Properties.Indicators.Sensors == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	in := got.Properties.Indicators
	if in.Sensors != 2 || in.LAeq == nil || math.Abs(*in.LAeq-want) > 0.01 || len(got.Properties.Sensors) != 2 {
		t.Errorf("neighbourhood %s (%s): sensors %d, laeq %v, listed %v; want 2 sensors at %.2f dB(A)",
			nb, got.Properties.Name, in.Sensors, in.LAeq, got.Properties.Sensors, want)
	}

	// The whole layer is a FeatureCollection with a feature per neighbourhood.
	resp, err := http.Get("http://" + ct.HTTPAddr + "/api/v1/layers/neighbourhood")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fc struct {
		Type     string
		Features []json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != len(city.Features(geo.KindNeighbourhood)) {
		t.Errorf("layer: type %s with %d features, want a FeatureCollection of %d", fc.Type, len(fc.Features), len(city.Features(geo.KindNeighbourhood)))
	}
	if r, _ := http.Get("http://" + ct.HTTPAddr + "/api/v1/layers/rivers"); r == nil || r.StatusCode != 404 {
		t.Errorf("unknown layer: want 404")
	}
}
