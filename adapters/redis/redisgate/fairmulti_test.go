package redisgate_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// sharePolicy is the tests' policy: one class of weight 1, the headroom given.
func sharePolicy(headroom int) domain.SharePolicy {
	return domain.SharePolicy{
		Enabled: true, Headroom: headroom, ActiveWindow: time.Second,
		Classes: map[string]domain.ClassLimits{domain.DefaultClass: {Weight: 1}},
	}
}

// One greedy client hammering three instances (unpaced: it tries again 1 ms
// after a 429) and four polite ones, each one request at a time, round
// robin over the instances, as a balancer spreads them: the polite clients
// get at least 99 % of their requests, the greedy one keeps the gate busy
// (the polite clients hold the headroom, so it is not idle), and the cap
// holds. Small sizes; the figures are the bench's.
func TestFairShare_GreedyAndPoliteOnThreeInstances(t *testing.T) {
	url := redisURL(t)
	const (
		capacity, headroom = 20, 4
		greedyCallers      = 30
		politeClients      = 4
		run                = 2 * time.Second
		hold               = 5 * time.Millisecond
	)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.config(t, url, capacity)
			cfg.Share = sharePolicy(headroom)
			var gates [3]gate
			for i := range gates {
				cfg.Registerer = prometheus.NewRegistry()
				gates[i] = open(t, cfg)
			}
			raw := infra.RedisClient(t, url)
			var maxZcard, samples, sumZcard, greedyOK, greedyRefused, politeOK, politeRefused atomic.Int64
			stop := time.Now().Add(run)
			var wg sync.WaitGroup
			wg.Go(func() {
				for time.Now().Before(stop) {
					n := infra.ZCard(t, raw, cfg.Key)
					for old := maxZcard.Load(); n > old && !maxZcard.CompareAndSwap(old, n); old = maxZcard.Load() {
					}
					samples.Add(1)
					sumZcard.Add(n)
					time.Sleep(5 * time.Millisecond)
				}
			})
			client := func(who domain.Client, n int, ok, refused *atomic.Int64, backoff time.Duration) {
				ctx := context.Background()
				for i := n; time.Now().Before(stop); i++ {
					g := gates[i%len(gates)]
					slot, err := g.Acquire(ctx, uuid.NewString(), who)
					if errors.Is(err, domain.ErrAtCapacity) {
						refused.Add(1)
						time.Sleep(backoff)
						continue
					}
					if !assert.NoError(t, err) {
						return
					}
					ok.Add(1)
					time.Sleep(hold)
					assert.NoError(t, g.Release(ctx, slot))
				}
			}
			for i := range greedyCallers {
				wg.Go(func() { client(domain.Client{Key: "greedy"}, i, &greedyOK, &greedyRefused, time.Millisecond) })
			}
			time.Sleep(100 * time.Millisecond) // the greedy client has the gate when the others arrive
			for i := range politeClients {
				wg.Go(func() {
					client(domain.Client{Key: "polite-" + strconv.Itoa(i)}, i, &politeOK, &politeRefused, hold)
				})
			}
			wg.Wait()
			polite := float64(politeOK.Load()) / float64(politeOK.Load()+politeRefused.Load())
			used := float64(sumZcard.Load()) / float64(samples.Load()) / capacity
			t.Logf("polite admitted %d, refused %d (%.2f %% admitted); greedy admitted %d, refused %d; slots held %.0f %% on average, at most %d",
				politeOK.Load(), politeRefused.Load(), 100*polite, greedyOK.Load(), greedyRefused.Load(), 100*used, maxZcard.Load())
			assert.GreaterOrEqual(t, polite, 0.99, "the polite clients get their share")
			assert.LessOrEqual(t, maxZcard.Load(), int64(capacity), "never more than the capacity held")
			assert.GreaterOrEqual(t, used, 0.85, "the greedy client keeps the gate busy: the polite clients hold the headroom, so it is not kept idle")
			assert.Greater(t, greedyOK.Load(), 10*politeOK.Load()/politeClients, "the greedy client gets the rest")
		})
	}
}

