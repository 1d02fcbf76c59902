package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	var bytes, n float64
	for _, s := range r.Steps {
		bytes += s.PayloadBytes * float64(s.Published)
		n += float64(s.Published)
	}
	fmt.Fprintf(w, "citytwin bench %s: broker %s, InfluxDB %s bucket %s\n",
		r.Started.Format(time.RFC3339), c.MQTTURL, c.InfluxURL, c.InfluxBucket)
	fmt.Fprintf(w, "load: %d noise/air/traffic sensors, NGSI-v2 keyValues", c.Sensors)
	if n > 0 {
		fmt.Fprintf(w, " (mean %.0f B)", bytes/n)
	}
	fmt.Fprintf(w, ", QoS 1 over %d publisher connections, %v per step\n", c.Publishers, c.Step)
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
	fmt.Fprintln(tw, "consumer\ttarget/s\tachieved/s\tpublished\tstored\tlost\tp50\tp99\tmax\tCPU µs/msg\tCPU cores\tRSS MB\tpeak MB\t")
	for _, s := range r.Steps {
		if s.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\terror: %s\t\t\t\t\t\t\t\t\t\t\t\n", s.Consumer, rateLabel(s.TargetRate), firstLine(s.Err))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			s.Consumer, rateLabel(s.TargetRate), s.AchievedRate, s.Published, s.Stored, s.Lost,
			dur(s.Latency.P50), dur(s.Latency.P99), dur(s.Latency.Max),
			num(s.CPUPerMsg, "%.1f"), num(s.CPUCores, "%.2f"), num(s.RSSMB, "%.0f"), num(s.PeakMB, "%.0f"))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nmax sustained msg/s with zero loss (and p99 < %v):\n", SustainedP99)
	for _, s := range r.Summary {
		fmt.Fprintf(w, "  %-9s %s\n", s.Consumer, sustained(s.MaxSustained))
	}
	if !r.MaxSustainedRatio.Unknown() {
		fmt.Fprintf(w, "  citytwin / baseline: %.2f×\n", float64(r.MaxSustainedRatio))
	}

	if len(r.Pairs) > 0 {
		fmt.Fprintln(w, "\ncitytwin vs baseline at the same target rate (ratios citytwin / baseline):")
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

// writeTargets checks the targets for citytwin, where measured.
func (r *Report) writeTargets(w io.Writer) {
	var ct *ConsumerSummary
	for i := range r.Summary {
		if r.Summary[i].Consumer == Citytwin {
			ct = &r.Summary[i]
		}
	}
	if ct == nil {
		return
	}
	fmt.Fprintln(w, "\ntargets (citytwin; figures of one run on a shared machine):")
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	fmt.Fprintf(w, "  lossless QoS 1 at ≥ %d msg/s: %s (max sustained %s)\n", TargetSustained,
		verdict(ct.MaxSustained >= TargetSustained), sustained(ct.MaxSustained))
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
		if s.Consumer == Citytwin && s.TargetRate == TargetP99Rate && s.Err == "" {
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
