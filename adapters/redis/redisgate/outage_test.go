package redisgate_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/infra/proxy"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// These tests stop, restart or pause a throwaway redis-server of their own,
// never the shared one.

func TestRedisRestartedBetweenCalls(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { redisRestartedBetweenCalls(t, m.config) })
	}
}

func redisRestartedBetweenCalls(t *testing.T, config func(testing.TB, string, int) gateConfig) {
	r := infra.StartRedis(t)
	cfg := config(t, r.URL(), 1) // one slot: block mode keeps no spare in its pool
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	g := open(t, cfg)
	before, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.NoError(t, err)

	r.Stop()
	r.Start()
	// The restarted Redis has lost the slots and the scripts: EVALSHA falls
	// back to EVAL, and the first call after the restart reconnects.
	var err2 error
	require.Eventually(t, func() bool {
		_, err2 = g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
		return err2 == nil
	}, 10*time.Second, 50*time.Millisecond, "last error: %v", err2)
	require.NoError(t, g.Release(context.Background(), before), "releasing a slot Redis forgot is harmless")
	assert.InDelta(t, 1, metricstest.Value(t, reg, "rps_gate_slots_in_use", ""), 0, "only the slot taken after the restart")
}

func TestRedisStopped_FailClosedInBoundedTime(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { redisStoppedFailClosedInBoundedTime(t, m.config) })
	}
}

func redisStoppedFailClosedInBoundedTime(t *testing.T, config func(testing.TB, string, int) gateConfig) {
	r := infra.StartRedis(t)
	cfg := config(t, r.URL(), 1) // one slot: block mode keeps no spare in its pool
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	g := open(t, cfg)
	held, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.NoError(t, err)
	r.Stop()

	start := time.Now()
	_, err = g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	took := time.Since(start)
	require.ErrorIs(t, err, domain.ErrUnavailable)
	require.NotErrorIs(t, err, domain.ErrAtCapacity, "an outage is not 'too many requests'")
	assert.Less(t, took, 3*time.Second, "bounded by CommandTimeout (%s)", cfg.CommandTimeout)
	t.Logf("acquire against a stopped Redis failed after %s: %v", took, err)

	require.ErrorIs(t, g.Ready(context.Background()), domain.ErrUnavailable)
	if cfg.BlockSize == 1 {
		require.ErrorIs(t, g.Release(context.Background(), held), domain.ErrUnavailable)
	} else {
		require.NoError(t, g.Release(context.Background(), held), "block mode: the slot goes back to the pool, its lease still valid")
	}
	assert.InDelta(t, 1, metricstest.Value(t, reg, "rps_gate_acquires_total", "error"), 0)
	assert.InDelta(t, 0, metricstest.Value(t, reg, "rps_gate_slots_in_use", ""), 0)
}

func TestRedisStopped_FailOpenAdmits(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { redisStoppedFailOpenAdmits(t, m.config) })
	}
}

func redisStoppedFailOpenAdmits(t *testing.T, config func(testing.TB, string, int) gateConfig) {
	r := infra.StartRedis(t)
	cfg := config(t, r.URL(), 2)
	reg := prometheus.NewRegistry()
	cfg.Registerer, cfg.FailOpen = reg, true
	g := open(t, cfg)
	r.Stop()

	for range 3 { // more than the capacity: nothing counts while Redis is down
		start := time.Now()
		slot, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
		require.NoError(t, err)
		assert.Less(t, time.Since(start), 3*time.Second)
		require.NotEmpty(t, slot.ID)

		// A fail-open slot holds nothing in Redis, so its release does not
		// ask Redis: it succeeds even on a context that could not carry a call.
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		require.NoError(t, g.Release(gone, slot), "a fail-open slot holds nothing in Redis")
	}
	assert.Zero(t, releaseCalls(t, reg), "no release went to Redis")
	assert.InDelta(t, 0, metricstest.Value(t, reg, "rps_gate_release_errors_total", ""), 0)
	assert.InDelta(t, 3, metricstest.Value(t, reg, "rps_gate_acquires_total", "fail_open"), 0)
	assert.InDelta(t, 0, metricstest.Value(t, reg, "rps_gate_slots_in_use", ""), 0)
	require.NoError(t, g.Ready(context.Background()), "a fail-open gate serves without Redis")
}

// A caller whose deadline passes while Redis is busy gets its context's
// error, and the slot the script may have taken is not held for long.
func TestCallerDeadlineWhileRedisPaused(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { callerDeadlineWhileRedisPaused(t, m.config) })
	}
}

func callerDeadlineWhileRedisPaused(t *testing.T, config func(testing.TB, string, int) gateConfig) {
	r := infra.StartRedis(t)
	cfg := config(t, r.URL(), 1)
	cfg.Lease = 2 * time.Second
	g := open(t, cfg)
	raw := infra.RedisClient(t, r.URL())
	// The pause is long next to the caller's 50 ms deadline, so "returned
	// well before the pause ended" holds on a loaded machine too.
	const pause = 1500 * time.Millisecond
	require.NoError(t, raw.Do(context.Background(), raw.B().ClientPause().Timeout(pause.Milliseconds()).Write().Build()).Error())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, domain.ErrUnavailable)
	assert.Less(t, time.Since(start), pause*2/3, "returns at the caller's deadline, not after the pause")

	require.Eventually(t, func() bool {
		_, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
		return err == nil
	}, pause+2*cfg.Lease, 20*time.Millisecond, "the abandoned acquire does not keep the only slot")
}

