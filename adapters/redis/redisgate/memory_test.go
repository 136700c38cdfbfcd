package redisgate_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// countingClient counts the commands a gate sends, scripts included
// (rueidis runs a script with Do).
type countingClient struct {
	rueidis.Client
	calls atomic.Int64
}

func (c *countingClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	c.calls.Add(1)
	return c.Client.Do(ctx, cmd)
}

func (c *countingClient) DoMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	c.calls.Add(int64(len(cmds)))
	return c.Client.DoMulti(ctx, cmds...)
}

// openCounted is a block gate from cfg on a client that counts its calls.
func openCounted(t *testing.T, cfg gateConfig) (*redisgate.BlockGate, *countingClient, *prometheus.Registry) {
	t.Helper()
	client := &countingClient{Client: infra.AdapterClient(t, cfg.URL, func(c *redisclient.Config) { c.CommandTimeout = cfg.CommandTimeout })}
	reg := prometheus.NewRegistry()
	cfg.Registerer, cfg.Hold = reg, cfg.Lease/2
	g, err := redisgate.NewBlockGate(context.Background(), client, redisgate.BlockConfig{Config: cfg.Config, Size: cfg.BlockSize, Idle: cfg.BlockIdle})
	require.NoError(t, err)
	t.Cleanup(g.Close)
	return g, client, reg
}

// A flood on a full gate: after Redis said full, the refusals that follow
// within a sync interval make no call; a slot freed elsewhere is found once
// the interval is over; the cap holds throughout.
func TestBlocks_FloodOfRefusalsCostsRedisNothing(t *testing.T) {
	url := redisURL(t)
	cfg := blockConfig(t, url, 4)
	cfg.BlockIdle = 200 * time.Millisecond // long enough to count the calls in one interval on a slow machine
	flooded, calls, reg := openCounted(t, cfg)
	other := open(t, cfg)
	ctx := context.Background()

	var held []ports.Slot
	for i := range 4 {
		s, err := other.Acquire(ctx, fmt.Sprint("other-", i), domain.Client{})
		require.NoError(t, err)
		held = append(held, s)
	}
	start := time.Now()
	_, err := flooded.Acquire(ctx, "first", domain.Client{})
	require.ErrorIs(t, err, domain.ErrAtCapacity, "Redis refuses: the other instance holds every slot")
	before := calls.calls.Load()
	refused := 0
	for i := 0; time.Since(start) < cfg.BlockIdle/2 && i < 10_000; i++ {
		_, err := flooded.Acquire(ctx, fmt.Sprint("flood-", i), domain.Client{})
		require.ErrorIs(t, err, domain.ErrAtCapacity)
		refused++
	}
	require.Less(t, time.Since(start), cfg.BlockIdle, "the flood ran within one interval")
	assert.Greater(t, refused, 100)
	assert.Zero(t, calls.calls.Load()-before, "%d refusals within the interval after Redis said full: no Redis call", refused)
	assert.InDelta(t, refused, metricstest.Value(t, reg, "rps_gate_refusals_recalled_total", ""), 0)

	require.NoError(t, other.Release(ctx, held[0]))
	require.Eventually(t, func() bool {
		s, err := flooded.Acquire(ctx, "after-"+time.Now().String(), domain.Client{})
		if err == nil {
			held = append(held, s)
		}
		return err == nil
	}, 3*cfg.BlockIdle, 5*time.Millisecond, "a slot freed by another instance is taken within the interval")

	_, err = other.Acquire(ctx, "over", domain.Client{})
	require.ErrorIs(t, err, domain.ErrAtCapacity, "still 4 held: the cap holds")
}

// A slot this instance frees in Redis lets the next acquire ask at once,
// without waiting out the interval.
func TestBlocks_ASlotFreedHereIsTakenAtOnce(t *testing.T) {
	url := redisURL(t)
	cfg := blockConfig(t, url, 2)
	cfg.BlockIdle = time.Second
	cfg.Share = sharePolicy(0)
	g, _, _ := openCounted(t, cfg)
	ctx := context.Background()
	greedy, polite := domain.Client{Key: "greedy"}, domain.Client{Key: "polite"}

	a, err := g.Acquire(ctx, "a", greedy)
	require.NoError(t, err)
	_, err = g.Acquire(ctx, "b", polite)
	require.NoError(t, err)
	_, err = g.Acquire(ctx, "c", greedy)
	var r *domain.Refusal
	require.True(t, errors.As(err, &r), "gate full: %v", err)
	_, err = g.Acquire(ctx, "d", greedy)
	require.ErrorIs(t, err, domain.ErrAtCapacity, "refused again, from memory")

	require.NoError(t, g.Release(ctx, a))
	_, err = g.Acquire(ctx, "e", greedy)
	require.NoError(t, err, "the slot freed here is taken at once, not a second later")
}

// A fair-share refusal is not remembered: it depends on what the client
// holds, which its requests free on every instance, so the next acquire
// asks Redis and gets a slot the client freed elsewhere at once. (Kept for
// a span, such refusals idled ~2 % of the slots of a flooded gate.)
func TestBlocks_AFairShareRefusalIsNotRemembered(t *testing.T) {
	url := redisURL(t)
	cfg := blockConfig(t, url, 4)
	cfg.BlockIdle = 200 * time.Millisecond
	cfg.Share = sharePolicy(1)
	here, _, _ := openCounted(t, cfg)
	cfg.BlockSize, cfg.Registerer = 1, prometheus.NewRegistry()
	elsewhere := open(t, cfg) // per request: every acquire in fair.lua
	ctx := context.Background()
	greedy, polite := domain.Client{Key: "greedy"}, domain.Client{Key: "polite"}

	var held []ports.Slot
	for i := range 4 {
		s, err := elsewhere.Acquire(ctx, fmt.Sprint("g-", i), greedy)
		require.NoError(t, err)
		held = append(held, s)
	}
	_, err := here.Acquire(ctx, "p", polite)
	require.ErrorIs(t, err, domain.ErrAtCapacity, "full: the polite client is active from now on")
	require.Eventually(t, func() bool { // a sync tells Redis of it and of the contention
		require.NoError(t, elsewhere.Release(ctx, held[0]))
		s, err := elsewhere.Acquire(ctx, "g-again-"+time.Now().String(), greedy)
		if err == nil {
			held[0] = s
		}
		return err != nil
	}, 3*time.Second, cfg.BlockIdle/4, "the greedy client is held to its share")
	held = held[1:]

	_, err = here.Acquire(ctx, "g-here-1", greedy)
	var r *domain.Refusal
	require.True(t, errors.As(err, &r), "over its share of 2 with 1 free: %v", err)
	require.Equal(t, domain.LimitFairShare, r.Limit)
	require.NoError(t, elsewhere.Release(ctx, held[0])) // 2 free now: one beyond the headroom
	_, err = here.Acquire(ctx, "g-here-2", greedy)
	require.NoError(t, err, "the slot the greedy client freed elsewhere is taken here at once")
}
