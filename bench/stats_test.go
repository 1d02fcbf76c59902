package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEstimateLatency(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) int64 { return t0.Add(time.Duration(n) * time.Millisecond).UnixNano() }
	// 10 messages published 100 ms apart, from t0.
	pub := make([]int64, 10)
	for i := range pub {
		pub[i] = ms(100 * i)
	}
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	samples := []Sample{
		{at(250), 0},
		{at(500), 3},  // messages 1–3 (published at 0, 100, 200): 500, 400, 300 ms
		{at(750), 2},  // a lower count is ignored
		{at(1000), 7}, // messages 4–7 (300…600): 700, 600, 500, 400 ms
		{at(1250), 7},
		{at(2000), 9}, // messages 8–9 (700, 800): 1300, 1200 ms; message 10 lost
	}
	got := EstimateLatency(pub, samples)
	// Sorted: 300 400 400 500 500 600 700 1200 1300.
	want := Latency{N: 9, P50: 500 * time.Millisecond, P99: 1300 * time.Millisecond, Max: 1300 * time.Millisecond}
	if got != want {
		t.Errorf("EstimateLatency = %+v, want %+v", got, want)
	}

	if got := EstimateLatency(pub, nil); got != (Latency{}) {
		t.Errorf("no samples: %+v, want zero", got)
	}
	// A count above the number published (should not happen) assigns every message once.
	if got := EstimateLatency(pub[:2], []Sample{{at(1000), 5}}); got.N != 2 || got.Max != time.Second {
		t.Errorf("count above published: %+v", got)
	}
	// A sample before the publish time gives 0, not a negative latency.
	if got := EstimateLatency([]int64{ms(500)}, []Sample{{at(400), 1}}); got.Max != 0 || got.N != 1 {
		t.Errorf("early sample: %+v", got)
	}
}

