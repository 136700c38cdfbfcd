package memgate_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestContract(t *testing.T) {
	contract.TestGate(t, func(t *testing.T, capacity int) ports.ConcurrencyGate {
		g, err := memgate.New(capacity, domain.SharePolicy{})
		require.NoError(t, err)
		return g
	})
}

func TestFairShareContract(t *testing.T) {
	contract.TestFairShare(t, func(t *testing.T, capacity int, policy domain.SharePolicy) ports.ConcurrencyGate {
		g, err := memgate.New(capacity, policy)
		require.NoError(t, err)
		return g
	})
}

func TestInUse(t *testing.T) {
	g, err := memgate.New(2, domain.SharePolicy{})
	require.NoError(t, err)
	slot, err := g.Acquire(context.Background(), "a", domain.Client{})
	require.NoError(t, err)
	assert.Equal(t, 1, g.InUse())
	require.NoError(t, g.Release(context.Background(), slot))
	assert.Equal(t, 0, g.InUse())
}

func TestAcquireHonoursCancelledContext(t *testing.T) {
	g, err := memgate.New(2, domain.SharePolicy{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.Acquire(ctx, "a", domain.Client{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestNewRefusesZeroCapacity(t *testing.T) {
	_, err := memgate.New(0, domain.SharePolicy{})
	require.EqualError(t, err, "memgate: capacity must be at least 1 (got 0)")
	_, err = memgate.New(-1, domain.SharePolicy{})
	require.Error(t, err)
}

// The smallest gate there is: one slot.
func TestCapacityOne(t *testing.T) {
	g, err := memgate.New(1, domain.SharePolicy{})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = g.Acquire(ctx, "a", domain.Client{})
	require.NoError(t, err)
	_, err = g.Acquire(ctx, "b", domain.Client{})
	require.ErrorIs(t, err, domain.ErrAtCapacity)
	assert.Equal(t, 1, g.InUse())
}

// BenchmarkGate measures acquire+release pairs with ~100 concurrent callers,
// the embedded mode's hot path.
func BenchmarkGate(b *testing.B) {
	g, err := memgate.New(1000, domain.SharePolicy{})
	require.NoError(b, err)
	ctx := context.Background()
	var next atomic.Uint64
	b.SetParallelism(max(1, 100/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			slot, err := g.Acquire(ctx, strconv.FormatUint(next.Add(1), 10), domain.Client{})
			if err != nil {
				b.Error(err)
				return
			}
			_ = g.Release(ctx, slot)
		}
	})
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// A client stops counting one window after its last request (or after its
// last slot is released, whichever is later); then the greedy client's share
// is the whole capacity again, and the gate forgets both: 10,000 clients
// leave nothing behind.
func TestActiveWindowEndsAndMemoryIsReturned(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	policy := domain.SharePolicy{Enabled: true, Headroom: 2, ActiveWindow: time.Second,
		Classes: map[string]domain.ClassLimits{domain.DefaultClass: {Weight: 1, Rate: 1000, Burst: 10}}}
	g, err := memgate.New(10, policy, memgate.WithClock(clock.Now))
	require.NoError(t, err)
	ctx := context.Background()
	greedy := domain.Client{Key: "greedy"}
	var slots []ports.Slot
	for i := range 8 {
		s, err := g.Acquire(ctx, "g"+strconv.Itoa(i), greedy)
		require.NoError(t, err)
		slots = append(slots, s)
	}
	polite, err := g.Acquire(ctx, "p", domain.Client{Key: "polite"})
	require.NoError(t, err)
	_, err = g.Acquire(ctx, "g8", greedy)
	var r *domain.Refusal
	require.ErrorAs(t, err, &r)
	assert.Equal(t, domain.LimitFairShare, r.Limit)

	require.NoError(t, g.Release(ctx, polite))
	clock.now = clock.now.Add(999 * time.Millisecond)
	_, err = g.Acquire(ctx, "g8", greedy)
	require.ErrorAs(t, err, &r, "polite still counts within its window")
	clock.now = clock.now.Add(2 * time.Millisecond)
	_, err = g.Acquire(ctx, "g8", greedy)
	require.NoError(t, err, "polite's window ended: greedy is alone again")

	for i := range 10_000 {
		s, err := g.Acquire(ctx, "many"+strconv.Itoa(i), domain.Client{Key: "client-" + strconv.Itoa(i)})
		if err == nil {
			require.NoError(t, g.Release(ctx, s))
		}
		clock.now = clock.now.Add(6 * time.Millisecond) // 10,000 clients over a minute
	}
	for _, s := range slots {
		require.NoError(t, g.Release(ctx, s))
	}
	require.NoError(t, g.Release(ctx, ports.Slot{ID: "g8"}))
	assert.LessOrEqual(t, g.Clients(), 200, "only the last window's clients are remembered")
	clock.now = clock.now.Add(time.Second)
	assert.Zero(t, g.Clients(), "every client forgotten a window after its last request")
	assert.Zero(t, g.InUse())
}
