package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sample is one poll of InfluxDB: how many of the step's points were stored
// when the answer arrived.
type Sample struct {
	At    time.Time `json:"at"`
	Count int64     `json:"count"`
}

// Latency summarises publish→stored latencies.
type Latency struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// EstimateLatency estimates each stored message's publish→stored latency from
// the sorted publish times (Unix ns) and the polled cumulative stored count:
// the k-th published message counts as stored at the first sample whose
// count is at least k. This assumes messages are stored in publish order
// (FIFO); its resolution is the poll interval, and since a sample's time is
// when InfluxDB's answer arrived, each latency is an upper bound within one
// poll interval plus the query time. Messages never counted are left out
// (they are the loss). Samples must be in time order; a count that goes
// down (a query error reported as 0, say) is ignored.
func EstimateLatency(pubTimes []int64, samples []Sample) Latency {
	lat := make([]time.Duration, 0, len(pubTimes))
	var seen int64 // highest count so far
	k := 0         // messages already assigned a stored time
	for _, s := range samples {
		if s.Count <= seen {
			continue
		}
		seen = s.Count
		at := s.At.UnixNano()
		for ; k < len(pubTimes) && int64(k) < seen; k++ {
			lat = append(lat, time.Duration(max(0, at-pubTimes[k])))
		}
	}
	return summarise(lat)
}

func summarise(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	return Latency{N: len(lat), P50: percentile(lat, 50), P99: percentile(lat, 99), Max: lat[len(lat)-1]}
}

// percentile returns the nearest-rank percentile p (0–100] of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ProcStat is what bench reads about a consumer process from /proc.
type ProcStat struct {
	CPUTicks int64 // utime + stime, in clock ticks
	RSSKB    int64 // VmRSS
	HWMKB    int64 // VmHWM: peak RSS since start or the last clear_refs 5
}

// ClockTicks is the USER_HZ of /proc/PID/stat times (`getconf CLK_TCK`),
// 100 on every Linux architecture Go supports.
const ClockTicks = 100

// ParseStatCPU returns utime + stime (fields 14 and 15) of a /proc/PID/stat
// line. The command name (field 2) is in parentheses and may hold spaces or
// parentheses, so fields are counted after its last ')'.
func ParseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no ')' in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want ≥ 13", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: utime %q, stime %q", f[11], f[12])
	}
	return u + s, nil
}

// ParseStatusMem returns VmRSS and VmHWM in kB from /proc/PID/status.
func ParseStatusMem(status string) (rssKB, hwmKB int64, err error) {
	found := 0
	for line := range strings.SplitSeq(status, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, 0, fmt.Errorf("/proc status: empty %s", name)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status: %s %q", name, f[0])
		}
		if name == "VmRSS" {
			rssKB = n
		} else {
			hwmKB = n
		}
		found++
	}
	if found < 2 {
		return rssKB, hwmKB, fmt.Errorf("/proc status: VmRSS or VmHWM missing")
	}
	return rssKB, hwmKB, nil
}

// Step is the result of one consumer with one payload protocol at one
// target rate.
type Step struct {
	Consumer string `json:"consumer"`
	// Protocol is the payload protocol (ProtocolNGSI, ProtocolUL,
	// ProtocolJSON); "" (reports of earlier versions) means NGSI.
	Protocol   string  `json:"protocol"`
	TargetRate float64 `json:"target_rate"` // msg/s; 0 = flat out
	Tenant     string  `json:"tenant"`

	Published    int64         `json:"published"`      // acknowledged by the broker
	PublishFail  int64         `json:"publish_failed"` // not acknowledged
	PublishTime  time.Duration `json:"publish_ns"`     // from the first publish to the end of publishing
	AchievedRate float64       `json:"achieved_rate"`  // Published / PublishTime
	PayloadBytes float64       `json:"payload_bytes"`  // mean payload size

	Stored  int64         `json:"stored"`
	Lost    int64         `json:"lost"`     // Published − Stored
	Drain   time.Duration `json:"drain_ns"` // from the end of publishing to the last count
	Latency Latency       `json:"latency"`

	// Consumer resources; NaN (JSON null) when /proc could not be read.
	CPU       time.Duration `json:"cpu_ns"`         // consumer CPU over the step (publish + drain)
	CPUPerMsg Num           `json:"cpu_us_per_msg"` // CPU / Stored
	CPUCores  Num           `json:"cpu_cores"`      // CPU / wall time of the step
	RSSMB     Num           `json:"rss_mb"`         // VmRSS at the end
	PeakMB    Num           `json:"peak_rss_mb"`    // VmHWM over the step

	Samples []Sample `json:"samples,omitempty"`
	Err     string   `json:"error,omitempty"`
}

