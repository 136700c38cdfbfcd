package redisledger_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisledger"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// pausable is a ledger on a throwaway Redis the test can freeze (SIGSTOP),
// with a command timeout long enough that a frozen pipeline waits for
// Resume instead of timing out.
func pausable(t *testing.T) (*redisledger.Ledger, *infra.ThrowawayRedis, *prometheus.Registry) {
	t.Helper()
	r := infra.StartRedis(t)
	reg := prometheus.NewRegistry()
	client := infra.AdapterClient(t, r.URL(), func(c *redisclient.Config) { c.CommandTimeout = 30 * time.Second })
	l, err := redisledger.New(client, redisledger.Config{
		Prefix: "test:", TTL: time.Minute, Window: time.Minute, CommandTimeout: 30 * time.Second,
		Registerer: reg, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	require.NoError(t, l.Ready(context.Background())) // connected before any pause
	t.Cleanup(l.Close)
	t.Cleanup(r.Resume) // before Stop; a frozen Redis would hold Close
	return l, r, reg
}

// batches reads rps_ledger_batch_size: how many pipelines were sent and how
// many records they carried in all.
func batches(t testing.TB, reg prometheus.Gatherer) (count uint64, records float64) {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "rps_ledger_batch_size" {
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("rps_ledger_batch_size not registered")
	return 0, 0
}

// recordAll records task-<i> = V<i> for i in [from, to) concurrently and
// returns, per call, the value it got or its error.
func recordAll(ctx context.Context, l *redisledger.Ledger, from, to int) (*sync.WaitGroup, []string, []error) {
	var wg sync.WaitGroup
	got, errs := make([]string, to-from), make([]error, to-from)
	for i := from; i < to; i++ {
		wg.Go(func() { got[i-from], errs[i-from] = l.Record(ctx, fmt.Sprint("task-", i), fmt.Sprint("V", i)) })
	}
	return &wg, got, errs
}

// The records of tasks that arrive while a pipeline is out go together in
// the next one, at most 256 per pipeline, and each call still gets its own
// answer.
func TestConcurrentRecords_ShareOnePipeline(t *testing.T) {
	l, r, reg := pausable(t)
	ctx := context.Background()
	r.Pause()
	first, _, firstErrs := recordAll(ctx, l, 0, 1)
	require.Eventually(t, func() bool { n, _ := batches(t, reg); return n == 1 }, 10*time.Second, time.Millisecond,
		"a lone record goes at once")
	wg, got, errs := recordAll(ctx, l, 1, 301)
	require.Eventually(t, func() bool { return l.Queued() == 300 }, 10*time.Second, time.Millisecond)
	r.Resume()
	first.Wait()
	wg.Wait()
	require.NoError(t, firstErrs[0])
	for i := range got {
		require.NoError(t, errs[i])
		assert.Equal(t, fmt.Sprint("V", i+1), got[i])
	}
	n, records := batches(t, reg)
	assert.Equal(t, uint64(3), n, "1, then 300 queued in pipelines of at most 256")
	assert.InDelta(t, 301, records, 0)

	// And a redelivery in a batch of its own still reads the first value.
	again, err := l.Record(ctx, "task-7", "other")
	require.NoError(t, err)
	assert.Equal(t, "V7", again)
}

// A call whose ctx ends returns at once with the ctx's error; its command
// still goes, the other calls of its batch are answered, and the task's
// redelivery reads the value the abandoned call stored.
func TestCallerGivesUp_BatchGoesOn(t *testing.T) {
	l, r, _ := pausable(t)
	r.Pause()
	ctx, cancel := context.WithCancel(context.Background())
	abandoned, _, abandonedErrs := recordAll(ctx, l, 0, 1)
	others, got, errs := recordAll(context.Background(), l, 1, 5)
	cancel()
	abandoned.Wait() // before Resume: the caller does not wait for Redis
	require.ErrorIs(t, abandonedErrs[0], context.Canceled)
	require.ErrorIs(t, abandonedErrs[0], domain.ErrUnavailable)
	r.Resume()
	others.Wait()
	for i := range got {
		require.NoError(t, errs[i])
		assert.Equal(t, fmt.Sprint("V", i+1), got[i])
	}
	again, err := l.Record(context.Background(), "task-0", "other")
	require.NoError(t, err)
	assert.Equal(t, "V0", again, "the abandoned call's command ran")
}

// When Redis is gone every call of a batch fails with ErrUnavailable, and
// none hangs.
func TestRedisGone_EveryCallFails(t *testing.T) {
	r := infra.StartRedis(t)
	client := infra.AdapterClient(t, r.URL(), func(c *redisclient.Config) { c.DialTimeout = 200 * time.Millisecond })
	l, err := redisledger.New(client, redisledger.Config{
		Prefix: "test:", TTL: time.Minute, Window: time.Minute, CommandTimeout: time.Second,
		Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	r.Stop()
	wg, _, errs := recordAll(context.Background(), l, 0, 50)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("calls still waiting 10s after Redis died (command timeout 1s)")
	}
	for _, err := range errs {
		require.ErrorIs(t, err, domain.ErrUnavailable)
	}
}

// Close answers the calls still queued at once (their tasks are
// redelivered), lets the pipeline under way finish, and Record fails after.
func TestClose_AnswersQueuedCalls(t *testing.T) {
	l, r, reg := pausable(t)
	r.Pause()
	first, firstGot, firstErrs := recordAll(context.Background(), l, 0, 1)
	require.Eventually(t, func() bool { n, _ := batches(t, reg); return n == 1 }, 10*time.Second, time.Millisecond)
	queued, _, errs := recordAll(context.Background(), l, 1, 11)
	require.Eventually(t, func() bool { return l.Queued() == 10 }, 10*time.Second, time.Millisecond)
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	queued.Wait() // while Redis is still frozen
	for _, err := range errs {
		require.ErrorIs(t, err, domain.ErrUnavailable)
	}
	r.Resume()
	first.Wait()
	<-closed
	require.NoError(t, firstErrs[0])
	assert.Equal(t, "V0", firstGot[0])
	_, err := l.Record(context.Background(), "task-99", "V")
	require.ErrorIs(t, err, domain.ErrUnavailable)
}
