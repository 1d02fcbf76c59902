package broker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
)

// connLog wraps the handler given to mochi. mochi's TCP listener logs a
// connection that ended with an error as a warning without a message; a
// connection closed under it (the broker shutting down, a client gone) is
// no warning: such records become debug records, and the others get a
// message.
type connLog struct{ slog.Handler }

func (h connLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" {
		r.Message = "client connection ended with an error"
		closed := false
		r.Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Any().(error); ok && a.Key == "error" {
				closed = errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
				return false
			}
			return true
		})
		if closed {
			r.Level = slog.LevelDebug
			if !h.Handler.Enabled(ctx, r.Level) {
				return nil
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h connLog) WithAttrs(as []slog.Attr) slog.Handler { return connLog{h.Handler.WithAttrs(as)} }
func (h connLog) WithGroup(name string) slog.Handler    { return connLog{h.Handler.WithGroup(name)} }
