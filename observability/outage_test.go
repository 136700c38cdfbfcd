package observability_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability"
)

// Many failures from many goroutines make one start line and one end line,
// the end carrying how many requests the outage refused.
func TestOutage_OneLineAtEachEnd(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	o := observability.NewOutage(log, "redis gate", "refused")
	o.Up() // nothing to end
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() { o.Down(time.Now(), errors.New("dial tcp: connection refused"), true) })
	}
	wg.Wait()
	o.Down(time.Now(), errors.New("ping failed"), false) // a probe is not a refused request
	require.True(t, o.IsDown())
	o.Up()
	o.Up()
	require.False(t, o.IsDown())

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, buf.String())
	var start, end map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &start))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &end))
	assert.Equal(t, "WARN", start["level"])
	assert.Equal(t, "redis gate outage started", start["msg"])
	assert.Contains(t, start["err"], "connection refused")
	assert.Equal(t, "WARN", end["level"])
	assert.Equal(t, "redis gate outage ended", end["msg"])
	assert.InDelta(t, 60, end["refused"], 0)
	assert.NotEmpty(t, end["duration"])

	buf.Reset()
	o.Down(time.Now().Add(-time.Second), errors.New("timed out"), true)
	assert.False(t, o.IsDown(), "a call that started before the outage ended is a straggler, not a new outage")
	o.Down(time.Now(), errors.New("again"), true)
	o.Up()
	assert.Contains(t, buf.String(), `"refused":1`, "the count starts again with each outage")
	assert.Equal(t, 2, strings.Count(buf.String(), "\n"), buf.String())
}
