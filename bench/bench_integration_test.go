package bench_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/bench"
	"github.com/citytwin/citytwin/internal/testenv"
)

// TestBaselineStep runs one short step of the baseline consumer through a
// real Mosquitto and InfluxDB 1.8.10 and checks that every message is counted.
func TestBaselineStep(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)

	baseline := filepath.Join(t.TempDir(), "citytwin-baseline")
	build := exec.Command("go", "build", "-o", baseline, "./baseline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the baseline: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := bench.Run(ctx, bench.Config{
		MQTTURL: broker.URL, InfluxURL: db.URL, InfluxToken: db.Token, InfluxOrg: db.Org, InfluxBucket: db.Bucket,
		Consumers: []string{bench.Baseline}, BaselinePath: baseline, BaselineClean: true,
		Rates: []float64{500}, Step: 3 * time.Second, Sensors: 99, Publishers: 2,
		Dir: t.TempDir(), Progress: &progress,
	})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Steps) != 1 {
		t.Fatalf("%d steps, want 1", len(rep.Steps))
	}
	s := rep.Steps[0]
	if s.Published != s.Stored || s.Lost != 0 || s.PublishFail != 0 {
		t.Errorf("published %d, stored %d, lost %d, failed %d", s.Published, s.Stored, s.Lost, s.PublishFail)
	}
	// The machine is shared: a stalled test process publishes less, never more.
	if s.Published < 750 || s.Published > 1600 {
		t.Errorf("published %d in 3 s at 500 msg/s", s.Published)
	}
	if s.AchievedRate < 250 || s.AchievedRate > 550 {
		t.Errorf("achieved %.0f msg/s, want ~500", s.AchievedRate)
	}
	if s.Latency.N != int(s.Stored) || s.Latency.P50 <= 0 || s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max ||
		s.Latency.Max > 10*time.Second {
		t.Errorf("latency %+v", s.Latency)
	}
	if s.PayloadBytes < 200 || s.PayloadBytes > 400 {
		t.Errorf("mean payload %.0f B", s.PayloadBytes)
	}
	if s.CPUPerMsg.Unknown() || s.CPUPerMsg <= 0 || s.PeakMB.Unknown() || s.PeakMB < 1 || s.RSSMB > s.PeakMB+1 {
		t.Errorf("CPU %v µs/msg, RSS %v MB, peak %v MB", s.CPUPerMsg, s.RSSMB, s.PeakMB)
	}
	// Counted in InfluxDB independently of bench's own query.
	if n := db.Count(t, `SELECT count("LAeq") FROM "NoiseLevelObserved" WHERE "tenant" = '`+s.Tenant+`'`); n == 0 || n >= s.Stored {
		t.Errorf("noise points of the tenant: %d of %d", n, s.Stored)
	}
	if len(rep.Summary) != 1 || rep.Summary[0].MaxSustained != s.AchievedRate {
		t.Errorf("summary %+v", rep.Summary)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	if !strings.Contains(out.String(), "baseline") || !strings.Contains(out.String(), "max sustained") {
		t.Errorf("report:\n%s", out.String())
	}
	t.Logf("report:\n%s", out.String())
}

// TestCitytwinIoTAgentSteps runs one short step of citytwin on UltraLight
// and one on JSON measures through a real Mosquitto and InfluxDB 1.8.10:
// bench provisions the devices through citytwin's API, publishes with each
// group's credentials, and every message is counted.
func TestCitytwinIoTAgentSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t)

	citytwin := filepath.Join(t.TempDir(), "citytwin")
	build := exec.Command("go", "build", "-o", citytwin, "../cmd/citytwin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build citytwin: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := bench.Run(ctx, bench.Config{
		MQTTURL: broker.URL, InfluxURL: db.URL, InfluxToken: db.Token, InfluxOrg: db.Org, InfluxBucket: db.Bucket,
		Consumers: []string{bench.Citytwin}, Protocols: []string{bench.ProtocolUL, bench.ProtocolJSON}, CitytwinPath: citytwin,
		Rates: []float64{500}, Step: 3 * time.Second, Sensors: 99, Publishers: 2,
		Dir: t.TempDir(), Progress: &progress,
	})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(rep.Steps))
	}
	for i, proto := range []string{bench.ProtocolUL, bench.ProtocolJSON} {
		s := rep.Steps[i]
		if s.Consumer != bench.Citytwin || s.Protocol != proto {
			t.Errorf("step %d: %s %s, want citytwin %s", i, s.Consumer, s.Protocol, proto)
		}
		if s.Published != s.Stored || s.Lost != 0 || s.PublishFail != 0 {
			t.Errorf("%s: published %d, stored %d, lost %d, failed %d", proto, s.Published, s.Stored, s.Lost, s.PublishFail)
		}
		if s.Published < 750 || s.Published > 1600 || s.AchievedRate < 250 || s.AchievedRate > 550 {
			t.Errorf("%s: published %d at %.0f msg/s in 3 s at 500 msg/s", proto, s.Published, s.AchievedRate)
		}
		// Measures are far smaller than the NGSI entities (200-400 B).
		if s.PayloadBytes < 30 || s.PayloadBytes > 120 {
			t.Errorf("%s: mean payload %.0f B", proto, s.PayloadBytes)
		}
		if s.Latency.N != int(s.Stored) || s.Latency.P99 <= 0 || s.Latency.P99 > 10*time.Second ||
			s.CPUPerMsg.Unknown() || s.CPUPerMsg <= 0 {
			t.Errorf("%s: latency %+v, CPU %v µs/msg", proto, s.Latency, s.CPUPerMsg)
		}
		// Stored under the step's tenant (the devices' Fiware-Service) with
		// the attribute names the provisioning maps the object_ids to.
		if n := db.Count(t, `SELECT count("LAeq") FROM "NoiseLevelObserved" WHERE "tenant" = '`+s.Tenant+`'`); n == 0 || n >= s.Stored {
			t.Errorf("%s: noise points of the tenant: %d of %d", proto, n, s.Stored)
		}
		if n := db.Count(t, `SELECT count("averageVehicleSpeed") FROM "TrafficFlowObserved" WHERE "tenant" = '`+s.Tenant+`' AND "road" != ''`); n == 0 {
			t.Errorf("%s: no traffic point linked to a road", proto)
		}
	}
	if len(rep.Summary) != 2 || rep.Summary[0].Protocol != bench.ProtocolUL || rep.Summary[1].Protocol != bench.ProtocolJSON ||
		len(rep.Pairs) != 0 || !rep.MaxSustainedRatio.Unknown() {
		t.Errorf("summary %+v, pairs %+v", rep.Summary, rep.Pairs)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	for _, want := range []string{"UltraLight 2.0 (mean", "IoT Agent JSON (mean", "citytwin by payload protocol", "CPU µs/msg ul"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("report:\n%s", out.String())
}