// 10,000 distinct clients, each one request, leave nothing behind once
// their window ends: no count, no owner, no active client, no rate; the
// keys left expire with the last lease.
func TestFairShare_TenThousandClientsLeaveNothingBehind(t *testing.T) {
	url := redisURL(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.config(t, url, 50)
			cfg.Share = sharePolicy(2)
			cfg.Share.ActiveWindow = time.Second // the checks after the last acquire must fit in it on a loaded machine
			cfg.Share.Classes["paced"] = domain.ClassLimits{Weight: 1, Rate: 100, Burst: 1}
			g := open(t, cfg)
			ctx := context.Background()
			var wg sync.WaitGroup
			var admitted atomic.Int64
			for w := range 20 {
				wg.Go(func() {
					for i := w; i < 10_000; i += 20 {
						who := domain.Client{Key: "client-" + strconv.Itoa(i)}
						if i%2 == 0 {
							who.Class = "paced"
						}
						slot, err := g.Acquire(ctx, uuid.NewString(), who)
						if errors.Is(err, domain.ErrAtCapacity) {
							continue
						}
						if assert.NoError(t, err) {
							admitted.Add(1)
							assert.NoError(t, g.Release(ctx, slot))
						}
					}
				})
			}
			wg.Wait()
			assert.Greater(t, admitted.Load(), int64(9_000))
			raw := infra.RedisClient(t, url)
			time.Sleep(cfg.Share.ActiveWindow + 50*time.Millisecond)
			last, err := g.Acquire(ctx, uuid.NewString(), domain.Client{Key: "last"}) // prunes what ended
			require.NoError(t, err)
			require.NoError(t, g.Release(ctx, last))
			time.Sleep(5 * testBlockIdle) // block mode reports the clients it served at its next sync

			fields, err := raw.Do(ctx, raw.B().Hgetall().Key(cfg.Key+":share").Build()).AsStrMap()
			require.NoError(t, err)
			assert.Empty(t, fields, "no count or owner left")
			levels, err := raw.Do(ctx, raw.B().Hgetall().Key(cfg.Key+":levels").Build()).AsStrMap()
			require.NoError(t, err)
			assert.Empty(t, levels, "no level left")
			weight, err := raw.Do(ctx, raw.B().Get().Key(cfg.Key+":weight").Build()).ToString()
			require.NoError(t, err)
			assert.Equal(t, "1", weight, "only the last client counts")
			active, err := raw.Do(ctx, raw.B().Zrange().Key(cfg.Key+":clients").Min("0").Max("-1").Build()).AsStrSlice()
			require.NoError(t, err)
			assert.Equal(t, []string{"1|last"}, active)
			for _, key := range []string{cfg.Key + ":clients", cfg.Key + ":weight"} {
				ttl, err := raw.Do(ctx, raw.B().Pttl().Key(key).Build()).AsInt64()
				require.NoError(t, err)
				assert.Positive(t, ttl, "%s expires", key)
				assert.LessOrEqual(t, ttl, max(cfg.Lease, cfg.Share.ActiveWindow).Milliseconds(), "%s expires with the last lease", key)
			}
			assert.Empty(t, scanKeys(t, raw, cfg.Key+":rate:*"), "the rates expire with their tat (10 ms after each request)")
		})
	}
}

func scanKeys(t *testing.T, raw rueidis.Client, match string) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		entry, err := raw.Do(context.Background(), raw.B().Scan().Cursor(cursor).Match(match).Count(1000).Build()).AsScanEntry()
		require.NoError(t, err)
		keys = append(keys, entry.Elements...)
		if cursor = entry.Cursor; cursor == 0 {
			return keys
		}
	}
}

