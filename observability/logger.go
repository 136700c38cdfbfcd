package observability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/lmittmann/tint"
	"go.opentelemetry.io/otel/trace"
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
	// TraceIDs adds trace_id and span_id to lines logged with a context
	// carrying a span: set it when tracing is on, so a line leads to its trace.
	TraceIDs bool
}

// NewLogger returns a logger writing to w. Lines logged with a context that
// carries a request id get a request_id attribute (and trace_id and span_id
// when cfg.TraceIDs is set and the context carries a span).
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
		h = tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly, ReplaceAttr: escapeControls})
	case FormatJSON:
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	default:
		return nil, fmt.Errorf("log format %q: want auto, text or json", cfg.Format)
	}
	return slog.New(contextHandler{Handler: h, traceIDs: cfg.TraceIDs}), nil
}

// contextHandler adds the context's request id, and its trace and span ids
// when asked, to each record.
type contextHandler struct {
	slog.Handler
	traceIDs bool
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if h.traceIDs {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{Handler: h.Handler.WithAttrs(attrs), traceIDs: h.traceIDs}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{Handler: h.Handler.WithGroup(name), traceIDs: h.traceIDs}
}

// escapeControls rewrites control characters in string and error values as
// \u00XX. Values often carry client input (a URL path, a task kind), and the
// text format writes ESC bytes through as they are (tint keeps them for
// colours), so a client could otherwise move the cursor or recolour an
// operator's terminal. The JSON format escapes them itself.
func escapeControls(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); hasControl(s) {
			a.Value = slog.StringValue(escapeControl(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && hasControl(err.Error()) {
			a.Value = slog.StringValue(escapeControl(err.Error()))
		}
	default:
	}
	return a
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

func escapeControl(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
