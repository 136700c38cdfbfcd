package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
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
