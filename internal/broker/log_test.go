package broker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
)

func TestConnLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(connLog{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})}).With("listener", "internal")

	// What mochi's listener logs when a connection is closed under it.
	log.Warn("", "error", fmt.Errorf("read tcp 127.0.0.1:1->127.0.0.1:2: %w", net.ErrClosed))
	if buf.Len() != 0 {
		t.Fatalf("a closed connection was logged at info level: %s", buf.String())
	}
	log.Warn("", "error", errors.New("packet too large"))
	if got := buf.String(); !strings.Contains(got, `level=WARN msg="client connection ended with an error"`) || !strings.Contains(got, "listener=internal") {
		t.Fatalf("another connection error: %q, want a warning with a message and the listener", got)
	}
	buf.Reset()
	log.Warn("store quota reached", "error", net.ErrClosed)
	if !strings.Contains(buf.String(), `msg="store quota reached"`) {
		t.Fatalf("a record with a message changed: %q", buf.String())
	}
}
