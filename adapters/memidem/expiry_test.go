package memidem

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/ports"
)

// Keys leave as they expire, from the heap's top: a call drops exactly the
// expired ones and never walks the live ones.
func TestExpiry_DropsOnlyWhatExpired(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s, err := New(Config{TTL: 10 * time.Second, Capacity: 100})
	require.NoError(t, err)
	s.now = func() time.Time { return now }
	begin := func(key string) {
		t.Helper()
		_, err := s.Begin(context.Background(), key, ports.Claim{Fingerprint: "fp", TaskID: "t-" + key, Token: "x-" + key, Lease: time.Second})
		require.NoError(t, err)
	}
	for i := range 10 {
		begin("k" + strconv.Itoa(i))
		now = now.Add(time.Second)
	}
	assert.Equal(t, 10, s.Len())
	now = now.Add(4500 * time.Millisecond) // k0..k4 expired (at 10 s to 14 s), k5.. live
	begin("new")
	assert.Equal(t, 6, s.Len(), "k5..k9 and the new key")
	for _, r := range s.byExpiry {
		assert.True(t, now.Before(r.expires))
	}
	assert.Equal(t, s.byExpiry[0].taskID, "t-k5", "the next to expire is on top")
}
