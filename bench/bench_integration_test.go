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
