package stream_test

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/citytwin/citytwin/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSnapshotThenDeltas(t *testing.T) {
	src := newFakeSource()
	src.Set("noise", "default", "n1", 1, pt(9.1, 45.4), 0)
	src.Set("noise", "default", "n2", 1, pt(9.2, 45.5), 0)
	src.Set("air", "default", "a1", 1, pt(9.2, 45.5), 0)
	src.Set("district", "", "d1", 1, &stream.Bound{9, 45, 9.3, 45.6}, 0)
	e := newEnv(t, stream.Config{}, src, false)
	e.hub.Flush() // the initial state is history: nobody is subscribed

	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise","district"]}`)
	s := read(t, c)
	if s.Type != "snapshot" || !s.Full || s.Tenant != "default" || s.BBox != nil || s.Seq != 1 {
		t.Fatalf("snapshot header %+v", s)
	}
	if got := strings.Join(s.Layers, ","); got != "noise,district" {
		t.Fatalf("layers %q", got)
	}
	if got, want := ids(s.Sensors), map[string]int{"n1": 1, "n2": 1}; !maps.Equal(got, want) {
		t.Fatalf("snapshot sensors %v, want %v", got, want)
	}
	if got := ids(s.Features); !maps.Equal(got, map[string]int{"d1": 1}) || len(s.Alerts) != 0 {
		t.Fatalf("snapshot features %v alerts %d", got, len(s.Alerts))
	}

	src.Set("noise", "default", "n1", 2, pt(9.1, 45.4), 0)
	src.Set("air", "default", "a1", 2, pt(9.2, 45.5), 0) // not subscribed
	e.hub.Flush()
	d := read(t, c)
	if d.Type != "delta" || d.Seq != s.Seq+1 {
		t.Fatalf("delta header %+v after snapshot seq %d", d, s.Seq)
	}
	if got := ids(d.Sensors); !maps.Equal(got, map[string]int{"n1": 2}) || len(d.Features) != 0 {
		t.Fatalf("delta sensors %v features %d", got, len(d.Features))
	}

	// A flush with changes only in other layers sends nothing: the next
	// delta carries the next change, with a gap in seq.
	src.Set("air", "default", "a1", 3, pt(9.2, 45.5), 0)
	e.hub.Flush()
	src.Set("district", "", "d1", 2, &stream.Bound{9, 45, 9.3, 45.6}, 0)
	e.hub.Flush()
	d2 := read(t, c)
	if d2.Seq != d.Seq+2 || !maps.Equal(ids(d2.Features), map[string]int{"d1": 2}) || len(d2.Sensors) != 0 {
		t.Fatalf("second delta %+v", d2)
	}
	waitFor(t, "2 deltas counted", func() bool {
		return e.metric(t, "citytwin_stream_messages_sent_total", "type", "delta") == 2
	})
	if got := e.metric(t, "citytwin_stream_clients"); got != 1 {
		t.Fatalf("clients gauge %v", got)
	}
}

func TestSharedSubscriptionSameBytes(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{}, src, false)
	var conns []*websocket.Conn
	for range 3 {
		c := e.dial(t, nil)
		send(t, c, `{"type":"subscribe","layers":["noise"]}`)
		read(t, c)
		conns = append(conns, c)
	}
	for i := range 50 {
		src.Set("noise", "default", "n"+string(rune('a'+i%26)), i, pt(9, 45), 10)
	}
	e.hub.Flush()
	var first []byte
	for i, c := range conns {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = data
		} else if string(data) != string(first) {
			t.Fatalf("client %d got different bytes", i)
		}
	}
}