func TestPercentile(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {0.1, 1}} {
		if got := percentile(v, c.p); got != c.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(v[:1], 99); got != 1 {
		t.Errorf("percentile of one = %v", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	// Field 2 holds spaces and a ')' — fields must be counted after the last ')'.
	stat := "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 731 269 0 0 20 0 12 0 98765 1234567 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := ParseStatCPU(stat)
	if err != nil || got != 1000 {
		t.Errorf("ParseStatCPU = %d, %v; want 1000 (731+269)", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 u s"} {
		if _, err := ParseStatCPU(bad); err == nil {
			t.Errorf("ParseStatCPU(%q): no error", bad)
		}
	}
}

func TestParseStatusMem(t *testing.T) {
	status := "Name:\tcitytwin\nVmPeak:\t 1300000 kB\nVmHWM:\t   61440 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"
	rss, hwm, err := ParseStatusMem(status)
	if err != nil || rss != 40960 || hwm != 61440 {
		t.Errorf("ParseStatusMem = %d, %d, %v; want 40960, 61440", rss, hwm, err)
	}
	if _, _, err := ParseStatusMem("Name:\tx\nVmRSS:\t1 kB\n"); err == nil {
		t.Error("missing VmHWM: no error")
	}
}

func step(consumer string, target, achieved float64, lost int64, p99 time.Duration, cpu float64) Step {
	return Step{Consumer: consumer, TargetRate: target, AchievedRate: achieved, Published: 1000, Stored: 1000 - lost,
		Lost: lost, Latency: Latency{N: 1, P50: p99 / 2, P99: p99, Max: p99}, CPUPerMsg: Num(cpu), PeakMB: 10,
		CPUCores: 0.5, RSSMB: 9}
}

func TestSummarize(t *testing.T) {
	steps := []Step{
		step(Citytwin, 2000, 1998, 0, time.Second, 20),
		step(Baseline, 2000, 1999, 0, 1500*time.Millisecond, 40),
		step(Citytwin, 5000, 4990, 0, 6*time.Second, 18), // p99 ≥ 5 s: not sustained
		step(Baseline, 5000, 4995, 0, time.Second, 36),
		step(Citytwin, 10000, 9000, 0, 2*time.Second, 15),
		step(Baseline, 10000, 9900, 12, time.Second, 30), // lost: not sustained
		step(Citytwin, 0, 17000, 3, time.Second, 14),     // flat out, lost
	}
	steps = append(steps, Step{Consumer: Baseline, TargetRate: 0, Err: "baseline exited"})
	sums, pairs, ratio := Summarize(steps)
	if len(sums) != 2 || sums[0].Consumer != Citytwin || sums[0].MaxSustained != 9000 ||
		sums[1].Consumer != Baseline || sums[1].MaxSustained != 4995 {
		t.Errorf("summaries = %+v", sums)
	}
	if math.Abs(float64(ratio)-9000.0/4995) > 1e-9 {
		t.Errorf("max sustained ratio = %v", ratio)
	}
	if len(pairs) != 3 {
		t.Fatalf("pairs = %+v, want 3 (the flat-out baseline step failed)", pairs)
	}
	if p := pairs[0]; p.TargetRate != 2000 || p.CPURatio != 0.5 || p.RSSRatio != 1 || p.P99 != [2]time.Duration{time.Second, 1500 * time.Millisecond} {
		t.Errorf("pair at 2000 = %+v", p)
	}
	if p := pairs[2]; p.TargetRate != 10000 || p.CPURatio != 0.5 || p.Lost != [2]int64{0, 12} {
		t.Errorf("pair at 10000 = %+v", p)
	}

	// One consumer only: no pairs, unknown ratio; unknown CPU gives an unknown ratio.
	sums, pairs, ratio = Summarize(steps[:1])
	if len(sums) != 1 || len(pairs) != 0 || !ratio.Unknown() {
		t.Errorf("citytwin only: %+v %+v %v", sums, pairs, ratio)
	}
	a, b := step(Citytwin, 1, 1, 0, 0, math.NaN()), step(Baseline, 1, 1, 0, 0, 10)
	if _, pairs, _ := Summarize([]Step{a, b}); len(pairs) != 1 || !pairs[0].CPURatio.Unknown() {
		t.Errorf("unknown CPU: %+v", pairs)
	}
	// Nothing sustained on the baseline side: ratio unknown, not +Inf.
	if _, _, r := Summarize([]Step{a, step(Baseline, 1, 1, 5, 0, 10)}); !r.Unknown() {
		t.Errorf("baseline sustained nothing: ratio %v", r)
	}
}

func TestReportTextAndJSON(t *testing.T) {
	steps := []Step{
		step(Citytwin, 10000, 9990, 0, 1200*time.Millisecond, 10),
		step(Baseline, 10000, 9995, 0, 1500*time.Millisecond, 40),
	}
	steps[0].CPUCores = Num(math.NaN())
	steps = append(steps, step(Baseline, 20000, 15000, 0, time.Second, 30),
		Step{Consumer: Citytwin, TargetRate: 20000, Err: "citytwin exited during the step\nlog tail"})
	r := &Report{Config: Config{Consumers: []string{Citytwin, Baseline}, Sensors: 999, Publishers: 4,
		Step: 20 * time.Second, PollInterval: 250 * time.Millisecond, BaselineClean: true}, Steps: steps}
	r.Summary, r.Pairs, r.MaxSustainedRatio = Summarize(steps)
	var buf bytes.Buffer
	r.WriteText(&buf)
	out := buf.String()
	for _, want := range []string{"9990", "1.20s", "n/a", "0.25", "lossless QoS 1 at ≥ 15000 msg/s: not measured",
		"≤ 0.5× the baseline's at the same rate: PASS", "p99 publish→stored < 2s at 10000 msg/s: PASS", "resolution 250ms",
		"15000*", "* publishing fell more than 5 % behind", "citytwin ngsi @ 20000 msg/s: citytwin exited during the step\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// A lossy citytwin step at the target rate makes the target a FAIL.
	r2 := &Report{Config: r.Config, Steps: []Step{step(Citytwin, 15000, 14900, 7, time.Second, 10)}}
	r2.Summary, r2.Pairs, r2.MaxSustainedRatio = Summarize(r2.Steps)
	buf.Reset()
	r2.WriteText(&buf)
	if out := buf.String(); !strings.Contains(out, "lossless QoS 1 at ≥ 15000 msg/s: FAIL (max sustained none") {
		t.Errorf("lossy step at the target:\n%s", out)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || !back.Steps[0].CPUCores.Unknown() || back.Steps[1].CPUPerMsg != 40 {
		t.Errorf("JSON round trip: %v, %+v", err, back.Steps)
	}
}

func TestCountQuery(t *testing.T) {
	q := countQuery("b1-ct-0", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	want := `SELECT count("LAeq") FROM "NoiseLevelObserved" WHERE "tenant" = 'b1-ct-0' AND time >= '2026-01-02T03:04:05Z'; ` +
		`SELECT count("no2") FROM "AirQualityObserved" WHERE "tenant" = 'b1-ct-0' AND time >= '2026-01-02T03:04:05Z'; ` +
		`SELECT count("intensity") FROM "TrafficFlowObserved" WHERE "tenant" = 'b1-ct-0' AND time >= '2026-01-02T03:04:05Z'`
	if q != want {
		t.Errorf("countQuery =\n%s\nwant\n%s", q, want)
	}
}

func TestNewLoad(t *testing.T) {
	for _, proto := range []string{ProtocolNGSI, ProtocolUL, ProtocolJSON} {
		for _, n := range []int{1, 10, 999} {
			l := newLoad("t", n, proto)
			if len(l.sensors) != n || len(l.lanes) != 1 || len(l.lanes[0].sensors) != n {
				t.Fatalf("newLoad(%d, %s): %d sensors, lanes %v", n, proto, len(l.sensors), l.lanes)
			}
			s := l.fleet.Sensors()
			for _, i := range l.sensors {
				switch s[i].Type {
				case "NoiseLevelObserved", "AirQualityObserved", "TrafficFlowObserved":
				default:
					t.Fatalf("newLoad(%d) kept a %s", n, s[i].Type)
				}
				topic, payload := l.reading(i, time.Unix(1e9, 0))
				if string(s[i].Protocol) != proto || (proto == ProtocolNGSI) != strings.HasPrefix(topic, "ngsi/t/") ||
					(proto == ProtocolNGSI) != strings.Contains(string(payload), `"dateObserved":"2001-09-09T01:46:40.000Z"`) {
					t.Fatalf("%s reading of %s: %s %s", proto, s[i].ID, topic, payload)
				}
			}
		}
	}
	// The NGSI load is the one of earlier versions: same fleet, same sensors.
	if l := newLoad("t", 999, ProtocolNGSI); l.fleet.Len() != 999*100/85+20 || l.sensors[0] != 0 {
		t.Errorf("NGSI load: fleet of %d, first sensor %d", l.fleet.Len(), l.sensors[0])
	}
}

func TestConnections(t *testing.T) {
	l := &load{sensors: make([]int, 10), lanes: []lane{
		{user: "a", sensors: []int{0, 1, 2, 3, 4}},
		{user: "b", sensors: []int{5, 6, 7}},
		{user: "c", sensors: []int{8, 9}},
	}}
	check := func(n int, want ...lane) {
		t.Helper()
		got := l.connections(n)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("connections(%d) = %v, want %v", n, got, want)
		}
	}
	// At least one connection per lane; extra ones go to the first (largest).
	check(1, lane{"a", "", []int{0, 1, 2, 3, 4}}, lane{"b", "", []int{5, 6, 7}}, lane{"c", "", []int{8, 9}})
	check(4, lane{"a", "", []int{0, 2, 4}}, lane{"b", "", []int{5, 6, 7}}, lane{"c", "", []int{8, 9}}, lane{"a", "", []int{1, 3}})
	// More connections than a lane's sensors leave none empty.
	check(9, lane{"a", "", []int{0, 3}}, lane{"b", "", []int{5}}, lane{"c", "", []int{8}},
		lane{"a", "", []int{1, 4}}, lane{"b", "", []int{6}}, lane{"c", "", []int{9}}, lane{"a", "", []int{2}}, lane{"b", "", []int{7}})
	// One lane: sensor j on connection j mod n, as NGSI always was.
	one := &load{sensors: []int{0, 1, 2, 3, 4}, lanes: []lane{{sensors: []int{0, 1, 2, 3, 4}}}}
	if got := one.connections(2); fmt.Sprint(got) != fmt.Sprint([]lane{{sensors: []int{0, 2, 4}}, {sensors: []int{1, 3}}}) {
		t.Errorf("one lane: %v", got)
	}
}

func TestSummarizeProtocols(t *testing.T) {
	ul := step(Citytwin, 5000, 4990, 0, time.Second, 12)
	ul.Protocol = ProtocolUL
	js := step(Citytwin, 5000, 4980, 4, time.Second, 13) // lost: not sustained
	js.Protocol = ProtocolJSON
	steps := []Step{step(Citytwin, 5000, 4995, 0, time.Second, 20), ul, js, step(Baseline, 5000, 4999, 0, time.Second, 40)}
	sums, pairs, ratio := Summarize(steps)
	want := []ConsumerSummary{{Citytwin, ProtocolNGSI, 4995}, {Citytwin, ProtocolUL, 4990}, {Citytwin, ProtocolJSON, 0}, {Baseline, ProtocolNGSI, 4999}}
	if !slices.Equal(sums, want) {
		t.Errorf("summaries %+v, want %+v", sums, want)
	}
	// The baseline is compared with citytwin on NGSI only.
	if len(pairs) != 1 || pairs[0].CPURatio != 0.5 || math.Abs(float64(ratio)-4995.0/4999) > 1e-9 {
		t.Errorf("pairs %+v, ratio %v", pairs, ratio)
	}
	r := &Report{Config: Config{Consumers: []string{Citytwin, Baseline}, Sensors: 999, Publishers: 4, Step: time.Second, PollInterval: time.Second}, Steps: steps}
	r.Summary, r.Pairs, r.MaxSustainedRatio = Summarize(steps)
	var buf bytes.Buffer
	r.WriteText(&buf)
	out := buf.String()
	for _, want := range []string{"citytwin by payload protocol", "CPU µs/msg ul", "citytwin  ul    4990", "citytwin  json  none",
		"NGSI-v2 keyValues", "UltraLight 2.0", "citytwin / baseline (NGSI): 1.00×", "targets (citytwin, NGSI"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
