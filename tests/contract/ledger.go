package contract

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// NewLedger makes an empty ledger whose records live for window, those of
// keyed tasks (domain.KeyedTaskID) for keyedTTL, isolated from every other
// ledger the suite makes.
type NewLedger func(t *testing.T, window, keyedTTL time.Duration) ports.IssuanceLedger

// TestLedger runs the IssuanceLedger contract against newLedger.
func TestLedger(t *testing.T, newLedger NewLedger) {
	ctx := context.Background()
	t.Run("first_record_wins", func(t *testing.T) {
		l := newLedger(t, time.Minute, time.Minute)
		task := uuid.NewString()
		got, err := l.Record(ctx, task, "A")
		require.NoError(t, err)
		assert.Equal(t, "A", got)
		got, err = l.Record(ctx, task, "B")
		require.NoError(t, err)
		assert.Equal(t, "A", got, "a redelivered task gets the first value")
	})
	t.Run("tasks_are_independent", func(t *testing.T) {
		l := newLedger(t, time.Minute, time.Minute)
		a, err := l.Record(ctx, uuid.NewString(), "A")
		require.NoError(t, err)
		b, err := l.Record(ctx, uuid.NewString(), "B")
		require.NoError(t, err)
		assert.Equal(t, []string{"A", "B"}, []string{a, b})
	})
	t.Run("concurrent_records_agree_on_one_value", func(t *testing.T) {
		l := newLedger(t, time.Minute, time.Minute)
		task := uuid.NewString()
		got := make([]string, 20)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				v, err := l.Record(ctx, task, fmt.Sprint("V", i))
				assert.NoError(t, err)
				got[i] = v
			})
		}
		wg.Wait()
		for _, v := range got {
			assert.Equal(t, got[0], v, "two values for one task")
		}
	})
	t.Run("a_record_lives_for_its_ttl_then_expires", func(t *testing.T) {
		const ttl = time.Second
		l := newLedger(t, ttl, time.Hour)
		task := uuid.NewString()
		written := time.Now() // the record is written after this, so it lives past written+ttl
		_, err := l.Record(ctx, task, "A")
		require.NoError(t, err)

		// A redelivery still gets the first value all through the TTL. Only
		// answers that came back before written+ttl count: the read happened
		// before the clock was read again, so a slow machine cannot fail it.
		var lastChecked time.Duration
		for lastChecked < ttl*3/4 {
			v, err := l.Record(ctx, task, "B")
			age := time.Since(written)
			if age >= ttl {
				break
			}
			require.NoError(t, err)
			require.Equal(t, "A", v, "the record was gone %s into a TTL of %s", age, ttl)
			lastChecked = age
			time.Sleep(ttl / 20)
		}
		require.GreaterOrEqual(t, lastChecked, ttl/2, "no read landed in the second half of the TTL; too loaded to tell")

		// And it is gone soon after: the ledger does not grow without bound.
		require.Eventually(t, func() bool {
			v, err := l.Record(ctx, task, "C")
			return err == nil && v == "C"
		}, 2*ttl, ttl/20, "the record outlived its TTL")
	})
	t.Run("a_keyed_record_outlives_the_window", func(t *testing.T) {
		// A keyed task may run again as long as its idempotency key lives,
		// so its record stays after the window that bounds every other.
		const window = time.Second
		l := newLedger(t, window, time.Hour)
		plain, keyed := uuid.NewString(), domain.KeyedTaskID(uuid.NewString())
		for _, task := range []string{plain, keyed} {
			_, err := l.Record(ctx, task, "A")
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool {
			v, err := l.Record(ctx, plain, "C")
			return err == nil && v == "C"
		}, 3*window, window/20, "the plain record outlived the window")
		v, err := l.Record(ctx, keyed, "B")
		require.NoError(t, err)
		assert.Equal(t, "A", v, "the keyed record was gone with the window")
	})
}
