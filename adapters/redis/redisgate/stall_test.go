package redisgate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// A Redis that stalls (SIGSTOP) while requests are in flight fails them on
// the command timeout; when it resumes it runs the acquire scripts that
// queued up meanwhile. The gate must undo those, or they hold slots nobody
// owns for a whole lease and every request gets 429.
// In block mode a stalled take is undone whole (every slot it may have
// taken).
func TestRedisStall_NoPhantomSlots(t *testing.T) {
	for _, m := range modes {
		for _, failOpen := range []bool{false, true} {
			name := m.name + "/" + map[bool]string{false: "fail_closed", true: "fail_open"}[failOpen]
			t.Run(name, func(t *testing.T) { stallNoPhantomSlots(t, m.config, failOpen) })
		}
	}
}

func stallNoPhantomSlots(t *testing.T, config func(testing.TB, string, int) gateConfig, failOpen bool) {
	const capacity = 20
	r := infra.StartRedis(t)
	cfg := config(t, r.URL(), capacity)
	cfg.Lease, cfg.FailOpen = 15*time.Second, failOpen
	g := open(t, cfg)
	raw := infra.RedisClient(t, r.URL())
	warm, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{}) // connections up
	require.NoError(t, err)
	require.NoError(t, g.Release(context.Background(), warm))
	// Block mode: the warm-up's block goes back once idle, so every
	// acquire below has to ask the stalled Redis.
	require.Eventually(t, func() bool { return infra.ZCard(t, raw, cfg.Key) == 0 }, time.Second, 5*time.Millisecond)

	r.Pause()
	var wg sync.WaitGroup
	errs := make(chan error, capacity)
	for range capacity {
		wg.Go(func() {
			slot, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
			if err == nil {
				err = g.Release(context.Background(), slot)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if failOpen {
			assert.NoError(t, err, "fail open admits while Redis is stalled")
		} else {
			assert.ErrorIs(t, err, domain.ErrUnavailable, "fail closed refuses while Redis is stalled")
		}
	}

	r.Resume()
	resumed := time.Now()
	// Redis runs the stalled connections' backlog in an order of its own: a
	// first ZCARD of 0 can come before a queued take adds its slots. The gate
	// is empty once ZCARD stays 0 for three undo retries (300 ms).
	var emptySince time.Time
	require.Eventually(t, func() bool {
		if infra.ZCard(t, raw, cfg.Key) != 0 {
			emptySince = time.Time{}
			return false
		}
		if emptySince.IsZero() {
			emptySince = time.Now()
		}
		return time.Since(emptySince) >= 300*time.Millisecond
	}, 5*time.Second, 10*time.Millisecond, "the acquires Redis ran after the stall are undone")
	took := emptySince.Sub(resumed)
	t.Logf("gate empty %s after Redis resumed", took.Round(time.Millisecond))
	assert.Less(t, took, time.Second, "capacity back within a second of Redis resuming")

	for range capacity {
		_, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
		require.NoError(t, err, "the whole capacity is free again")
	}
	assert.EqualValues(t, capacity, infra.ZCard(t, raw, cfg.Key))
}

// An acquire abandoned in a stall is undone, and its id marked undone for a
// lease. An acquire of that id again takes nothing, and says so (an id
// names one attempt): it is neither undone again, which would mark the id
// for another lease, nor taken for an outage.
func TestPerRequest_UndoneIDTakesNothingAndIsNotUndoneAgain(t *testing.T) {
	r := infra.StartRedis(t)
	cfg := config(t, r.URL(), 1)
	cfg.CommandTimeout = 200 * time.Millisecond
	g := open(t, cfg)
	raw := infra.RedisClient(t, r.URL())
	id := uuid.NewString()

	r.Pause()
	_, err := g.Acquire(context.Background(), id, domain.Client{})
	require.ErrorIs(t, err, domain.ErrUnavailable)
	r.Resume()
	var marked float64
	require.Eventually(t, func() bool {
		score, err := raw.Do(context.Background(), raw.B().Zscore().Key(cfg.Key+":undone").Member(id).Build()).AsFloat64()
		marked = score
		return err == nil
	}, 3*time.Second, 10*time.Millisecond, "the abandoned acquire is undone")
	require.Zero(t, infra.ZCard(t, raw, cfg.Key))

	time.Sleep(10 * time.Millisecond) // a second undo would mark it later than the first
	_, err = g.Acquire(context.Background(), id, domain.Client{})
	require.ErrorContains(t, err, "was undone")
	require.NotErrorIs(t, err, domain.ErrUnavailable, "Redis answered")
	time.Sleep(300 * time.Millisecond) // the undoer's retries, were one queued
	score, err := raw.Do(context.Background(), raw.B().Zscore().Key(cfg.Key+":undone").Member(id).Build()).AsFloat64()
	require.NoError(t, err)
	assert.Equal(t, marked, score, "not undone again")
	assert.Zero(t, infra.ZCard(t, raw, cfg.Key), "nothing taken")
	_, err = g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.NoError(t, err, "a new attempt's id takes the slot")
}
