//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// leanPublisher is TestFanout's load generator: one MQTT 3.1.1 connection
// publishing at QoS 1 with paho's packet codec, but without paho's client,
// which costs a token, several channel hand-offs and one write system call
// per message — about 45 % of a core for 10,000 messages/s here, on the same
// two cores as the system under test. The lean path buffers the PUBLISH
// packets written between two flushes (the pacing tick, 2 ms) into one write
// and counts the PUBACKs on a reader goroutine: ~4× less CPU for the same
// messages, which leaves the machine to the broker, citytwin and InfluxDB.
// The broker sees the same packets as from any client.
type leanPublisher struct {
	conn net.Conn
	w    *bufio.Writer

	mu       sync.Mutex // guards w and the window
	nextID   uint16
	inflight map[uint16]struct{}
	room     *sync.Cond // signalled when an ack frees the window

	acked   atomic.Int64
	readErr error
	done    chan struct{} // closed when the reader ends
}

// leanWindow bounds the unacknowledged messages of a connection (message
// ids are 16-bit).
const leanWindow = 30000

// dialLeanPublisher connects to brokerURL (tcp://host:port) as clientID with
// a clean session.
func dialLeanPublisher(brokerURL, clientID string) (*leanPublisher, error) {
	u, err := url.Parse(brokerURL)
	if err != nil {
		return nil, fmt.Errorf("publisher: broker URL %q: %w", brokerURL, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("publisher: dial %s: %w", u.Host, err)
	}
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.CleanSession = true
	cp.ClientIdentifier = clientID
	cp.Keepalive = 60
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := cp.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("publisher: send CONNECT: %w", err)
	}
	pk, err := packets.ReadPacket(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("publisher: read CONNACK: %w", err)
	}
	if ca, ok := pk.(*packets.ConnackPacket); !ok || ca.ReturnCode != packets.Accepted {
		conn.Close()
		return nil, fmt.Errorf("publisher: connection refused: %v", pk)
	}
	_ = conn.SetDeadline(time.Time{})
	p := &leanPublisher{
		conn:     conn,
		w:        bufio.NewWriterSize(conn, 256<<10),
		inflight: make(map[uint16]struct{}, 1024),
		done:     make(chan struct{}),
	}
	p.room = sync.NewCond(&p.mu)
	go p.read(bufio.NewReaderSize(&gapReader{c: conn}, 64<<10))
	return p, nil
}

// gapReader spaces reads from the socket by at least 2 ms: the broker writes
// each PUBACK on its own, and reading them as they come costs a system call
// and a wake-up per message; after the gap a read takes a few dozen.
type gapReader struct {
	c    net.Conn
	last time.Time
}

func (r *gapReader) Read(b []byte) (int, error) {
	if d := time.Since(r.last); d < 2*time.Millisecond {
		time.Sleep(2*time.Millisecond - d)
	}
	n, err := r.c.Read(b)
	r.last = time.Now()
	return n, err
}

// read counts PUBACKs until the connection ends.
func (p *leanPublisher) read(r io.Reader) {
	defer close(p.done)
	for {
		pk, err := packets.ReadPacket(r)
		if err != nil {
			p.mu.Lock()
			p.readErr = err
			p.room.Broadcast()
			p.mu.Unlock()
			return
		}
		if ack, ok := pk.(*packets.PubackPacket); ok {
			p.mu.Lock()
			if _, ok := p.inflight[ack.MessageID]; ok {
				delete(p.inflight, ack.MessageID)
				p.acked.Add(1)
				if len(p.inflight) == leanWindow-1 {
					p.room.Broadcast()
				}
			}
			p.mu.Unlock()
		}
	}
}

// publish buffers one QoS 1 PUBLISH; it blocks while the window is full.
// Flush sends what is buffered.
func (p *leanPublisher) publish(topic string, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.inflight) >= leanWindow && p.readErr == nil {
		if err := p.w.Flush(); err != nil {
			return err
		}
		p.room.Wait()
	}
	if p.readErr != nil {
		return fmt.Errorf("publisher: connection lost: %w", p.readErr)
	}
	for {
		p.nextID++
		if _, busy := p.inflight[p.nextID]; p.nextID != 0 && !busy {
			break
		}
	}
	pk := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pk.Qos = 1
	pk.TopicName = topic
	pk.MessageID = p.nextID
	pk.Payload = payload
	p.inflight[p.nextID] = struct{}{}
	return pk.Write(p.w)
}

// flush writes the buffered packets.
func (p *leanPublisher) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Flush()
}

// drain waits up to d for the outstanding acknowledgements, then
// disconnects; it returns how many messages were never acknowledged.
func (p *leanPublisher) drain(d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		n, err := len(p.inflight), p.readErr
		p.mu.Unlock()
		if n == 0 || err != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.mu.Lock()
	_ = packets.NewControlPacket(packets.Disconnect).Write(p.w)
	_ = p.w.Flush()
	lost := int64(len(p.inflight))
	p.mu.Unlock()
	p.conn.Close()
	<-p.done
	return lost
}
