package startup_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
)

func TestClosers_CloseTheLastOpenedFirst(t *testing.T) {
	var order []string
	var c startup.Closers
	c.AddFunc(func() { order = append(order, "ledger") })
	c.Add(func(context.Context) error { order = append(order, "consumer"); return errors.New("broker gone") })
	c.AddFunc(func() { order = append(order, "admin") })

	var logs bytes.Buffer
	c.Close(slog.New(slog.NewTextHandler(&logs, nil)))

	assert.Equal(t, []string{"admin", "consumer", "ledger"}, order, "reverse order of opening")
	assert.Contains(t, logs.String(), "broker gone", "a failed close is logged and the rest still close")

	c.Close(slog.New(slog.DiscardHandler))
	assert.Len(t, order, 3, "a second Close closes nothing again")
}

func TestClosers_EachCloseIsBounded(t *testing.T) {
	var c startup.Closers
	var deadlines []time.Time
	for range 2 {
		c.Add(func(ctx context.Context) error {
			d, ok := ctx.Deadline()
			require.True(t, ok, "a close gets a deadline")
			deadlines = append(deadlines, d)
			return nil
		})
	}
	start := time.Now()
	c.Close(slog.New(slog.DiscardHandler))
	require.Len(t, deadlines, 2)
	for _, d := range deadlines {
		assert.WithinDuration(t, start.Add(10*time.Second), d, time.Second, "each close has its own 10 s")
	}
}