// releaseCalls is how many releases went to Redis: the sample count of the
// release latency histogram, observed on every call, failed or not.
func releaseCalls(t *testing.T, g prometheus.Gatherer) uint64 {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "rps_gate_release_duration_seconds" {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("metric rps_gate_release_duration_seconds not found")
	return 0
}

// An outage is two WARN lines whatever the traffic: its start, and its end
// with its duration and the requests it refused (fail closed) or admitted
// without a slot (fail open). Nothing per request above debug.
func TestRedisOutage_LoggedOnceAtEachEnd(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { redisOutageLoggedOnceAtEachEnd(t, m.config) })
	}
}

func redisOutageLoggedOnceAtEachEnd(t *testing.T, config func(testing.TB, string, int) gateConfig) {
	for _, failOpen := range []bool{false, true} {
		t.Run(map[bool]string{false: "fail_closed", true: "fail_open"}[failOpen], func(t *testing.T) {
			r := infra.StartRedis(t)
			cfg := config(t, r.URL(), 2)
			var logs infra.LogBuffer
			cfg.Logger, cfg.FailOpen = slog.New(slog.NewJSONHandler(&logs, nil)), failOpen
			g := open(t, cfg)
			r.Stop()
			for range 5 {
				slot, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
				if err == nil {
					_ = g.Release(context.Background(), slot)
				}
			}
			r.Start()
			require.Eventually(t, func() bool {
				_, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
				return err == nil
			}, 10*time.Second, 50*time.Millisecond)

			var warns []map[string]any
			for line := range strings.Lines(logs.String()) {
				var rec map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &rec))
				if rec["level"] != "INFO" {
					warns = append(warns, rec)
				}
			}
			require.Len(t, warns, 2, logs.String())
			assert.Equal(t, "redis gate outage started", warns[0]["msg"])
			assert.Equal(t, "WARN", warns[0]["level"])
			assert.Equal(t, "redis gate outage ended", warns[1]["msg"])
			assert.NotEmpty(t, warns[1]["duration"])
			key := map[bool]string{false: "refused", true: "admitted_without_slot"}[failOpen]
			assert.GreaterOrEqual(t, warns[1][key], 5.0, "the end line counts the requests: %v", warns[1])
		})
	}
}

// In block mode the slots an instance leased stay usable while Redis is
// down: a request that finds one free in the pool is admitted without
// asking Redis; only one that needs Redis gets ErrUnavailable.
func TestRedisStopped_BlocksAdmitOnTheLeasesHeld(t *testing.T) {
	r := infra.StartRedis(t)
	cfg := blockConfig(t, r.URL(), 2*testBlockSize)
	cfg.BlockIdle = 3 * time.Second // no sync gives the free slots back during the test
	g := open(t, cfg)
	first, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.NoError(t, err)
	require.NoError(t, g.Release(context.Background(), first)) // back to the pool, still leased
	r.Stop()

	for i := range testBlockSize {
		_, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
		require.NoError(t, err, "slot %d of the block leased before the outage", i+1)
	}
	_, err = g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.ErrorIs(t, err, domain.ErrUnavailable, "the pool ran dry: the next acquire needs Redis")
}

// In block mode, leases an instance fails to give back while Redis is out
// of reach (its idle block at a sync, a stale slot at a release) are handed
// to the undoer, which frees them once Redis answers again: other
// instances get them back within a second, not after their lease.
func TestBlocks_GiveBacksFailedInAnOutageReachRedisAfterIt(t *testing.T) {
	r := infra.StartRedis(t)
	link := proxy.Start(t, "redis", r.Addr())
	cfg := blockConfig(t, "redis://"+link.Listen+"/0", 2*testBlockSize)
	cfg.Lease = 4 * time.Second // a slot is stale (given back at release) with under the hold, half of it, left
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	g := open(t, cfg)
	raw := infra.RedisClient(t, r.URL()) // Redis itself, not through the proxy
	slot, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.NoError(t, err)
	leaseEnd := time.Now().Add(cfg.Lease) // no earlier than the block's lease in Redis
	require.EqualValues(t, testBlockSize, infra.ZCard(t, raw, cfg.Key), "one block leased")

	link.Stop() // Redis out of reach: connections cut, new ones refused
	time.Sleep(time.Until(leaseEnd.Add(-cfg.Lease/2)) + 100*time.Millisecond)
	err = g.Release(context.Background(), slot)
	require.ErrorIs(t, err, domain.ErrUnavailable, "a stale slot goes straight back to Redis, which is out of reach")
	assert.Positive(t, metricstest.Value(t, reg, "rps_gate_release_errors_total", ""))
	require.EqualValues(t, testBlockSize, infra.ZCard(t, raw, cfg.Key), "no give-back reached Redis")

	require.NoError(t, link.Start())
	back := time.Now()
	require.Eventually(t, func() bool { return infra.ZCard(t, raw, cfg.Key) == 0 },
		time.Second, 10*time.Millisecond, "the undoer gives the whole block back once Redis answers")
	t.Logf("block given back %s after Redis was reachable again, %s before its lease ended",
		time.Since(back).Round(time.Millisecond), time.Until(leaseEnd).Round(time.Millisecond))
	assert.Less(t, time.Now(), leaseEnd, "freed by the undoer, before the lease would have")
}
