package redisledger_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisledger"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newLedger(t *testing.T, client rueidis.Client, window, keyedTTL time.Duration) *redisledger.Ledger {
	t.Helper()
	return newLedgerOn(t, client, window, keyedTTL, prometheus.NewRegistry())
}

func newLedgerOn(t *testing.T, client rueidis.Client, window, keyedTTL time.Duration, reg prometheus.Registerer) *redisledger.Ledger {
	t.Helper()
	l, err := redisledger.New(client, redisledger.Config{
		Prefix: "test:" + uuid.NewString()[:8] + ":", TTL: keyedTTL, Window: window,
		CommandTimeout: time.Second, Registerer: reg, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

func TestContract(t *testing.T) {
	client := infra.AdapterClient(t, infra.RedisURL(t))
	contract.TestLedger(t, func(t *testing.T, window, keyedTTL time.Duration) ports.IssuanceLedger {
		return newLedger(t, client, window, keyedTTL)
	})
}

// TestMetrics_CountHits checks the figure an operator reads for
// redeliveries: a task recorded twice is one new record and one hit.
func TestMetrics_CountHits(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := newLedgerOn(t, infra.AdapterClient(t, infra.RedisURL(t)), time.Minute, time.Minute, reg)
	ctx := context.Background()
	first, err := l.Record(ctx, "task-1", "GIFT-A")
	require.NoError(t, err)
	again, err := l.Record(ctx, "task-1", "GIFT-B")
	require.NoError(t, err)
	require.Equal(t, first, again)
	assert.InDelta(t, 1, metricstest.Value(t, reg, "rps_ledger_records_total", "new"), 0)
	assert.InDelta(t, 1, metricstest.Value(t, reg, "rps_ledger_records_total", "hit"), 0)
	l.Close()
	_, err = l.Record(ctx, "task-2", "GIFT-C")
	require.Error(t, err)
	assert.InDelta(t, 1, metricstest.Value(t, reg, "rps_ledger_records_total", "error"), 0)
}

func TestRedisGone_Unavailable(t *testing.T) {
	client := infra.AdapterClient(t, infra.RedisURL(t))
	l := newLedger(t, client, time.Minute, time.Minute)
	require.NoError(t, l.Ready(context.Background()))
	client.Close() // as good as a dead Redis for this ledger
	_, err := l.Record(context.Background(), "t", "v")
	require.ErrorIs(t, err, domain.ErrUnavailable)
}

// The client's settings (URL, timeouts, flush delay) are refused by
// redisclient, which builds it.
func TestNewRefusesBadConfig(t *testing.T) {
	ok := redisledger.Config{
		Prefix: "p:", TTL: time.Minute, Window: time.Minute, CommandTimeout: time.Second,
		Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler),
	}
	client := infra.AdapterClient(t, infra.RedisURL(t))
	_, err := redisledger.New(nil, ok)
	require.EqualError(t, err, "redisledger: client must be set")
	for name, tt := range map[string]struct {
		mutate func(*redisledger.Config)
		want   string
	}{
		"no_prefix":          {func(c *redisledger.Config) { c.Prefix = "" }, "redisledger: prefix must be set"},
		"no_ttl":             {func(c *redisledger.Config) { c.TTL = 0 }, "redisledger: ttl must be at least 1ms (got 0s)"},
		"no_window":          {func(c *redisledger.Config) { c.Window = 0 }, "redisledger: window must be at least 1ms and at most the ttl 1m0s (got 0s)"},
		"window_over_ttl":    {func(c *redisledger.Config) { c.Window = 2 * time.Minute }, "redisledger: window must be at least 1ms and at most the ttl 1m0s (got 2m0s)"},
		"no_command_timeout": {func(c *redisledger.Config) { c.CommandTimeout = 0 }, "redisledger: command timeout must be positive (got 0s)"},
		"no_registerer":      {func(c *redisledger.Config) { c.Registerer = nil }, "redisledger: registerer must be set"},
		"no_logger":          {func(c *redisledger.Config) { c.Logger = nil }, "redisledger: logger is required"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			_, err := redisledger.New(client, cfg)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// A Redis outage under the ledger is two WARN lines: its start, and its end
// with its duration and the tasks it failed.
func TestRedisOutage_LoggedOnceAtEachEnd(t *testing.T) {
	r := infra.StartRedis(t)
	var logs infra.LogBuffer
	l, err := redisledger.New(infra.AdapterClient(t, r.URL()), redisledger.Config{
		Prefix: "test:", TTL: time.Minute, Window: time.Minute, CommandTimeout: time.Second,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registerer: prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	_, err = l.Record(context.Background(), uuid.NewString(), "v")
	require.NoError(t, err)
	r.Stop()
	for range 3 {
		_, err := l.Record(context.Background(), uuid.NewString(), "v")
		require.ErrorIs(t, err, domain.ErrUnavailable)
	}
	r.Start()
	require.Eventually(t, func() bool {
		_, err := l.Record(context.Background(), uuid.NewString(), "v")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)

	var msgs []string
	var end map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		require.Equal(t, "WARN", rec["level"], line)
		msgs = append(msgs, rec["msg"].(string))
		end = rec
	}
	require.Equal(t, []string{"redis ledger outage started", "redis ledger outage ended"}, msgs)
	assert.GreaterOrEqual(t, end["tasks_failed"], 3.0)
	assert.NotEmpty(t, end["duration"])
}
