package ingest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// SubscriberConfig configures the MQTT side of ingestion.
type SubscriberConfig struct {
	// URL of the broker: tcp://host:port (or ssl://, ws://).
	URL      string
	Username string
	Password string
	// ClientID names citytwin's persistent session; default "citytwin". Two
	// instances sharing work use a shared subscription ($share/…) and
	// different ids.
	ClientID string
	// Topics are the subscription filters; default ["ngsi/#"].
	Topics []string
	// ErrorQueue bounds the rejection notices waiting to be published;
	// default 10000.
	ErrorQueue int
}

// Subscriber holds citytwin's MQTT session: QoS 1, persistent (clean session
// off), acknowledgements sent by the Pipeline once messages are durable. It
// also publishes rejection notices on error topics.
type Subscriber struct {
	cfg       SubscriberConfig
	client    paho.Client
	log       *slog.Logger
	notices   chan notice
	connected atomic.Bool
	closeOnce sync.Once
	// conn is the current buffered connection (nil with WebSocket brokers,
	// where paho dials and acknowledges itself).
	conn atomic.Pointer[bufferedConn]
}

type notice struct {
	topic   string
	payload []byte
}

// NewSubscriber prepares a session that feeds h (normally Pipeline.Handle).
func NewSubscriber(cfg SubscriberConfig, h func(Message), log *slog.Logger) (*Subscriber, error) {
	if cfg.URL == "" {
		return nil, errors.New("ingest: broker URL is required (CITYTWIN_MQTT_URL)")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "citytwin"
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = []string{"ngsi/#"}
	}
	if cfg.ErrorQueue <= 0 {
		cfg.ErrorQueue = 10000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{cfg: cfg, log: log.With("component", "mqtt"), notices: make(chan notice, cfg.ErrorQueue)}
	opts := paho.NewClientOptions().
		AddBroker(cfg.URL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { h(s.wrap(m)) }).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.connected.Store(false)
			s.log.Warn("broker connection lost", "error", err)
		})
	if bufferable(cfg.URL) {
		opts.SetCustomOpenConnectionFn(func(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
			c, err := bufferedDial(uri, o)
			if err != nil {
				return nil, err
			}
			s.conn.Store(c)
			return c, nil
		})
		opts.SetStore(inboundFreeStore{paho.NewMemoryStore()})
	}
	s.client = paho.NewClient(opts)
	return s, nil
}

// wrap makes a QoS 1 message acknowledge itself on the connection it came
// from. paho calls the handler from the connection's own dispatch goroutine,
// and dials a new connection only after that goroutine has ended, so the
// current connection is the message's.
func (s *Subscriber) wrap(m paho.Message) Message {
	if c := s.conn.Load(); c != nil && m.Qos() == 1 {
		return &directAck{Message: m, conn: c}
	}
	return m
}

// onConnect (re)subscribes. The session is persistent, so the broker already
// holds the subscriptions after the first connection; subscribing again is
// idempotent and covers a broker that lost its state.
func (s *Subscriber) onConnect(c paho.Client) {
	filters := make(map[string]byte, len(s.cfg.Topics))
	for _, t := range s.cfg.Topics {
		filters[t] = 1
	}
	tok := c.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.log.Error("subscribe failed; reconnecting", "topics", s.cfg.Topics, "error", tok.Error())
		// Force a reconnect so that subscribing is tried again.
		go c.Disconnect(0)
		return
	}
	s.connected.Store(true)
	s.log.Info("subscribed", "broker", s.cfg.URL, "client_id", s.cfg.ClientID, "topics", s.cfg.Topics)
}

// Connect starts the session; it keeps retrying in the background, so it
// returns once the first attempt is under way.
func (s *Subscriber) Connect() {
	s.client.Connect()
}

// Connected reports whether the session is up and subscribed.
func (s *Subscriber) Connected() bool { return s.connected.Load() && s.client.IsConnectionOpen() }

// PublishError queues a notice (a rejection, or an alert event) for
// publication at QoS 1; false when the queue is full.
func (s *Subscriber) PublishError(topic string, payload []byte) bool {
	select {
	case s.notices <- notice{topic, payload}:
		return true
	default:
		return false
	}
}

// Run publishes rejection notices (QoS 1, not retained) until ctx ends.
func (s *Subscriber) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-s.notices:
			tok := s.client.Publish(n.topic, 1, false, n.payload)
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				s.log.Debug("publish rejection notice failed", "topic", n.topic, "error", tok.Error())
			}
		}
	}
}

// Close ends the session after letting queued acknowledgements go out.
func (s *Subscriber) Close() {
	s.closeOnce.Do(func() {
		s.connected.Store(false)
		s.client.Disconnect(500)
	})
}
