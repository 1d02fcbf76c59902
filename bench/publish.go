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

// load is the message stream of one step: readings of the noise, air and
// traffic sensors of a fleet of one tenant, as NGSI-v2 keyValues entities
// or as IoT Agent UltraLight or JSON measures.
type load struct {
	fleet    *sim.Fleet
	protocol string
	sensors  []int // fleet indices of the sensors used
	// lanes split the sensors by MQTT credentials: one anonymous lane for
	// NGSI, one per vendor group once provisioned.
	lanes []lane
}

// lane is a set of sensors published with one set of credentials.
type lane struct {
	user, pass string
	sensors    []int
}

// newLoad builds a fleet for tenant speaking protocol and keeps its first n
// noise, air and traffic sensors (they make up about 85 % of a fleet).
func newLoad(tenant string, n int, protocol string) *load {
	fc := sim.FleetConfig{Count: n*100/85 + 20, Tenant: tenant, Seed: 1}
	if protocol != ProtocolNGSI {
		fc.Protocols = []sim.Protocol{sim.Protocol(protocol)}
	}
	f := sim.NewFleet(fc)
	for {
		l := &load{fleet: f, protocol: protocol}
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
			l.lanes = []lane{{sensors: l.sensors}}
			return l
		}
		fc.Count = 2 * f.Len()
		f = sim.NewFleet(fc)
	}
}

// reading returns sensor i's reading at t in the load's protocol.
func (l *load) reading(i int, t time.Time) (topic string, payload []byte) {
	if l.protocol == ProtocolNGSI {
		return l.fleet.ReadingAs(i, t, sim.ShapeV2KeyValues)
	}
	return l.fleet.Reading(i, t)
}

// provision creates the load's vendor groups and devices through
// citytwin's provisioning API at baseURL and splits the load into one lane
// per group, with the group's MQTT credentials.
func (l *load) provision(ctx context.Context, baseURL, adminToken string) error {
	creds, err := sim.Provision(ctx, l.fleet, sim.ProvisionConfig{URL: baseURL, AdminToken: adminToken, Sensors: l.sensors}, nil)
	if err != nil {
		return fmt.Errorf("provision the devices of %s: %w", l.fleet.Tenant(), err)
	}
	l.lanes = l.lanes[:0]
	for _, v := range l.fleet.Vendors(l.sensors) {
		cr := creds[v.Group.APIKey]
		l.lanes = append(l.lanes, lane{user: cr.Username, pass: cr.Password, sensors: v.Sensors})
	}
	// The largest groups first: they get the extra connections.
	slices.SortStableFunc(l.lanes, func(a, b lane) int { return len(b.sensors) - len(a.sensors) })
	return nil
}

// connections splits the load over n connections, at least one per lane:
// connection p publishes with the credentials of lane p mod len(lanes) and
// its share of that lane's sensors.
func (l *load) connections(n int) []lane {
	n = max(n, len(l.lanes))
	out := make([]lane, n)
	for p := range out {
		ln := l.lanes[p%len(l.lanes)]
		k := p / len(l.lanes) // the connection's index within its lane
		c := n / len(l.lanes) // connections of the lane
		if p%len(l.lanes) < n%len(l.lanes) {
			c++
		}
		out[p] = lane{user: ln.user, pass: ln.pass}
		for j := k; j < len(ln.sensors); j += c {
			out[p].sensors = append(out[p].sensors, ln.sensors[j])
		}
	}
	// More connections than sensors in a lane leave some without any.
	return slices.DeleteFunc(out, func(c lane) bool { return len(c.sensors) == 0 })
}

// published is what a publishing run did.
type published struct {
	times   []int64 // publish times (Unix ns) of acknowledged messages, sorted
	failed  int64
	elapsed time.Duration // from the start until the publish loops ended
	bytes   int64         // payload bytes of acknowledged messages
}

// publish sends l's readings at rate msg/s in total (0: as fast as the broker
// acknowledges) over n connections (at least one per lane, see
// load.connections) at QoS 1 for d, then waits up to 10 s for outstanding
// acknowledgements. Each sensor is published by one connection only, each
// reading timestamped (dateObserved, TimeInstant) with its publish time,
// bumped by a millisecond if needed so that every (entity, time) is
// distinct; each connection's rate is its share of the sensors. It returns
// early, without error, when ctx ends.
func publish(ctx context.Context, brokerURL, clientPrefix string, l *load, rate float64, n int, d time.Duration) (*published, error) {
	conns := l.connections(max(1, min(n, len(l.sensors))))
	n = len(conns)
	clients := make([]paho.Client, 0, n)
	defer func() {
		for _, c := range clients {
			c.Disconnect(250)
		}
	}()
	for p, conn := range conns {
		opts := paho.NewClientOptions().
			AddBroker(brokerURL).
			SetClientID(fmt.Sprintf("%s-pub%d-%06x", clientPrefix, p, rand.Uint32()>>8)).
			SetCleanSession(true).
			SetAutoReconnect(false).
			SetConnectTimeout(10 * time.Second).
			SetWriteTimeout(10 * time.Second).
			SetKeepAlive(30 * time.Second)
		if conn.user != "" {
			opts.SetUsername(conn.user).SetPassword(conn.pass)
		}
		c := paho.NewClient(opts)
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
		mine := conns[p].sensors
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
				topic, payload := l.reading(mine[next], time.UnixMilli(ms))
				next = (next + 1) % len(mine)
				tok := c.Publish(topic, 1, false, payload)
				select {
				case queue <- pending{tok, now.UnixNano(), len(payload)}:
				case <-ctx.Done(): // interrupted while the window is full
					failed.Add(1)
				}
			}
			pace(runCtx, rate*float64(len(mine))/float64(len(l.sensors)), one)
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
