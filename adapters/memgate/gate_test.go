package memgate_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestContract(t *testing.T) {
	contract.TestGate(t, func(t *testing.T, capacity int) ports.ConcurrencyGate {
		g, err := memgate.New(capacity)
		require.NoError(t, err)
		return g
	})
}

func TestInUse(t *testing.T) {
	g, err := memgate.New(2)
	require.NoError(t, err)
	slot, err := g.Acquire(context.Background(), "a", domain.Client{})
	require.NoError(t, err)
	assert.Equal(t, 1, g.InUse())
	require.NoError(t, g.Release(context.Background(), slot))
	assert.Equal(t, 0, g.InUse())
}

func TestAcquireHonoursCancelledContext(t *testing.T) {
	g, err := memgate.New(2)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.Acquire(ctx, "a", domain.Client{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestNewRefusesZeroCapacity(t *testing.T) {
	_, err := memgate.New(0)
	require.EqualError(t, err, "memgate: capacity must be at least 1 (got 0)")
	_, err = memgate.New(-1)
	require.Error(t, err)
}

// The smallest gate there is: one slot.
func TestCapacityOne(t *testing.T) {
	g, err := memgate.New(1)
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
	g, err := memgate.New(1000)
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
