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

	"github.com/1000x-rps-server/rps-server/ports"
)

// NewLedger makes an empty ledger whose records live for ttl, isolated from
// every other ledger the suite makes.
type NewLedger func(t *testing.T, ttl time.Duration) ports.IssuanceLedger

// TestLedger runs the IssuanceLedger contract against newLedger.
func TestLedger(t *testing.T, newLedger NewLedger) {
	ctx := context.Background()
	t.Run("first_record_wins", func(t *testing.T) {
		l := newLedger(t, time.Minute)
		task := uuid.NewString()
		got, err := l.Record(ctx, task, "A")
		require.NoError(t, err)
		assert.Equal(t, "A", got)
		got, err = l.Record(ctx, task, "B")
		require.NoError(t, err)
		assert.Equal(t, "A", got, "a redelivered task gets the first value")
	})
	t.Run("tasks_are_independent", func(t *testing.T) {
		l := newLedger(t, time.Minute)
		a, err := l.Record(ctx, uuid.NewString(), "A")
		require.NoError(t, err)
		b, err := l.Record(ctx, uuid.NewString(), "B")
		require.NoError(t, err)
		assert.Equal(t, []string{"A", "B"}, []string{a, b})
	})
	t.Run("concurrent_records_agree_on_one_value", func(t *testing.T) {
		l := newLedger(t, time.Minute)
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
	t.Run("a_record_expires_after_its_ttl", func(t *testing.T) {
		l := newLedger(t, 50*time.Millisecond)
		task := uuid.NewString()
		_, err := l.Record(ctx, task, "A")
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			v, err := l.Record(ctx, task, "B")
			return err == nil && v == "B"
		}, 2*time.Second, 20*time.Millisecond)
	})
}
