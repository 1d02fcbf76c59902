package ingest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// paho reads each packet from the raw connection in several small reads
// (one byte of header, the length byte by byte, then the body) and writes
// every PUBACK with its own write: three or more system calls per message.
// bufferedConn puts a buffer under both directions: reads come from a 64 KiB
// buffer, and writes are coalesced and flushed at most flushDelay later (or
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
	connBufferSize = 64 << 10
	flushDelay     = time.Millisecond
)

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connBufferSize), w: bufio.NewWriterSize(c, connBufferSize)}
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

// bufferedDial opens a TCP or TLS connection to the broker and buffers it.
// It covers the schemes paho dials itself for tcp and TLS; WebSocket URLs
// keep paho's own dialer (see bufferable).
func bufferedDial(uri *url.URL, opts paho.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: opts.ConnectTimeout}
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err := d.Dial("tcp", uri.Host)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c), nil
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		c, err := tls.DialWithDialer(d, "tcp", uri.Host, opts.TLSConfig)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c), nil
	}
	return nil, fmt.Errorf("unsupported broker scheme %q", uri.Scheme)
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
