// Package broker runs citytwin's embedded MQTT broker (mochi-mqtt), used when
// no external broker is configured. It persists sessions, subscriptions,
// retained and in-flight messages in a Pebble store under the data directory,
// so citytwin's own persistent session survives a restart or a SIGKILL.
//
// The broker accepts every client for now; binding it to loopback (the
// default) keeps it private. Messages the broker must drop (a client's
// in-flight window or write queue full) are counted, never silent.
//
// Run serves citytwin's own session on a private loopback listener;
// OpenPublic then opens the public one. Run blocks until its context ends,
// then closes every listener and client.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/hooks/storage/pebble"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the embedded broker.
type Config struct {
	// Listen is the TCP address; default 127.0.0.1:1883.
	Listen string
	// DataDir holds the broker's Pebble store. Required.
	DataDir string
	// Fence, when set, authenticates and authorises public clients (see
	// Fence); nil lets every client do anything.
	Fence *Fence
}

// internalListener is the id of the private listener citytwin's own session
// uses.
const internalListener = "internal"

// Broker is a running embedded broker.
type Broker struct {
	cfg      Config
	server   *mqtt.Server
	log      *slog.Logger
	dropped  prometheus.Counter
	gate     *publishGate
	fence    *fenceHook
	internal string        // loopback address of the listener citytwin's own session uses
	served   chan struct{} // closed once Run has restored the store and serves
}

// New builds the broker and opens its store; Run starts listening.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Broker, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:1883"
	}
	if cfg.DataDir == "" {
		return nil, errors.New("broker: DataDir is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = slog.New(connLog{log.Handler()}).With("component", "broker")
	caps := mqtt.NewDefaultServerCapabilities()
	// citytwin acknowledges a message only after its batch is durable, so its
	// session holds thousands of unacknowledged messages at full rate. The
	// defaults (8,192 in flight, 8,192 pending writes) would make the broker
	// drop messages: raise both to the protocol maximum.
	caps.MaximumInflight = 65535
	caps.MaximumClientWritesPending = 65536
	caps.ReceiveMaximum = 65535
	caps.MaximumMessageExpiryInterval = 0 // keep queued messages until delivered
	s := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       log,
	})
	b := &Broker{cfg: cfg, server: s, log: log, served: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "citytwin", Subsystem: "broker", Name: "dropped_total",
			Help: "Messages the embedded broker dropped because a client's in-flight window or write queue was full."})}
	if reg != nil {
		reg.MustRegister(b.dropped)
	}
	if cfg.Fence != nil {
		refused := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "citytwin", Subsystem: "broker", Name: "connections_refused_total",
			Help: "CONNECTs the fence refused (unknown or wrong credentials, anonymous not allowed)."})
		if reg != nil {
			reg.MustRegister(refused)
		}
		b.fence = &fenceHook{fence: cfg.Fence, grants: map[*mqtt.Client]grant{}, refused: refused.Inc}
		if err := s.AddHook(b.fence, nil); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	} else if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := s.AddHook(&dropCounter{b: b}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.gate = &publishGate{}
	if err := s.AddHook(b.gate, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := s.AddHook(new(pebble.Hook), &pebble.Options{Path: filepath.Join(cfg.DataDir, "pebble"), Mode: pebble.NoSync}); err != nil {
		return nil, fmt.Errorf("broker: open store in %s: %w", cfg.DataDir, err)
	}
	// citytwin's own session attaches through a private loopback listener
	// before the public one opens (see OpenPublic).
	internal, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.internal = internal
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: internalListener, Address: internal})); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", internal, err)
	}
	return b, nil
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// RevokeVendor disconnects the clients connected with the credentials of
// apikey's service group (after its credentials were rotated or the group
// deleted); they must reconnect with valid credentials. It returns how many
// were disconnected; without a Fence, none.
func (b *Broker) RevokeVendor(apikey string) int {
	if b.fence == nil {
		return 0
	}
	return b.fence.revoke(b.server, apikey)
}

// URL is the public address devices and tools connect to.
func (b *Broker) URL() string { return "tcp://" + b.cfg.Listen }

// InternalURL is the private loopback address for citytwin's own session.
func (b *Broker) InternalURL() string { return "tcp://" + b.internal }

// OpenPublic opens the public listener. Call it once citytwin's own session
// is attached: when a persistent session resumes, mochi moves its queued
// messages to the new connection, and a message published in that instant
// is left with the old one and lost. Keeping publishers out until the
// session is attached closes that window.
//
// It waits until Run has restored the store: a client let in before that
// would be replaced by its stored session.
func (b *Broker) OpenPublic() error {
	<-b.served
	if err := b.server.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.cfg.Listen})); err != nil {
		return fmt.Errorf("broker: listen on %s: %w", b.cfg.Listen, err)
	}
	b.server.Listeners.Serve("tcp", b.server.EstablishConnection)
	b.log.Info("embedded MQTT broker open to clients", "addr", b.cfg.Listen)
	return nil
}

// Run serves until ctx ends.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.server.Serve(); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	close(b.served)
	b.log.Info("embedded MQTT broker started", "internal_addr", b.internal, "data_dir", b.cfg.DataDir)
	<-ctx.Done()
	// mochi's Close stops the store right after disconnecting the clients,
	// while a client's goroutine may be between acknowledging a PUBLISH and
	// storing it for offline sessions: that message would be acknowledged
	// and lost. Refuse new publishes first (unacknowledged, so publishers
	// retry) and let those in progress finish.
	b.gate.close()
	if !b.gate.wait(5 * time.Second) {
		b.log.Warn("publishes still in progress at shutdown", "count", b.gate.active.Load())
	}
	return b.server.Close()
}

// publishGate counts publishes between OnPublish and OnPublished and, once
// closed, refuses new ones.
type publishGate struct {
	mqtt.HookBase
	closing atomic.Bool
	active  atomic.Int64
}

func (g *publishGate) ID() string { return "citytwin-publish-gate" }

func (g *publishGate) Provides(b byte) bool { return b == mqtt.OnPublish || b == mqtt.OnPublished }

func (g *publishGate) OnPublish(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	g.active.Add(1)
	if g.closing.Load() {
		g.active.Add(-1)
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

func (g *publishGate) OnPublished(*mqtt.Client, packets.Packet) { g.active.Add(-1) }

func (g *publishGate) close() { g.closing.Store(true) }

// wait returns true once no publish is in progress, false after timeout. A
// publish whose processing failed half-way never reaches OnPublished, hence
// the bound.
func (g *publishGate) wait(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for g.active.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// dropCounter counts messages the broker drops.
type dropCounter struct {
	mqtt.HookBase
	b *Broker
}

func (h *dropCounter) ID() string { return "citytwin-drop-counter" }

func (h *dropCounter) Provides(b byte) bool { return b == mqtt.OnPublishDropped }

func (h *dropCounter) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	h.b.dropped.Inc()
	h.b.log.Warn("message dropped", "client", cl.ID, "topic", pk.TopicName)
}
