package contract

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// NewFairGate makes an empty gate of capacity that shares it by policy,
// isolated like NewGate's.
type NewFairGate func(t *testing.T, capacity int, policy domain.SharePolicy) ports.ConcurrencyGate

// Classes of the suite's policy.
const (
	classHeavy    = "heavy"    // weight 2
	classCapped   = "capped"   // ceiling 2
	classCritical = "critical" // may take the critical reserve
	classPaced    = "paced"    // 20 requests a second, 2 at once
)

// fairPolicy is the suite's policy: headroom and reserve as given.
func fairPolicy(headroom, reserve int) domain.SharePolicy {
	return domain.SharePolicy{
		Enabled: true, Headroom: headroom, CriticalReserve: reserve,
		Classes: map[string]domain.ClassLimits{
			domain.DefaultClass: {Weight: 1},
			classHeavy:          {Weight: 2},
			classCapped:         {Weight: 1, Ceiling: 2},
			classCritical:       {Weight: 1, Critical: true},
			classPaced:          {Weight: 1, Rate: 20, Burst: 2},
		},
	}
}

// TestFairShare runs the fair share's contract (domain.SharePolicy.Admit)
// against newGate: every gate, in memory or in Redis, in either mode, must
// answer these alike. Each case makes the gate contended first (a second
// client refused at a full gate), as a block-mode gate only shares once it
// knows of a refusal.
func TestFairShare(t *testing.T, newGate NewFairGate) {
	greedy, polite := domain.Client{Key: "greedy"}, domain.Client{Key: "polite"}

	t.Run("lone_client_gets_the_whole_capacity", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		take(t, g, greedy, 10)
		refusedBy(t, g, greedy, domain.LimitCapacity)
	})
	t.Run("greedy_over_its_share_keeps_the_headroom_for_others", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		slots := take(t, g, greedy, 10)
		refusedBy(t, g, polite, domain.LimitCapacity) // polite is active from now on
		release(t, g, slots[:3]...)
		take(t, g, greedy, 1) // 3 free > headroom: a client over its share still gets them
		r := refusedBy(t, g, greedy, domain.LimitFairShare)
		assert.Equal(t, domain.Quota{Limit: 5}, r.Quota, "half the capacity: two clients active")
		take(t, g, polite, 2) // below its share of 5: the headroom is its
		refusedBy(t, g, polite, domain.LimitCapacity)
	})
	t.Run("headroom_the_others_hold_already_is_not_kept_idle", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		slots := take(t, g, greedy, 10)
		refusedBy(t, g, polite, domain.LimitCapacity)
		release(t, g, slots[:4]...)
		mine := take(t, g, polite, 2) // below its share of 5, it holds the headroom's worth
		take(t, g, greedy, 2)         // so the last free slots are not kept for it
		refusedBy(t, g, greedy, domain.LimitCapacity)
		release(t, g, mine[0])
		refusedBy(t, g, greedy, domain.LimitFairShare) // the slot it gave back is headroom again
		take(t, g, polite, 1)
	})
	t.Run("weight_two_gets_twice_the_share", func(t *testing.T) {
		g := newGate(t, 12, fairPolicy(2, 0))
		heavy := domain.Client{Key: "heavy", Class: classHeavy}
		slots := take(t, g, heavy, 12)
		refusedBy(t, g, polite, domain.LimitCapacity)
		release(t, g, slots[:3]...)
		take(t, g, heavy, 1)
		r := refusedBy(t, g, heavy, domain.LimitFairShare)
		assert.Equal(t, domain.Quota{Limit: 8}, r.Quota, "12 × 2 ÷ (2 + 1)")
		take(t, g, polite, 2)
	})
	t.Run("ceiling_caps_a_client_even_when_alone", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		capped := domain.Client{Key: "capped", Class: classCapped}
		slots := take(t, g, capped, 2)
		r := refusedBy(t, g, capped, domain.LimitCeiling)
		assert.Equal(t, domain.Quota{Limit: 2}, r.Quota)
		take(t, g, polite, 1)
		release(t, g, slots[0])
		take(t, g, capped, 1)
	})
	t.Run("critical_reserve_is_for_critical_clients_only", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(0, 3))
		critical := domain.Client{Key: "critical", Class: classCritical}
		take(t, g, greedy, 7)
		refusedBy(t, g, greedy, domain.LimitCapacity)
		refusedBy(t, g, polite, domain.LimitCapacity)
		take(t, g, critical, 3)
		refusedBy(t, g, critical, domain.LimitCapacity)
	})
	t.Run("rate_limit_refuses_with_an_exact_retry_after", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		paced := domain.Client{Key: "paced", Class: classPaced}
		release(t, g, take(t, g, paced, 2)...)
		r := refusedBy(t, g, paced, domain.LimitRate)
		assert.Equal(t, domain.Quota{Limit: 20, Window: time.Second}, r.Quota, "20 a second")
		require.Positive(t, r.RetryAfter)
		require.LessOrEqual(t, r.RetryAfter, 50*time.Millisecond, "one request comes back every 50ms")
		take(t, g, polite, 1) // the rate is the paced client's alone
		time.Sleep(r.RetryAfter)
		take(t, g, paced, 1)
	})
	t.Run("acquire_is_idempotent_per_id_under_the_share", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		capped := domain.Client{Key: "capped", Class: classCapped}
		id := uuid.NewString()
		for range 3 {
			slot, err := g.Acquire(context.Background(), id, capped)
			require.NoError(t, err)
			assert.Equal(t, id, slot.ID)
		}
		take(t, g, capped, 1) // the renewals held one slot, so the ceiling of 2 leaves one
		refusedBy(t, g, capped, domain.LimitCeiling)
	})
	t.Run("concurrent_acquires_never_pass_the_ceiling", func(t *testing.T) {
		g := newGate(t, 10, fairPolicy(2, 0))
		capped := domain.Client{Key: "capped", Class: classCapped}
		var ok, refusals atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := g.Acquire(context.Background(), uuid.NewString(), capped)
				var r *domain.Refusal
				switch {
				case err == nil:
					ok.Add(1)
				case assert.ErrorAs(t, err, &r) && assert.Equal(t, domain.LimitCeiling, r.Limit):
					refusals.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(2), ok.Load())
		assert.Equal(t, int32(8), refusals.Load())
	})
	t.Run("disabled_policy_caps_the_total_only", func(t *testing.T) {
		policy := fairPolicy(2, 3)
		policy.Enabled = false
		g := newGate(t, 5, policy)
		capped := domain.Client{Key: "capped", Class: classCapped}
		take(t, g, capped, 5)
		_, err := g.Acquire(context.Background(), uuid.NewString(), polite)
		require.ErrorIs(t, err, domain.ErrAtCapacity)
	})
}

