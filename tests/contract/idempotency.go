package contract

import (
	"context"
	"strings"
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

// NewIdempotencyStore makes an empty store whose keys live for ttl, isolated
// from every other store the suite makes.
type NewIdempotencyStore func(t *testing.T, ttl time.Duration) ports.IdempotencyStore

// claim is a fresh request's claim: its own task id and token.
func claim(fingerprint string, lease time.Duration) ports.Claim {
	return ports.Claim{Fingerprint: fingerprint, TaskID: uuid.NewString(), Token: uuid.NewString(), Lease: lease}
}

// TestIdempotencyStore runs the IdempotencyStore contract against newStore.
func TestIdempotencyStore(t *testing.T, newStore NewIdempotencyStore) {
	ctx := context.Background()
	begin := func(t *testing.T, s ports.IdempotencyStore, key string, c ports.Claim) ports.Entry {
		t.Helper()
		e, err := s.Begin(ctx, key, c)
		require.NoError(t, err)
		return e
	}
	// claimAfterLapse begins key with c until a run claims it (once the
	// holder's lease or the key's TTL passed), and returns that run's entry.
	claimAfterLapse := func(t *testing.T, s ports.IdempotencyStore, key string, c ports.Claim) ports.Entry {
		t.Helper()
		var e ports.Entry
		require.Eventually(t, func() bool {
			e = begin(t, s, key, c)
			return e.State == ports.Claimed
		}, 2*time.Second, 10*time.Millisecond)
		return e
	}
	gift := domain.Outcome{RequestID: "req-1", Kind: domain.KindGiftCode, Value: "GIFT-1"}

	t.Run("a_new_key_is_claimed_as_the_claims_task", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		c := claim("fp", time.Minute)
		e := begin(t, s, key, c)
		assert.Equal(t, ports.Claimed, e.State)
		assert.Equal(t, c.TaskID, e.TaskID)
		assert.WithinDuration(t, time.Now().Add(time.Minute), e.Expires, 5*time.Second)
	})
	t.Run("a_completed_key_replays_its_outcome", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		e := begin(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Complete(ctx, key, e, gift))
		again := begin(t, s, key, claim("fp", time.Minute))
		require.Equal(t, ports.Done, again.State)
		want := gift
		want.Replayed = true
		assert.Equal(t, want, again.Outcome)
	})
	t.Run("a_held_key_is_in_flight_for_others", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", time.Minute))
		e := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, ports.InFlight, e.State)
		assert.Equal(t, first.TaskID, e.TaskID)
	})
	t.Run("an_abandoned_key_runs_again_as_the_same_task", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Abandon(ctx, key, first))
		e := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, ports.Claimed, e.State)
		assert.Equal(t, first.TaskID, e.TaskID, "a re-run must ask for the same task")
	})
	t.Run("a_forgotten_new_key_leaves_nothing", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Forget(ctx, key, first))
		c := claim("other", time.Minute) // even another request may use it now
		e := begin(t, s, key, c)
		assert.Equal(t, ports.Claimed, e.State)
		assert.Equal(t, c.TaskID, e.TaskID, "a forgotten key is new again")
	})
	t.Run("forget_keeps_the_task_an_earlier_run_may_have_sent", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Abandon(ctx, key, first))
		second := begin(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Forget(ctx, key, second))
		e := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, ports.Claimed, e.State)
		assert.Equal(t, first.TaskID, e.TaskID, "a re-run must ask for the same task")
	})
	t.Run("forget_keeps_the_task_of_a_dead_holder", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", 50*time.Millisecond))
		second := claimAfterLapse(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Forget(ctx, key, first), "the lapsed holder no longer holds it")
		assert.Equal(t, ports.InFlight, begin(t, s, key, claim("fp", time.Minute)).State)
		require.NoError(t, s.Forget(ctx, key, second))
		e := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, first.TaskID, e.TaskID, "the dead holder may have sent its task")
	})
	t.Run("a_lapsed_new_holder_forgets_only_its_own", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", 10*time.Millisecond))
		time.Sleep(30 * time.Millisecond) // its lease passed; nobody claimed the key since
		require.NoError(t, s.Forget(ctx, key, first))
		c := claim("fp", time.Minute)
		assert.Equal(t, c.TaskID, begin(t, s, key, c).TaskID, "no other run could have sent a task")
	})
	t.Run("what_a_key_may_cost_is_bounded", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		big := claim(strings.Repeat("f", ports.MaxClaimField+1), time.Minute)
		_, err := s.Begin(ctx, key, big)
		require.Error(t, err, "a claim over the bounds is refused")
		first := begin(t, s, key, claim("fp", time.Minute))
		huge := gift
		huge.Value = strings.Repeat("G", ports.MaxOutcomeBytes)
		require.Error(t, s.Complete(ctx, key, first, huge), "an outcome over the bounds is not stored")
		e := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, ports.Claimed, e.State, "the key is left as Abandon leaves it")
		assert.Equal(t, first.TaskID, e.TaskID)
	})
	t.Run("another_fingerprint_is_refused_and_changes_nothing", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, ports.Reused, begin(t, s, key, claim("other", time.Minute)).State)
		require.NoError(t, s.Complete(ctx, key, first, gift))
		assert.Equal(t, ports.Reused, begin(t, s, key, claim("other", time.Minute)).State)
		assert.Equal(t, ports.Done, begin(t, s, key, claim("fp", time.Minute)).State)
	})
	t.Run("a_dead_holders_key_is_claimed_after_its_lease", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", 50*time.Millisecond))
		e := claimAfterLapse(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, first.TaskID, e.TaskID)
		// The lapsed holder can no longer free the new run's claim.
		require.NoError(t, s.Abandon(ctx, key, first))
		assert.Equal(t, ports.InFlight, begin(t, s, key, claim("fp", time.Minute)).State)
	})
	t.Run("the_first_outcome_wins", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		first := begin(t, s, key, claim("fp", 50*time.Millisecond))
		second := claimAfterLapse(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Complete(ctx, key, second, gift))
		late := gift
		late.Value, late.RequestID = "GIFT-2", "req-2"
		require.NoError(t, s.Complete(ctx, key, first, late))
		e := begin(t, s, key, claim("fp", time.Minute))
		assert.Equal(t, "GIFT-1", e.Outcome.Value)
		assert.Equal(t, "req-1", e.Outcome.RequestID)
	})
	t.Run("an_expired_key_is_new_again", func(t *testing.T) {
		s, key := newStore(t, 100*time.Millisecond), uuid.NewString()
		first := begin(t, s, key, claim("fp", time.Minute))
		require.NoError(t, s.Complete(ctx, key, first, gift))
		c := claim("other", time.Minute) // even another request may use it now
		e := claimAfterLapse(t, s, key, c)
		assert.Equal(t, c.TaskID, e.TaskID, "an expired key's task is forgotten with it")
	})
	t.Run("concurrent_begins_claim_once", func(t *testing.T) {
		s, key := newStore(t, time.Minute), uuid.NewString()
		var claimed, inFlight atomic.Int32
		tasks := sync.Map{}
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				e, err := s.Begin(ctx, key, claim("fp", time.Minute))
				if !assert.NoError(t, err) {
					return
				}
				tasks.Store(e.TaskID, true)
				switch e.State {
				case ports.Claimed:
					claimed.Add(1)
				case ports.InFlight:
					inFlight.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), claimed.Load())
		assert.Equal(t, int32(49), inFlight.Load())
		n := 0
		tasks.Range(func(any, any) bool { n++; return true })
		assert.Equal(t, 1, n, "every caller sees one task id")
	})
	t.Run("keys_are_independent", func(t *testing.T) {
		s := newStore(t, time.Minute)
		a := begin(t, s, "key-a", claim("fp", time.Minute))
		b := begin(t, s, "key-b", claim("fp", time.Minute))
		assert.Equal(t, []ports.EntryState{ports.Claimed, ports.Claimed}, []ports.EntryState{a.State, b.State})
		assert.NotEqual(t, a.TaskID, b.TaskID)
	})
}
