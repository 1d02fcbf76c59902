package ingest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// paho reads each packet from the raw connection in several small reads
// (one byte of header, the length byte by byte, then the body) and writes
// every PUBACK with its own write: three or more system calls per message.
// bufferedConn puts a buffer under both directions: reads come from a 256 KiB
// buffer filled at most every readGap, and writes are coalesced and flushed at most flushDelay later (or
// when the buffer fills), so the thousands of PUBACKs released when a batch
// becomes durable leave in a few writes.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	w       *bufio.Writer
	timer   *time.Timer
	pending bool
	err     error
	closed  bool
}

const (
	connBufferSize = 256 << 10
	flushDelay     = time.Millisecond
	// readGap is the least time between two reads from the socket. Under
	// load a read right after the previous one returns a message or two and
	// the reader then parks until the next arrives; waiting out the gap lets
	// a few dozen messages gather per read instead. An idle connection is
	// read at once (the previous read is long past).
	readGap = 2 * time.Millisecond
)

// pacedReader spaces reads from the socket by at least readGap.
type pacedReader struct {
	c    net.Conn
	last time.Time
}

func (r *pacedReader) Read(p []byte) (int, error) {
	if d := time.Since(r.last); d < readGap {
		time.Sleep(readGap - d)
	}
	n, err := r.c.Read(p)
	r.last = time.Now()
	return n, err
}

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(&pacedReader{c: c}, connBufferSize), w: bufio.NewWriterSize(c, connBufferSize)}
	b.timer = time.AfterFunc(time.Hour, b.flush)
	b.timer.Stop()
	return b
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	n, err := b.w.Write(p)
	if err != nil {
		b.err = err
		return n, err
	}
	if !b.pending && b.w.Buffered() > 0 {
		b.pending = true
		b.timer.Reset(flushDelay)
	}
	return n, nil
}

func (b *bufferedConn) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = false
	if b.err == nil && !b.closed && b.w.Buffered() > 0 {
		b.err = b.w.Flush()
	}
}

// Close sends what is buffered (a DISCONNECT, the last acknowledgements) and
// closes the connection.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	b.timer.Stop()
	if b.err == nil && !b.closed {
		_ = b.w.Flush()
	}
	b.closed = true
	b.mu.Unlock()
	return b.Conn.Close()
}

// puback acknowledges a QoS 1 message received on this connection
// [MQTT-3.4]: two bytes of fixed header and the packet identifier.
func (b *bufferedConn) puback(id uint16) {
	p := [4]byte{0x40, 0x02, byte(id >> 8), byte(id)}
	_, _ = b.Write(p[:]) // a broken connection means redelivery, not loss
}

// bufferedDial opens a TCP or TLS connection to the broker and buffers it.
// It covers the schemes paho dials itself for tcp and TLS; WebSocket URLs
// keep paho's own dialer (see bufferable).
func bufferedDial(uri *url.URL, opts paho.ClientOptions) (*bufferedConn, error) {
	d := &net.Dialer{Timeout: opts.ConnectTimeout}
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err = d.Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, opts.TLSConfig)
	default:
		err = fmt.Errorf("unsupported broker scheme %q", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

// directAck is a message acknowledged by writing its PUBACK straight into
// the connection it arrived on. paho's own Ack passes each PUBACK through two
// unbuffered channels and goroutines; at thousands of acknowledgements per
// batch that hand-off costs more CPU than decoding the message. If the
// connection has gone, the PUBACK is dropped and the broker redelivers.
type directAck struct {
	paho.Message
	conn *bufferedConn
}

func (m *directAck) Ack() { m.conn.puback(m.MessageID()) }

// inboundFreeStore is paho's memory store without inbound QoS 1 messages.
// paho keeps each received QoS 1 PUBLISH until its own PUBACK path deletes it
// (and discards such entries when it resumes a session); with directAck that
// path is not taken, so the store must not keep them. Keys are paho's:
// inbound entries start with "i.", outbound ones (our rejection notices)
// with "o." and are kept.
type inboundFreeStore struct{ *paho.MemoryStore }

func (s inboundFreeStore) Put(key string, m packets.ControlPacket) {
	if strings.HasPrefix(key, "i.") {
		return
	}
	s.MemoryStore.Put(key, m)
}

func bufferable(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		return true
	}
	return false
}