func TestSubscriptionChange(t *testing.T) {
	src := newFakeSource()
	west, east := stream.Bound{9.0, 45.0, 9.2, 45.6}, stream.Bound{9.1, 45.0, 9.4, 45.6}
	src.Set("noise", "default", "nw", 1, pt(9.05, 45.4), 0) // west only
	src.Set("noise", "default", "nm", 1, pt(9.15, 45.4), 0) // both
	src.Set("noise", "default", "ne", 1, pt(9.35, 45.4), 0) // east only
	src.Set("air", "default", "am", 1, pt(9.15, 45.4), 0)
	e := newEnv(t, stream.Config{}, src, false)
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"],"bbox":[9.0,45.0,9.2,45.6]}`)
	s := read(t, c)
	if !maps.Equal(ids(s.Sensors), map[string]int{"nw": 1, "nm": 1}) || len(s.BBox) != 4 || s.BBox[2] != west[2] {
		t.Fatalf("first snapshot %+v", s)
	}

	// Move east and add air: only what the old subscription did not cover.
	send(t, c, `{"type":"subscribe","layers":["noise","air"],"bbox":[9.1,45.0,9.4,45.6]}`)
	s2 := read(t, c)
	if s2.Type != "snapshot" || s2.Full || s2.BBox[0] != east[0] {
		t.Fatalf("second snapshot header %+v", s2)
	}
	if got, want := ids(s2.Sensors), map[string]int{"ne": 1, "am": 1}; !maps.Equal(got, want) {
		t.Fatalf("difference snapshot %v, want %v", got, want)
	}

	// Drop noise: later noise changes are not sent.
	send(t, c, `{"type":"subscribe","layers":["air"],"bbox":[9.1,45.0,9.4,45.6]}`)
	if s3 := read(t, c); s3.Full || len(s3.Sensors) != 0 {
		t.Fatalf("third snapshot %+v", s3)
	}
	src.Set("noise", "default", "nm", 2, pt(9.15, 45.4), 0)
	src.Set("air", "default", "am", 2, pt(9.15, 45.4), 0)
	e.hub.Flush()
	if d := read(t, c); !maps.Equal(ids(d.Sensors), map[string]int{"am": 2}) {
		t.Fatalf("delta after dropping noise: %v", ids(d.Sensors))
	}

	// Deltas of the old subscription still queued are discarded and the
	// snapshot is full.
	send(t, c, `{"type":"subscribe","layers":[]}`)
	if s4 := read(t, c); len(s4.Layers) != 0 || len(s4.Sensors) != 0 {
		t.Fatalf("unsubscribe snapshot %+v", s4)
	}
	src.Set("air", "default", "am", 3, pt(9.15, 45.4), 0)
	e.hub.Flush()
	send(t, c, `{"type":"subscribe","layers":["air"]}`)
	if s5 := read(t, c); !maps.Equal(ids(s5.Sensors), map[string]int{"am": 3}) {
		t.Fatalf("resubscribe snapshot %v", ids(s5.Sensors))
	}
}

func TestBBoxFiltering(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{}, src, false)
	c := e.dial(t, nil)
	all := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise","district"],"bbox":[9.0,45.0,9.2,45.2]}`)
	send(t, all, `{"type":"subscribe","layers":["noise","district"]}`)
	read(t, c)
	read(t, all)
	src.Set("noise", "default", "in", 1, pt(9.1, 45.1), 0)
	src.Set("noise", "default", "edge", 1, pt(9.2, 45.2), 0)
	src.Set("noise", "default", "out", 1, pt(9.3, 45.1), 0)
	src.Set("noise", "default", "nowhere", 1, nil, 0)
	src.Set("district", "", "overlapping", 1, &stream.Bound{9.15, 45.15, 9.5, 45.5}, 0)
	src.Set("district", "", "outside", 1, &stream.Bound{9.25, 45.25, 9.5, 45.5}, 0)
	e.hub.Flush()
	d := read(t, c)
	if got, want := ids(d.Sensors), map[string]int{"in": 1, "edge": 1}; !maps.Equal(got, want) {
		t.Fatalf("bbox delta sensors %v, want %v", got, want)
	}
	if got := ids(d.Features); !maps.Equal(got, map[string]int{"overlapping": 1}) {
		t.Fatalf("bbox delta features %v", got)
	}
	if d := read(t, all); len(d.Sensors) != 4 || len(d.Features) != 2 {
		t.Fatalf("no bbox: %d sensors %d features, want 4 and 2", len(d.Sensors), len(d.Features))
	}
	// The snapshot of a new client filters the same way.
	c2 := e.dial(t, nil)
	send(t, c2, `{"type":"subscribe","layers":["noise"],"bbox":[9.0,45.0,9.2,45.2]}`)
	if s := read(t, c2); !maps.Equal(ids(s.Sensors), map[string]int{"in": 1, "edge": 1}) {
		t.Fatalf("bbox snapshot %v", ids(s.Sensors))
	}
}

