package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the issue, checked in the text report.
const (
	TargetSustained = 15000           // msg/s lossless at QoS 1
	TargetCPURatio  = 0.5             // citytwin CPU per message / baseline's
	TargetP99Rate   = 10000           // msg/s at which …
	TargetP99       = 2 * time.Second // … p99 publish→stored must stay under this
)

// WriteText writes the report as tables.
func (r *Report) WriteText(w io.Writer) {
	c := r.Config
	bytes, n := map[string]float64{}, map[string]float64{}
	var protos []string
	for _, s := range r.Steps {
		if _, ok := n[s.Proto()]; !ok {
			protos = append(protos, s.Proto())
		}
		bytes[s.Proto()] += s.PayloadBytes * float64(s.Published)
		n[s.Proto()] += float64(s.Published)
	}
	fmt.Fprintf(w, "citytwin bench %s: broker %s, InfluxDB %s bucket %s\n",
		r.Started.Format(time.RFC3339), c.MQTTURL, c.InfluxURL, c.InfluxBucket)
	fmt.Fprintf(w, "load: %d noise/air/traffic sensors as", c.Sensors)
	for i, p := range protos {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %s", sep, protocolTitle[p])
		if n[p] > 0 {
			fmt.Fprintf(w, " (mean %.0f B)", bytes[p]/n[p])
		}
	}
	fmt.Fprintf(w, "; QoS 1 over %d publisher connections (IoT Agent devices: at least one per vendor group, with its credentials), %v per step\n", c.Publishers, c.Step)
	fmt.Fprintf(w, "latency: publish→stored estimated from InfluxDB counts polled every %v (FIFO assumed; resolution %v, upper bound)\n",
		c.PollInterval, c.PollInterval)
	for _, name := range c.Consumers {
		if name == Baseline {
			if c.BaselineClean {
				fmt.Fprintln(w, "baseline: paho clean session, acknowledges before the write (not at-least-once)")
			} else {
				fmt.Fprintln(w, "baseline: paho persistent session")
			}
		}
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "consumer\tprotocol\ttarget/s\tachieved/s\tpublished\tstored\tlost\tp50\tp99\tmax\tCPU µs/msg\tCPU cores\tRSS MB\tpeak MB\t")
	var failed []string
	behind := false
	for _, s := range r.Steps {
		if s.Err != "" {
			failed = append(failed, fmt.Sprintf("  %s %s @ %s msg/s: %s\n", s.Consumer, s.Proto(), rateLabel(s.TargetRate), firstLine(s.Err)))
			continue
		}
		mark := ""
		if s.TargetRate > 0 && s.AchievedRate < 0.95*s.TargetRate {
			mark, behind = "*", true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			s.Consumer, s.Proto(), rateLabel(s.TargetRate), s.AchievedRate, mark, s.Published, s.Stored, s.Lost,
			dur(s.Latency.P50), dur(s.Latency.P99), dur(s.Latency.Max),
			num(s.CPUPerMsg, "%.1f"), num(s.CPUCores, "%.2f"), num(s.RSSMB, "%.0f"), num(s.PeakMB, "%.0f"))
	}
	tw.Flush()
	if behind {
		fmt.Fprintln(w, "  * publishing fell more than 5 % behind the target: the broker or consumer pushed back, or the shared CPU stalled the load generator")
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "steps that failed:")
		for _, f := range failed {
			fmt.Fprint(w, f)
		}
	}

	fmt.Fprintf(w, "\nmax sustained msg/s with zero loss (and p99 < %v):\n", SustainedP99)
	capped := false
	for _, s := range r.Summary {
		note := ""
		if r.allSustained(s.Consumer, s.Protocol) {
			note = " (every step sustained: a lower bound; add higher -rates or 0 for flat out)"
			capped = capped || s.Protocol == ProtocolNGSI
		}
		fmt.Fprintf(w, "  %-9s %-5s %s%s\n", s.Consumer, s.Protocol, sustained(s.MaxSustained), note)
	}
	if !r.MaxSustainedRatio.Unknown() {
		note := ""
		if capped {
			note = " (bounded by the rates tried)"
		}
		fmt.Fprintf(w, "  citytwin / baseline (NGSI): %.2f×%s\n", float64(r.MaxSustainedRatio), note)
	}
	r.writeProtocols(w)

	if len(r.Pairs) > 0 {
		fmt.Fprintln(w, "\ncitytwin vs baseline at the same target rate, NGSI (ratios citytwin / baseline):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target/s\tCPU µs/msg ratio\tpeak RSS ratio\tp99 citytwin\tp99 baseline\tlost citytwin\tlost baseline\t")
		for _, p := range r.Pairs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", rateLabel(p.TargetRate),
				num(p.CPURatio, "%.2f"), num(p.RSSRatio, "%.2f"), dur(p.P99[0]), dur(p.P99[1]), p.Lost[0], p.Lost[1])
		}
		tw.Flush()
	}
	r.writeTargets(w)
}

