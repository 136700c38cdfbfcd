package memidem_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestContract(t *testing.T) {
	contract.TestIdempotencyStore(t, func(t *testing.T, ttl time.Duration) ports.IdempotencyStore {
		s, err := memidem.New(memidem.Config{TTL: ttl, Capacity: 1000})
		require.NoError(t, err)
		return s
	})
}

func TestNew_RefusesNonPositiveSettings(t *testing.T) {
	_, err := memidem.New(memidem.Config{Capacity: 1})
	require.Error(t, err)
	_, err = memidem.New(memidem.Config{TTL: time.Minute})
	require.Error(t, err)
}

func claim() ports.Claim {
	return ports.Claim{Fingerprint: "fp", TaskID: uuid.NewString(), Token: uuid.NewString(), Lease: time.Minute}
}

// A full store keeps its newest keys: a new key pushes out the oldest, whose
// retry is then a new request; the others still replay.
func TestCapacity_ANewKeyPushesOutTheOldest(t *testing.T) {
	ctx := context.Background()
	s, err := memidem.New(memidem.Config{TTL: time.Hour, Capacity: 3})
	require.NoError(t, err)
	keys := []string{"k1", "k2", "k3", "k4"}
	for _, k := range keys {
		e, err := s.Begin(ctx, k, claim())
		require.NoError(t, err)
		require.Equal(t, ports.Claimed, e.State)
		require.NoError(t, s.Complete(ctx, k, e, domain.Outcome{RequestID: "r-" + k, Kind: domain.KindGiftCode, Value: "GIFT-" + k}))
		time.Sleep(time.Millisecond) // distinct expiries, so "oldest" is well defined
	}
	assert.Equal(t, 3, s.Len())
	for _, k := range keys[1:] {
		e, err := s.Begin(ctx, k, claim())
		require.NoError(t, err)
		assert.Equal(t, ports.Done, e.State, k)
	}
	c := claim()
	e, err := s.Begin(ctx, "k1", c)
	require.NoError(t, err)
	assert.Equal(t, ports.Claimed, e.State, "the oldest key was pushed out")
	assert.Equal(t, c.TaskID, e.TaskID)
	assert.Equal(t, 3, s.Len())
}

// However many keys arrive, the store holds at most its capacity, and a key
// costs a bounded number of bytes whatever its length.
func TestCapacity_BoundsMemory(t *testing.T) {
	const capacity, keys = 10_000, 50_000
	ctx := context.Background()
	s, err := memidem.New(memidem.Config{TTL: time.Hour, Capacity: capacity})
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	long := fmt.Sprintf("%0255d", 0) // the longest key a client may send
	for i := range keys {
		k := fmt.Sprintf("%s%d", long[:200], i)
		e, err := s.Begin(ctx, k, claim())
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, k, e, domain.Outcome{RequestID: uuid.NewString(), Kind: domain.KindGiftCode, Value: "GIFT-ABCDEFGHJKLMN"}))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Equal(t, capacity, s.Len())
	perKey := int64(after.HeapAlloc-before.HeapAlloc) / capacity
	t.Logf("%d bytes of heap per kept key", perKey)
	assert.Less(t, perKey, int64(600), "bytes per kept key")
	runtime.KeepAlive(s)
}