func TestTenantIsolation(t *testing.T) {
	src := newFakeSource()
	src.Set("noise", "a", "na", 1, pt(9, 45), 0)
	src.Set("noise", "b", "nb", 1, pt(9, 45), 0)
	src.Set("district", "", "d", 1, pt(9, 45), 0)
	e := newEnv(t, stream.Config{}, src, false)
	e.hub.Flush()

	ca := e.dial(t, http.Header{"Ngsild-Tenant": {"a"}})
	cb := e.dial(t, nil)
	cdef := e.dial(t, nil)
	send(t, ca, `{"type":"subscribe","layers":["noise","district"]}`)
	send(t, cb, `{"type":"subscribe","layers":["noise","district"],"tenant":"b"}`)
	send(t, cdef, `{"type":"subscribe","layers":["noise","district"]}`)
	sa, sb, sd := read(t, ca), read(t, cb), read(t, cdef)
	if sa.Tenant != "a" || !maps.Equal(ids(sa.Sensors), map[string]int{"na": 1}) || len(sa.Features) != 1 {
		t.Fatalf("tenant a snapshot %+v", sa)
	}
	if sb.Tenant != "b" || !maps.Equal(ids(sb.Sensors), map[string]int{"nb": 1}) || len(sb.Features) != 1 {
		t.Fatalf("tenant b snapshot %+v", sb)
	}
	if sd.Tenant != "default" || len(sd.Sensors) != 0 || len(sd.Features) != 1 {
		t.Fatalf("default tenant snapshot %+v", sd)
	}

	src.Set("noise", "a", "na", 2, pt(9, 45), 0)
	src.Set("noise", "b", "nb", 2, pt(9, 45), 0)
	e.hub.Flush()
	if d := read(t, ca); !maps.Equal(ids(d.Sensors), map[string]int{"na": 2}) {
		t.Fatalf("tenant a delta %v", ids(d.Sensors))
	}
	if d := read(t, cb); !maps.Equal(ids(d.Sensors), map[string]int{"nb": 2}) {
		t.Fatalf("tenant b delta %v", ids(d.Sensors))
	}

	// A connection with a tenant header cannot subscribe to another tenant.
	send(t, ca, `{"type":"subscribe","layers":["noise"],"tenant":"b"}`)
	if m := read(t, ca); m.Type != "error" || m.Field != "tenant" || !strings.Contains(m.Message, `NGSILD-Tenant header "a"`) {
		t.Fatalf("tenant override: %+v", m)
	}

	// Changing tenant gives a full snapshot of the new tenant.
	send(t, cb, `{"type":"subscribe","layers":["noise"],"tenant":"a"}`)
	if s := read(t, cb); !s.Full || s.Tenant != "a" || !maps.Equal(ids(s.Sensors), map[string]int{"na": 2}) {
		t.Fatalf("tenant change snapshot %+v", s)
	}
	// The default-tenant client got nothing from a or b: its next message
	// is the next shared change.
	src.Set("district", "", "d", 2, pt(9, 45), 0)
	e.hub.Flush()
	if d := read(t, cdef); len(d.Sensors) != 0 || !maps.Equal(ids(d.Features), map[string]int{"d": 2}) {
		t.Fatalf("default tenant delta %+v", d)
	}
}