// A holder that dies without releasing stops counting against its client
// when its leases end: the pruning that frees the slots takes the counts
// too, so the client is below its share again.
func TestFairShare_CrashedHoldersCountsEndWithTheirLeases(t *testing.T) {
	url := redisURL(t)
	cfg := config(t, url, 10)
	cfg.Lease = 400 * time.Millisecond
	cfg.Share = sharePolicy(2)
	crashed := openUnclosed(t, cfg)
	ctx := context.Background()
	for range 8 {
		_, err := crashed.Acquire(ctx, uuid.NewString(), domain.Client{Key: "a"})
		require.NoError(t, err)
	}
	crashed.Close() // dies mid-hold

	raw := infra.RedisClient(t, url)
	count := func() string {
		v, err := raw.Do(ctx, raw.B().Hget().Key(cfg.Key+":share").Field("c:a").Build()).ToString()
		if rueidis.IsRedisNil(err) {
			return ""
		}
		require.NoError(t, err)
		return v
	}
	assert.Equal(t, "8", count())
	cfg.Registerer = prometheus.NewRegistry()
	survivor := open(t, cfg)
	time.Sleep(cfg.Lease + 50*time.Millisecond)
	_, err := survivor.Acquire(ctx, uuid.NewString(), domain.Client{Key: "b"})
	require.NoError(t, err)
	assert.Empty(t, count(), fmt.Sprintf("the crashed holder's %d slots count against nobody", 8))
	levels, err := raw.Do(ctx, raw.B().Hgetall().Key(cfg.Key+":levels").Build()).AsStrMap()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"1:1": "1"}, levels, "one client holds one slot: the survivor's, not the crashed holder's")
}

// An instance of an earlier version (a rolling upgrade) frees slots without
// moving their clients' levels. The next move of a client here sets its
// level from its count again, and a client that stopped holding leaves its
// level when its window ends (while others keep asking): the levels do not
// drift for long.
func TestFairShare_LevelsFollowTheCountsAnEarlierVersionChanged(t *testing.T) {
	url := redisURL(t)
	cfg := config(t, url, 10)
	cfg.Share = sharePolicy(2)
	cfg.Share.ActiveWindow = 300 * time.Millisecond
	g := open(t, cfg)
	raw := infra.RedisClient(t, url)
	ctx := context.Background()
	earlierRelease := func(slot ports.Slot, client string) { // release.lua before the levels
		require.NoError(t, raw.Do(ctx, raw.B().Zrem().Key(cfg.Key).Member(slot.ID).Build()).Error())
		require.NoError(t, raw.Do(ctx, raw.B().Hdel().Key(cfg.Key+":share").Field("m:"+slot.ID).Build()).Error())
		n, err := raw.Do(ctx, raw.B().Hincrby().Key(cfg.Key+":share").Field("c:"+client).Increment(-1).Build()).AsInt64()
		require.NoError(t, err)
		if n == 0 {
			require.NoError(t, raw.Do(ctx, raw.B().Hdel().Key(cfg.Key+":share").Field("c:"+client).Build()).Error())
		}
	}
	levels := func() map[string]string {
		m, err := raw.Do(ctx, raw.B().Hgetall().Key(cfg.Key+":levels").Build()).AsStrMap()
		require.NoError(t, err)
		return m
	}
	take := func(client string, n int) []ports.Slot {
		var slots []ports.Slot
		for range n {
			slot, err := g.Acquire(ctx, uuid.NewString(), domain.Client{Key: client})
			require.NoError(t, err)
			slots = append(slots, slot)
		}
		return slots
	}
	a := take("a", 3)
	require.Equal(t, map[string]string{"1:3": "1"}, levels())
	earlierRelease(a[0], "a")
	require.NoError(t, g.Release(ctx, a[1]))
	assert.Equal(t, map[string]string{"1:1": "1"}, levels(), "a holds one slot, whoever freed the others")

	earlierRelease(a[2], "a")
	assert.Equal(t, map[string]string{"1:1": "1"}, levels(), "stale until a's window ends")
	time.Sleep(cfg.Share.ActiveWindow / 2)
	c := take("c", 1) // others keep asking meanwhile, as traffic does
	require.NoError(t, g.Release(ctx, c[0]))
	time.Sleep(cfg.Share.ActiveWindow/2 + 50*time.Millisecond)
	take("b", 2) // prunes the clients whose window ended
	assert.Equal(t, map[string]string{"1:2": "1"}, levels(), "b's slots; a left its level with its window")
	share, err := raw.Do(ctx, raw.B().Hget().Key(cfg.Key+":share").Field("t:a").Build()).ToString()
	assert.True(t, rueidis.IsRedisNil(err), "no level entry left for a (got %q, %v)", share, err)
}