// take acquires n slots for client, each of which must be granted.
func take(t *testing.T, g ports.ConcurrencyGate, client domain.Client, n int) []ports.Slot {
	t.Helper()
	slots := make([]ports.Slot, n)
	for i := range slots {
		var err error
		slots[i], err = g.Acquire(context.Background(), uuid.NewString(), client)
		require.NoError(t, err, "%s's acquire %d of %d", client.Key, i+1, n)
	}
	return slots
}

// refused is what a refusal told: its quota and when to try again.
type refused struct {
	Quota      domain.Quota
	RetryAfter time.Duration
}

// refusedBy asks for a slot for client and requires the refusal of limit.
func refusedBy(t *testing.T, g ports.ConcurrencyGate, client domain.Client, limit domain.Limit) refused {
	t.Helper()
	_, err := g.Acquire(context.Background(), uuid.NewString(), client)
	require.ErrorIs(t, err, domain.ErrAtCapacity)
	var r *domain.Refusal
	require.True(t, errors.As(err, &r), "a *domain.Refusal: %v", err)
	require.Equal(t, limit, r.Limit, "%s refused by", client.Key)
	return refused{Quota: r.Quota, RetryAfter: r.RetryAfter}
}

func release(t *testing.T, g ports.ConcurrencyGate, slots ...ports.Slot) {
	t.Helper()
	for _, s := range slots {
		require.NoError(t, g.Release(context.Background(), s))
	}
}
