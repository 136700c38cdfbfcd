package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability"
)

func TestLogger_AddsTheRequestIDFromTheContext(t *testing.T) {
	var buf bytes.Buffer
	log, err := observability.NewLogger(&buf, observability.LogConfig{Level: "info", Format: "auto"})
	require.NoError(t, err)
	ctx := observability.WithRequestID(context.Background(), "rid-1")
	log.With("component", "test").InfoContext(ctx, "hello")

	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), "auto is JSON when not on a terminal: %s", buf.String())
	assert.Equal(t, "rid-1", line["request_id"])
	assert.Equal(t, "test", line["component"])
	assert.Equal(t, "rid-1", observability.RequestID(ctx))
}

func TestLogger_LevelAndFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := observability.NewLogger(&buf, observability.LogConfig{Level: "warn", Format: "text"})
	require.NoError(t, err)
	log.Info("hidden")
	log.Warn("shown")
	assert.NotContains(t, buf.String(), "hidden")
	assert.Contains(t, buf.String(), "shown")

	_, err = observability.NewLogger(&buf, observability.LogConfig{Level: "loud", Format: "json"})
	require.Error(t, err)
	_, err = observability.NewLogger(&buf, observability.LogConfig{Level: "info", Format: "xml"})
	require.Error(t, err)
}

// The text format shows a client's control characters escaped, never raw:
// an ESC in a URL path must not recolour or clear an operator's terminal.
func TestLogger_TextEscapesControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	log, err := observability.NewLogger(&buf, observability.LogConfig{Level: "info", Format: "text"})
	require.NoError(t, err)
	log.Info("request failed", "path", "/a\x1b[31mred\r\n", "err", errors.New("kind \x1b[2J\x07"))
	out := buf.String()
	assert.NotContains(t, out, "\x1b[31mred", "the client's escape sequence is not written raw")
	assert.NotContains(t, out, "\x1b[2J")
	assert.NotContains(t, out, "\x07")
	assert.Contains(t, out, `\u001b[31mred\u000d\u000a`)
	assert.Contains(t, out, `u001b[2J`, "escaped (and quoted, for its space)")
	assert.Equal(t, 1, strings.Count(out, "\n"), "one line")
}