// Proto returns the step's payload protocol, ProtocolNGSI when unset.
func (s *Step) Proto() string {
	if s.Protocol == "" {
		return ProtocolNGSI
	}
	return s.Protocol
}

// Sustained reports whether the step counts towards the consumer's highest
// sustained rate: something published, nothing lost, p99 under 5 s.
func (s *Step) Sustained() bool {
	return s.Err == "" && s.Published > 0 && s.Lost == 0 && s.Latency.P99 < SustainedP99
}

// SustainedP99 is the highest p99 latency of a sustained step.
const SustainedP99 = 5 * time.Second

// ConsumerSummary is a consumer's result over all its steps with one
// payload protocol.
type ConsumerSummary struct {
	Consumer     string  `json:"consumer"`
	Protocol     string  `json:"protocol"`
	MaxSustained float64 `json:"max_sustained_rate"` // highest achieved rate of a sustained step; 0 if none
}

// Pair compares citytwin with the baseline at one target rate, both on
// NGSI.
type Pair struct {
	TargetRate float64          `json:"target_rate"`
	CPURatio   Num              `json:"cpu_per_msg_ratio"` // citytwin / baseline; NaN when unknown
	RSSRatio   Num              `json:"peak_rss_ratio"`
	P99        [2]time.Duration `json:"p99_ns"` // citytwin, baseline
	Lost       [2]int64         `json:"lost"`
}

// Names of the two consumers bench knows.
const (
	Citytwin = "citytwin"
	Baseline = "baseline"
)

// Payload protocols: NGSI-v2 keyValues entities on ngsi/{tenant}/…, IoT
// Agent UltraLight 2.0 and JSON measures on /{ul|json}/{apikey}/{device}/attrs.
const (
	ProtocolNGSI = "ngsi"
	ProtocolUL   = "ul"
	ProtocolJSON = "json"
)

// Summarize returns per-consumer and protocol summaries (in order of first
// appearance), the citytwin/baseline pairs (NGSI) at each common target
// rate (in step order) and the ratio of their highest sustained rates (NaN
// when either is unknown or the baseline's is 0).
func Summarize(steps []Step) (sums []ConsumerSummary, pairs []Pair, maxRatio Num) {
	idx := map[[2]string]int{}
	for i := range steps {
		s := &steps[i]
		key := [2]string{s.Consumer, s.Proto()}
		j, ok := idx[key]
		if !ok {
			j = len(sums)
			idx[key] = j
			sums = append(sums, ConsumerSummary{Consumer: s.Consumer, Protocol: s.Proto()})
		}
		if s.Sustained() && s.AchievedRate > sums[j].MaxSustained {
			sums[j].MaxSustained = s.AchievedRate
		}
	}
	find := func(consumer string, rate float64) *Step {
		for i := range steps {
			if steps[i].Consumer == consumer && steps[i].Proto() == ProtocolNGSI && steps[i].TargetRate == rate && steps[i].Err == "" {
				return &steps[i]
			}
		}
		return nil
	}
	done := map[float64]bool{}
	for _, s := range steps {
		if done[s.TargetRate] {
			continue
		}
		c, b := find(Citytwin, s.TargetRate), find(Baseline, s.TargetRate)
		if c == nil || b == nil {
			continue
		}
		done[s.TargetRate] = true
		pairs = append(pairs, Pair{
			TargetRate: s.TargetRate,
			CPURatio:   ratio(c.CPUPerMsg, b.CPUPerMsg),
			RSSRatio:   ratio(c.PeakMB, b.PeakMB),
			P99:        [2]time.Duration{c.Latency.P99, b.Latency.P99},
			Lost:       [2]int64{c.Lost, b.Lost},
		})
	}
	maxRatio = Num(math.NaN())
	c, okC := idx[[2]string{Citytwin, ProtocolNGSI}]
	b, okB := idx[[2]string{Baseline, ProtocolNGSI}]
	if okC && okB {
		maxRatio = ratio(Num(sums[c].MaxSustained), Num(sums[b].MaxSustained))
	}
	return sums, pairs, maxRatio
}

func ratio(a, b Num) Num {
	if !(b > 0) || a.Unknown() {
		return Num(math.NaN())
	}
	return a / b
}

// Num is a measured number that may be unknown (NaN), written to JSON as
// null then.
type Num float64

// Unknown reports whether n is NaN or infinite.
func (n Num) Unknown() bool { return math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) }

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	if n.Unknown() {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(n), 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}