func TestBadMessages(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{}, src, false)
	c := e.dial(t, nil)
	for _, tc := range []struct{ msg, field, rule string }{
		{`not json`, "", "JSON object"},
		{`[1,2]`, "", "JSON object"},
		{`{"layers":["noise"]}`, "type", "required"},
		{`{"type":"subscrbe","layers":["noise"]}`, "type", `must be "subscribe"`},
		{`{"type":"subscribe"}`, "layers", "required"},
		{`{"type":"subscribe","layers":"noise"}`, "layers", "array"},
		{`{"type":"subscribe","layers":null}`, "layers", "array"},
		{`{"type":"subscribe","layers":["noise",7]}`, "layers[1]", "string"},
		{`{"type":"subscribe","layers":["noise","nois"]}`, "layers[1]", `unknown layer "nois": want one of noise, air, district, alerts`},
		{`{"type":"subscribe","layers":["noise"],"bbox":[1,2,3]}`, "bbox", "4 numbers"},
		{`{"type":"subscribe","layers":["noise"],"bbox":[1,2,3,"x"]}`, "bbox[3]", "finite number"},
		{`{"type":"subscribe","layers":["noise"],"bbox":[9,95,10,96]}`, "bbox[1]", "[-90, 90]"},
		{`{"type":"subscribe","layers":["noise"],"bbox":[-181,45,10,46]}`, "bbox[0]", "[-180, 180]"},
		{`{"type":"subscribe","layers":["noise"],"bbox":[10,45,9,46]}`, "bbox", "minLon 10 must be ≤ maxLon 9"},
		{`{"type":"subscribe","layers":["noise"],"bbox":[9,46,10,45]}`, "bbox", "minLat"},
		{`{"type":"subscribe","layers":["noise"],"tenant":""}`, "tenant", "non-empty"},
		{`{"type":"subscribe","layers":["noise"],"tenant":5}`, "tenant", "string"},
		{`{"type":"subscribe","layers":["noise"],"layer":"x"}`, "layer", "unknown field"},
	} {
		send(t, c, tc.msg)
		m := read(t, c)
		if m.Type != "error" || m.Field != tc.field || !strings.Contains(m.Message, tc.rule) {
			t.Errorf("%s: got %+v, want field %q and a message containing %q", tc.msg, m, tc.field, tc.rule)
		}
		if tc.field != "" && !strings.HasPrefix(m.Message, tc.field+": ") {
			t.Errorf("%s: message %q does not start with the field", tc.msg, m.Message)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if m := read(t, c); m.Type != "error" || !strings.Contains(m.Message, "text") {
		t.Fatalf("binary frame: %+v", m)
	}
	// The connection is still usable.
	send(t, c, `{"type":"subscribe","layers":["noise"]}`)
	if m := read(t, c); m.Type != "snapshot" {
		t.Fatalf("after errors: %+v", m)
	}
	if got := e.metric(t, "citytwin_stream_client_errors_total"); got != 19 {
		t.Fatalf("client errors %v, want 19", got)
	}
}

func TestMessageTooLarge(t *testing.T) {
	e := newEnv(t, stream.Config{MaxMessageBytes: 64}, newFakeSource(), false)
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"],"tenant":"`+strings.Repeat("x", 100)+`"}`)
	if ce := closeErr(t, c); ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("close %v, want 1009", ce)
	}
	waitFor(t, "drop counted", func() bool {
		return e.metric(t, "citytwin_stream_clients_dropped_total", "reason", stream.DropMessageTooLarge) == 1
	})
}