// protocolTitle names the payloads of each protocol.
var protocolTitle = map[string]string{
	ProtocolNGSI: "NGSI-v2 keyValues",
	ProtocolUL:   "UltraLight 2.0",
	ProtocolJSON: "IoT Agent JSON",
}

// writeProtocols compares citytwin's steps across payload protocols at each
// target rate, when more than one was measured.
func (r *Report) writeProtocols(w io.Writer) {
	var protos []string
	var rates []float64
	step := map[string]*Step{}
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Consumer != Citytwin || s.Err != "" {
			continue
		}
		if !slices.Contains(protos, s.Proto()) {
			protos = append(protos, s.Proto())
		}
		if !slices.Contains(rates, s.TargetRate) {
			rates = append(rates, s.TargetRate)
		}
		step[s.Proto()+" "+rateLabel(s.TargetRate)] = s
	}
	if len(protos) < 2 {
		return
	}
	fmt.Fprintln(w, "\ncitytwin by payload protocol at the same target rate:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "target/s\t")
	for _, col := range []string{"CPU µs/msg", "p99", "lost"} {
		for _, p := range protos {
			fmt.Fprintf(tw, "%s %s\t", col, p)
		}
	}
	fmt.Fprintln(tw)
	for _, rate := range rates {
		fmt.Fprintf(tw, "%s\t", rateLabel(rate))
		for col := range 3 {
			for _, p := range protos {
				s := step[p+" "+rateLabel(rate)]
				switch {
				case s == nil:
					fmt.Fprint(tw, "-\t")
				case col == 0:
					fmt.Fprintf(tw, "%s\t", num(s.CPUPerMsg, "%.1f"))
				case col == 1:
					fmt.Fprintf(tw, "%s\t", dur(s.Latency.P99))
				default:
					fmt.Fprintf(tw, "%d\t", s.Lost)
				}
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// allSustained reports whether every step of a consumer with a protocol was
// sustained.
func (r *Report) allSustained(consumer, protocol string) bool {
	n := 0
	for i := range r.Steps {
		if r.Steps[i].Consumer != consumer || r.Steps[i].Proto() != protocol {
			continue
		}
		if !r.Steps[i].Sustained() {
			return false
		}
		n++
	}
	return n > 0
}

// writeTargets checks the targets for citytwin, where measured.
func (r *Report) writeTargets(w io.Writer) {
	var ct *ConsumerSummary
	for i := range r.Summary {
		if r.Summary[i].Consumer == Citytwin && r.Summary[i].Protocol == ProtocolNGSI {
			ct = &r.Summary[i]
		}
	}
	if ct == nil {
		return
	}
	fmt.Fprintln(w, "\ntargets (citytwin, NGSI; figures of one run on a shared machine):")
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	tried := false // a step that could show the target: at its rate or above, or flat out
	for _, s := range r.Steps {
		tried = tried || s.Consumer == Citytwin && s.Proto() == ProtocolNGSI && s.Err == "" && (s.TargetRate == 0 || s.TargetRate >= TargetSustained)
	}
	switch {
	case ct.MaxSustained >= TargetSustained:
		fmt.Fprintf(w, "  lossless QoS 1 at ≥ %d msg/s: PASS (max sustained %s)\n", TargetSustained, sustained(ct.MaxSustained))
	case tried:
		fmt.Fprintf(w, "  lossless QoS 1 at ≥ %d msg/s: FAIL (max sustained %s)\n", TargetSustained, sustained(ct.MaxSustained))
	default:
		fmt.Fprintf(w, "  lossless QoS 1 at ≥ %d msg/s: not measured (no step at that rate or flat out)\n", TargetSustained)
	}
	if len(r.Pairs) > 0 {
		var parts []string
		ok := true
		for _, p := range r.Pairs {
			parts = append(parts, fmt.Sprintf("%s: %s", rateLabel(p.TargetRate), num(p.CPURatio, "%.2f")))
			ok = ok && !p.CPURatio.Unknown() && p.CPURatio <= TargetCPURatio
		}
		fmt.Fprintf(w, "  CPU per message ≤ %.1f× the baseline's at the same rate: %s (%s)\n",
			TargetCPURatio, verdict(ok), strings.Join(parts, ", "))
	}
	for _, s := range r.Steps {
		if s.Consumer == Citytwin && s.Proto() == ProtocolNGSI && s.TargetRate == TargetP99Rate && s.Err == "" {
			fmt.Fprintf(w, "  p99 publish→stored < %v at %d msg/s: %s (%s)\n", TargetP99, TargetP99Rate,
				verdict(s.Latency.N > 0 && s.Latency.P99 < TargetP99), dur(s.Latency.P99))
		}
	}
}

// WriteJSON writes the report, with every poll sample, to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func sustained(rate float64) string {
	if rate == 0 {
		return "none (every step lost messages or had p99 ≥ 5 s)"
	}
	return fmt.Sprintf("%.0f", rate)
}

func num(n Num, format string) string {
	if n.Unknown() {
		return "n/a"
	}
	return fmt.Sprintf(format, float64(n))
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
