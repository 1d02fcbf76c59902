package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/citytwin/citytwin/sim"
)

// window bounds the unacknowledged QoS 1 messages per publisher connection.
const window = 1000

// load is the message stream of one step: NGSI-v2 keyValues readings of the
// noise, air and traffic sensors of a fleet of one tenant.
type load struct {
	fleet   *sim.Fleet
	sensors []int // fleet indices of the sensors used
}

// newLoad builds a fleet for tenant and keeps its first n noise, air and
// traffic sensors (they make up about 85 % of a fleet).
func newLoad(tenant string, n int) *load {
	f := sim.NewFleet(sim.FleetConfig{Count: n*100/85 + 20, Tenant: tenant, Seed: 1})
	for {
		l := &load{fleet: f}
		for i, s := range f.Sensors() {
			if len(l.sensors) == n {
				break
			}
			switch s.Type {
			case sim.TypeNoise, sim.TypeAir, sim.TypeTraffic:
				l.sensors = append(l.sensors, i)
			}
		}
		if len(l.sensors) == n {
			return l
		}
		f = sim.NewFleet(sim.FleetConfig{Count: 2 * f.Len(), Tenant: tenant, Seed: 1})
	}
}

// published is what a publishing run did.
type published struct {
	times   []int64 // publish times (Unix ns) of acknowledged messages, sorted
	failed  int64
	elapsed time.Duration // from the start until the publish loops ended
	bytes   int64         // payload bytes of acknowledged messages
}

// publish sends l's readings at rate msg/s in total (0: as fast as the broker
// acknowledges) over n connections at QoS 1 for d, then waits up to 10 s
// for outstanding acknowledgements. Sensor j is published only by
// connection j mod n, each reading timestamped (dateObserved) with its
// publish time, bumped by a millisecond if needed so that every (entity,
// dateObserved) is distinct. It returns early, without error, when ctx ends.
func publish(ctx context.Context, brokerURL, clientPrefix string, l *load, rate float64, n int, d time.Duration) (*published, error) {
	n = max(1, min(n, len(l.sensors)))
	clients := make([]paho.Client, 0, n)
	defer func() {
		for _, c := range clients {
			c.Disconnect(250)
		}
	}()
	for p := range n {
		c := paho.NewClient(paho.NewClientOptions().
			AddBroker(brokerURL).
			SetClientID(fmt.Sprintf("%s-pub%d-%06x", clientPrefix, p, rand.Uint32()>>8)).
			SetCleanSession(true).
			SetAutoReconnect(false).
			SetConnectTimeout(10 * time.Second).
			SetWriteTimeout(10 * time.Second).
			SetKeepAlive(30 * time.Second))
		if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
			return nil, fmt.Errorf("connect publisher %d to %s: %w", p, brokerURL, tok.Error())
		}
		clients = append(clients, c)
	}

	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	abort := make(chan struct{})
	var (
		pubs, ackers sync.WaitGroup
		failed       atomic.Int64
		results      = make([][]int64, n)
		sizes        = make([]int64, n)
	)
	start := time.Now()
	for p, c := range clients {
		var mine []int
		for j := p; j < len(l.sensors); j += n {
			mine = append(mine, l.sensors[j])
		}
		type pending struct {
			tok  paho.Token
			at   int64
			size int
		}
		queue := make(chan pending, window)
		ackers.Go(func() {
			for m := range queue {
				select {
				case <-m.tok.Done():
				case <-abort:
				}
				select {
				case <-m.tok.Done():
					if m.tok.Error() == nil {
						results[p] = append(results[p], m.at)
						sizes[p] += int64(m.size)
						continue
					}
				default:
				}
				failed.Add(1)
			}
		})
		pubs.Go(func() {
			defer close(queue)
			last := make([]int64, len(mine)) // Unix ms of each sensor's last reading
			next := 0
			one := func() {
				now := time.Now()
				ms := max(now.UnixMilli(), last[next]+1)
				last[next] = ms
				topic, payload := l.fleet.ReadingAs(mine[next], time.UnixMilli(ms), sim.ShapeV2KeyValues)
				next = (next + 1) % len(mine)
				tok := c.Publish(topic, 1, false, payload)
				select {
				case queue <- pending{tok, now.UnixNano(), len(payload)}:
				case <-ctx.Done(): // interrupted while the window is full
					failed.Add(1)
				}
			}
			pace(runCtx, rate/float64(n), one)
		})
	}
	pubs.Wait()
	elapsed := time.Since(start)
	stop := time.AfterFunc(10*time.Second, func() { close(abort) })
	ackers.Wait()
	stop.Stop()

	out := &published{failed: failed.Load(), elapsed: elapsed}
	for p := range results {
		out.times = append(out.times, results[p]...)
		out.bytes += sizes[p]
	}
	slices.Sort(out.times)
	if len(out.times) == 0 && ctx.Err() == nil {
		return out, errors.New("no message was acknowledged by the broker")
	}
	return out, nil
}

// pace calls one at rate per second until ctx ends; rate 0 calls it in a
// loop. Every tick (at least 2 ms) it catches up with rate × elapsed time,
// but by at most maxLag's worth: a stalled broker lowers the rate instead of
// causing a flood afterwards. one blocks while the connection's window is
// full.
func pace(ctx context.Context, rate float64, one func()) {
	if rate <= 0 {
		for ctx.Err() == nil {
			one()
		}
		return
	}
	const maxLag = 250 * time.Millisecond
	period := max(2*time.Millisecond, time.Duration(float64(time.Second)/rate))
	tick := time.NewTicker(period)
	defer tick.Stop()
	start, sent := time.Now(), 0.0
	for {
		due := rate * time.Since(start).Seconds()
		sent = max(sent, due-rate*maxLag.Seconds())
		for ; sent < due; sent++ {
			if ctx.Err() != nil {
				return
			}
			one()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