func TestOrigins(t *testing.T) {
	if _, err := stream.New(stream.Config{AllowedOrigins: []string{"*"}}, newFakeSource(), nil, nil); err == nil ||
		!strings.Contains(err.Error(), "wildcards are not accepted") {
		t.Fatalf("New with *: %v", err)
	}
	if _, err := stream.New(stream.Config{AllowedOrigins: []string{"map.example.org"}}, newFakeSource(), nil, nil); err == nil {
		t.Fatal("New accepted an origin without scheme")
	}
	e := newEnv(t, stream.Config{AllowedOrigins: []string{"https://Map.Example.org"}}, newFakeSource(), false)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"", http.StatusSwitchingProtocols},               // not a browser
		{"http://" + host, http.StatusSwitchingProtocols}, // same origin
		{"https://map.example.org", http.StatusSwitchingProtocols},
		{"http://map.example.org", http.StatusForbidden}, // scheme differs
		{"https://evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.DefaultDialer.Dial(e.url, h)
		if c != nil {
			c.Close()
		}
		if resp == nil {
			t.Fatalf("origin %q: %v", tc.origin, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("origin %q: HTTP %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
	}
	if got := e.metric(t, "citytwin_stream_connections_refused_total", "reason", stream.RefuseOrigin); got != 3 {
		t.Fatalf("refused for origin: %v, want 3", got)
	}
}

func TestToken(t *testing.T) {
	e := newEnv(t, stream.Config{Token: "s3cret"}, newFakeSource(), false)
	for _, tc := range []struct {
		query, auth string
		want        int
	}{
		{"", "", http.StatusUnauthorized},
		{"?token=wrong", "", http.StatusUnauthorized},
		{"", "Bearer wrong", http.StatusUnauthorized},
		{"", "Basic czNjcmV0", http.StatusUnauthorized},
		{"?token=s3cret", "", http.StatusSwitchingProtocols},
		{"", "Bearer s3cret", http.StatusSwitchingProtocols},
	} {
		h := http.Header{}
		if tc.auth != "" {
			h.Set("Authorization", tc.auth)
		}
		c, resp, err := websocket.DefaultDialer.Dial(e.url+tc.query, h)
		if c != nil {
			c.Close()
		}
		if resp == nil {
			t.Fatalf("%q %q: %v", tc.query, tc.auth, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%q %q: HTTP %d, want %d", tc.query, tc.auth, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%q %q: no WWW-Authenticate", tc.query, tc.auth)
		}
	}
}

func TestConnectionLimit(t *testing.T) {
	e := newEnv(t, stream.Config{MaxClients: 2}, newFakeSource(), false)
	c1 := e.dial(t, nil)
	e.dial(t, nil)
	_, resp, err := websocket.DefaultDialer.Dial(e.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third connection: %v %+v, want 503 with Retry-After", err, resp)
	}
	if got := e.metric(t, "citytwin_stream_connections_refused_total", "reason", stream.RefuseLimit); got != 1 {
		t.Fatalf("refused for limit %v", got)
	}
	c1.Close()
	waitFor(t, "a slot to free", func() bool {
		c, _, err := websocket.DefaultDialer.Dial(e.url, nil)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

func TestShutdownClosesWith1001(t *testing.T) {
	src := newFakeSource()
	e := newEnv(t, stream.Config{}, src, true)
	c1, c2 := e.dial(t, nil), e.dial(t, nil)
	send(t, c1, `{"type":"subscribe","layers":["noise"]}`)
	read(t, c1)
	waitFor(t, "two clients", func() bool { return e.metric(t, "citytwin_stream_clients") == 2 })
	// The clients read, so they answer the close frame at once.
	var errs [2]chan error
	for i, c := range []*websocket.Conn{c1, c2} {
		errs[i] = make(chan error, 1)
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					errs[i] <- err
					return
				}
			}
		}()
	}
	e.hub.Close()
	for _, ch := range errs {
		err := <-ch
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseGoingAway || ce.Text != "server shutting down" {
			t.Fatalf("close %v, want 1001 server shutting down", err)
		}
	}
	if got := e.metric(t, "citytwin_stream_clients"); got != 0 {
		t.Fatalf("clients after Close: %v", got)
	}
	if got := e.metric(t, "citytwin_stream_clients_dropped_total", "reason", stream.DropShutdown); got != 2 {
		t.Fatalf("shutdown drops %v", got)
	}
	_, resp, err := websocket.DefaultDialer.Dial(e.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v, want 503", err)
	}
	e.hub.Close() // idempotent
}

func TestRunEndsWithContext(t *testing.T) {
	hub, err := stream.New(stream.Config{FlushInterval: time.Millisecond}, newFakeSource(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- hub.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPongTimeout(t *testing.T) {
	e := newEnv(t, stream.Config{PingInterval: 50 * time.Millisecond, PongTimeout: 500 * time.Millisecond,
		CloseGrace: 50 * time.Millisecond}, newFakeSource(), false)
	// A client that never reads never answers pings.
	e.dial(t, nil)
	waitFor(t, "pong timeout", func() bool {
		return e.metric(t, "citytwin_stream_clients_dropped_total", "reason", stream.DropPongTimeout) == 1
	})
	// A client that reads answers pings and stays.
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"]}`)
	read(t, c)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		_, _, _ = c.ReadMessage()
	}()
	<-done
	if got := e.metric(t, "citytwin_stream_clients_dropped_total", "reason", stream.DropPongTimeout); got != 1 {
		t.Fatalf("a client answering pings was dropped (%v drops)", got)
	}
}

// discardingSource counts the hub's calls.
type discardingSource struct {
	*fakeSource
	mu                sync.Mutex
	changes, discards int
}

func (s *discardingSource) Changes(dst []stream.Item, now time.Time) []stream.Item {
	s.mu.Lock()
	s.changes++
	s.mu.Unlock()
	return s.fakeSource.Changes(dst, now)
}

func (s *discardingSource) Discard(time.Time) {
	s.mu.Lock()
	s.discards++
	s.mu.Unlock()
}

func (s *discardingSource) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes, s.discards
}

// TestIdleHubDiscards: without clients a flush discards instead of
// encoding; with one it reads the changes.
func TestIdleHubDiscards(t *testing.T) {
	src := &discardingSource{fakeSource: newFakeSource()}
	e := newEnv(t, stream.Config{}, src, false)
	e.hub.Flush()
	if c, d := src.counts(); c != 0 || d != 1 {
		t.Fatalf("idle flush: %d Changes, %d Discard; want 0 and 1", c, d)
	}
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","layers":["noise"]}`)
	read(t, c)
	e.hub.Flush()
	if c, d := src.counts(); c != 1 || d != 1 {
		t.Fatalf("flush with a client: %d Changes, %d Discard; want 1 and 1", c, d)
	}
}
