package pool_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Once shared, the pool hands in its held slots once, each with its client,
// and gives every slot back to Redis: free ones at the next sweep, held ones
// as they are released, also after the pool stops being shared (Redis
// counts them against their clients until then).
func TestSharedPoolHandsInItsSlotsOnceAndGivesThemBack(t *testing.T) {
	p := newPool()
	take(t, p, "r1", 4, t0, false, 1) // r1 holds r1:1, three free
	p.Claim("r1", "alice")
	_, ok := p.Get("r2", t0)
	require.True(t, ok)
	p.Claim("r2", "bob")
	assert.Nil(t, p.Unowned(), "not shared: Redis needs no attribution")
	assert.False(t, p.Holds("r3"))
	assert.True(t, p.Holds("r2"))

	p.SetShared(true)
	pairs := p.Unowned()
	assert.ElementsMatch(t, []string{"r1:1", "alice", "r1:4", "bob"}, pairs, "member, client pairs of the held slots")
	assert.Nil(t, p.Unowned(), "once per switch")

	give, _, _ := p.Sweep(t0)
	assert.ElementsMatch(t, []string{"r1:2", "r1:3"}, give, "shared: free slots go back at once, idle or not")
	member, held := p.Put("r1", t0)
	assert.True(t, held)
	assert.Equal(t, "r1:1", member, "a released slot goes straight back")

	p.SetShared(false)
	member, _ = p.Put("r2", t0)
	assert.Equal(t, "r1:4", member, "counted against bob in Redis: it goes back even when no longer shared")
}
