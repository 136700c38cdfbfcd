package observability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// Log formats accepted by NewLogger.
const (
	FormatAuto = "auto" // coloured text on a terminal, JSON otherwise
	FormatText = "text" // coloured text (tint)
	FormatJSON = "json"
)

// LogConfig selects the logger's level and format.
type LogConfig struct {
	Level  string // debug, info, warn or error
	Format string // auto, text or json
}

// NewLogger returns a logger writing to w. Lines logged with a context that
// carries a request id get a request_id attribute.
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.Level, err)
	}
	format := strings.ToLower(cfg.Format)
	if format == FormatAuto || format == "" {
		format = FormatJSON
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = FormatText
		}
	}
	var h slog.Handler
	switch format {
	case FormatText:
		h = tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly})
	case FormatJSON:
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	default:
		return nil, fmt.Errorf("log format %q: want auto, text or json", cfg.Format)
	}
	return slog.New(requestIDHandler{h}), nil
}

// requestIDHandler adds the context's request id to each record.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
