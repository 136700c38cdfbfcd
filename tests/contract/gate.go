// Package contract holds one test suite per port, run against every adapter
// of that port, so the in-memory doubles can never drift from the real ones.
package contract

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// suiteCapacity is the original's test capacity.
const suiteCapacity = 5

// NewGate makes an empty gate of the given capacity, isolated from every
// other gate the suite makes, and cleans it up when the test ends.
type NewGate func(t *testing.T, capacity int) ports.ConcurrencyGate

// TestGate runs the original's gate tests (capacity 5) and the port's
// contract (idempotent acquire and release) against newGate.
func TestGate(t *testing.T, newGate NewGate) {
	ctx := context.Background()
	const capacity = suiteCapacity

	t.Run("one_acquire_holds_one_slot", func(t *testing.T) {
		g := newGate(t, capacity)
		acquire(t, g)
		assert.Equal(t, 1, held(t, g))
	})
	t.Run("sixth_acquire_is_refused_and_count_stays", func(t *testing.T) {
		g := newGate(t, capacity)
		for range capacity {
			acquire(t, g)
		}
		_, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
		require.ErrorIs(t, err, domain.ErrAtCapacity)
		assert.Equal(t, capacity, held(t, g))
	})
	t.Run("acquire_then_release_leaves_zero", func(t *testing.T) {
		g := newGate(t, capacity)
		require.NoError(t, g.Release(ctx, acquire(t, g)))
		assert.Equal(t, 0, held(t, g))
	})
	t.Run("release_on_empty_gate_never_goes_below_zero", func(t *testing.T) {
		g := newGate(t, capacity)
		require.NoError(t, g.Release(ctx, ports.Slot{ID: "never-acquired"}))
		assert.Equal(t, 0, held(t, g))
		for range capacity {
			acquire(t, g)
		}
		_, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
		require.ErrorIs(t, err, domain.ErrAtCapacity, "a stray release must not grow the capacity")
	})
	t.Run("ten_concurrent_acquires_five_succeed", func(t *testing.T) {
		g := newGate(t, capacity)
		var ok, full atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
				switch {
				case err == nil:
					ok.Add(1)
				case assert.ErrorIs(t, err, domain.ErrAtCapacity):
					full.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(capacity), ok.Load())
		assert.Equal(t, int32(10-capacity), full.Load())
		assert.Equal(t, capacity, held(t, g))
	})
	t.Run("acquire_is_idempotent_per_id", func(t *testing.T) {
		g := newGate(t, capacity)
		id := uuid.NewString()
		for range 3 {
			slot, err := g.Acquire(ctx, id, domain.Client{})
			require.NoError(t, err)
			assert.Equal(t, id, slot.ID)
		}
		assert.Equal(t, 1, held(t, g))
	})
	t.Run("release_twice_is_harmless_and_frees_only_that_slot", func(t *testing.T) {
		g := newGate(t, capacity)
		mine, other := acquire(t, g), acquire(t, g)
		require.NoError(t, g.Release(ctx, mine))
		require.NoError(t, g.Release(ctx, mine))
		assert.Equal(t, 1, held(t, g))
		require.NoError(t, g.Release(ctx, other))
		assert.Equal(t, 0, held(t, g))
	})
	t.Run("released_slot_can_be_taken_again", func(t *testing.T) {
		g := newGate(t, capacity)
		slots := make([]ports.Slot, capacity)
		for i := range slots {
			slots[i] = acquire(t, g)
		}
		require.NoError(t, g.Release(ctx, slots[0]))
		acquire(t, g)
		_, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
		require.ErrorIs(t, err, domain.ErrAtCapacity)
	})
	t.Run("concurrent_acquires_of_one_id_hold_one_slot", func(t *testing.T) {
		g := newGate(t, capacity)
		id := uuid.NewString()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := g.Acquire(ctx, id, domain.Client{})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, 1, held(t, g))
		require.NoError(t, g.Release(ctx, ports.Slot{ID: id}))
		assert.Equal(t, 0, held(t, g))
	})
	t.Run("full_gate_still_renews_a_held_id", func(t *testing.T) {
		g := newGate(t, capacity)
		first := acquire(t, g)
		for range capacity - 1 {
			acquire(t, g)
		}
		slot, err := g.Acquire(ctx, first.ID, domain.Client{})
		require.NoError(t, err, "a retried acquire of a held id is not refused")
		assert.Equal(t, first, slot)
	})
	t.Run("ready", func(t *testing.T) {
		require.NoError(t, newGate(t, capacity).Ready(ctx))
	})
}

func acquire(t *testing.T, g ports.ConcurrencyGate) ports.Slot {
	t.Helper()
	slot, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
	require.NoError(t, err)
	return slot
}

// held counts the slots held in a gate of the suite's capacity by filling it
// and releasing what it took: the port has no counter, and needs none.
func held(t *testing.T, g ports.ConcurrencyGate) int {
	t.Helper()
	ctx := context.Background()
	var probes []ports.Slot
	defer func() {
		for _, s := range probes {
			require.NoError(t, g.Release(ctx, s))
		}
	}()
	const capacity = suiteCapacity
	for i := range capacity + 1 {
		slot, err := g.Acquire(ctx, fmt.Sprintf("probe-%d-%s", i, uuid.NewString()), domain.Client{})
		if err != nil {
			require.ErrorIs(t, err, domain.ErrAtCapacity)
			break
		}
		probes = append(probes, slot)
	}
	return capacity - len(probes)
}
