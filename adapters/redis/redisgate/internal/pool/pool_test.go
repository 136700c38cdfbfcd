package pool_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/pool"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newPool() *pool.Pool {
	return pool.New(pool.Config{Capacity: 30, BlockSize: 8, Idle: 20 * time.Millisecond, Lease: 4 * time.Second, Hold: 2 * time.Second})
}

func members(call string, n int) []string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = fmt.Sprintf("%s:%d", call, i+1)
	}
	return ms
}

// take is a take that found the pool empty, asked for a block and got n.
func take(t *testing.T, p *pool.Pool, id string, n int, now time.Time, contended bool, instances int) {
	t.Helper()
	_, ticket := p.Want()
	held, _ := p.Took(ticket, id, members(id, n), now, now, contended, instances)
	require.Equal(t, n > 0, held)
}

func TestBlockServesLocallyThenAsksRedis(t *testing.T) {
	p := newPool()
	_, ok := p.Get("r0", t0)
	require.False(t, ok, "an empty pool sends the request to Redis")
	n, ticket := p.Want()
	assert.Equal(t, 8, n, "a block")
	held, dup := p.Took(ticket, "r0", members("c", 8), t0, t0, false, 1)
	require.True(t, held)
	require.False(t, dup)
	for i := 1; i < 8; i++ {
		dup, ok := p.Get(fmt.Sprintf("r%d", i), t0)
		require.True(t, ok, "slot %d from the block", i)
		require.False(t, dup)
	}
	_, ok = p.Get("r8", t0)
	assert.False(t, ok, "the block is used up")
	inUse, leased := p.Counts()
	assert.Equal(t, 8, inUse)
	assert.Equal(t, 8, leased)
}

func TestConcurrentTakesAskForOneSlot(t *testing.T) {
	p := newPool()
	n1, t1 := p.Want()
	n2, t2 := p.Want()
	assert.Equal(t, 8, n1)
	assert.Equal(t, 1, n2, "a take is in flight: no second block")
	assert.Len(t, p.Earlier(t2), 1, "the first take is still unanswered")
	assert.Empty(t, p.Earlier(t1))
	p.Failed(t1)
	p.Failed(t2)
	n3, _ := p.Want()
	assert.Equal(t, 8, n3)
}

// A take refused by Redis sees the block an earlier take was granted.
func TestRefusedTakeSeesAnEarlierBlock(t *testing.T) {
	p := newPool()
	_, first := p.Want()
	_, second := p.Want()
	held, _ := p.Took(second, "late", nil, t0, t0, true, 1)
	require.False(t, held, "refused by Redis")
	waits := p.Earlier(second)
	require.Len(t, waits, 1)
	p.Took(first, "early", members("c", 3), t0, t0, false, 1)
	<-waits[0]
	dup, ok := p.Get("late", t0)
	assert.True(t, ok, "a slot of the earlier block")
	assert.False(t, dup)
}

func TestAcquireOfAHeldIDIsIdempotent(t *testing.T) {
	p := newPool()
	take(t, p, "r", 2, t0, false, 1)
	dup, ok := p.Get("r", t0)
	assert.True(t, ok)
	assert.True(t, dup)
	_, ticket := p.Want()
	held, dup := p.Took(ticket, "r", members("c2", 1), t0, t0, false, 1)
	assert.True(t, held)
	assert.True(t, dup, "a concurrent acquire of the same id: its slot goes to the free list")
	inUse, leased := p.Counts()
	assert.Equal(t, 1, inUse)
	assert.Equal(t, 3, leased)
}

func TestIdleSlotsGoBackOthersStay(t *testing.T) {
	p := newPool()
	take(t, p, "a", 3, t0, false, 1)
	assert.Empty(t, mustPut(t, p, "a", t0))
	give, renew, full := p.Sweep(t0.Add(10 * time.Millisecond))
	assert.Empty(t, give, "idle for less than Idle")
	assert.False(t, full, "no renewal due yet")
	assert.Len(t, renew, 1, "one lease as a probe")
	give, _, _ = p.Sweep(t0.Add(25 * time.Millisecond))
	assert.ElementsMatch(t, members("a", 3), give, "idle longer than Idle")
	_, leased := p.Counts()
	assert.Zero(t, leased)
}

func TestRenewalEveryQuarterLease(t *testing.T) {
	p := newPool()
	now := time.Now() // New starts the renewal clock now
	take(t, p, "a", 3, now, false, 1)
	_, ok := p.Get("b", now)
	require.True(t, ok)
	later := now.Add(time.Second + time.Millisecond)
	give, renew, full := p.Sweep(later)
	assert.Equal(t, []string{"a:2"}, give, "the free one, idle (b took the block's last: LIFO)")
	assert.True(t, full)
	assert.ElementsMatch(t, []string{"a:1", "a:3"}, renew, "every lease still held")
	p.Synced(renew, []string{"a:3"}, full, later, false, 1)
	_, leased := p.Counts()
	assert.Equal(t, 1, leased, "a lease Redis lost is dropped")
	assert.Empty(t, mustPut(t, p, "b", later), "its lost slot is not kept, nor given back")
	assert.Empty(t, mustPut(t, p, "a", later), "the renewed slot stays")
	_, ok = p.Get("c", later.Add(2*time.Second))
	assert.True(t, ok, "renewed: still Hold left")
}

// Redis restarted empty: the probe of one lease finds it gone, and the next
// sync checks them all.
func TestLostProbeTriggersAFullRenewal(t *testing.T) {
	p := newPool()
	take(t, p, "a", 3, t0, false, 1)
	_, probe, full := p.Sweep(t0)
	require.False(t, full)
	require.Len(t, probe, 1)
	p.Synced(probe, probe, full, t0, false, 1)
	_, renew, full := p.Sweep(t0)
	assert.True(t, full, "a lost probe makes the next sync a full renewal")
	assert.Len(t, renew, 2, "the leases not yet known lost")
	p.Synced(renew, renew, full, t0, false, 1)
	_, leased := p.Counts()
	assert.Zero(t, leased)
	_, ok := p.Get("b", t0)
	assert.False(t, ok, "no lost slot is handed out")
}

func TestShortLeaseIsNotHandedOut(t *testing.T) {
	p := newPool()
	take(t, p, "a", 2, t0, false, 1)
	_, ok := p.Get("b", t0.Add(2*time.Second+time.Millisecond))
	assert.False(t, ok, "less than Hold left")
	give, _, _ := p.Sweep(t0.Add(2*time.Second + time.Millisecond))
	assert.Equal(t, []string{"a:2"}, give)
	assert.Equal(t, "a:1", mustPut(t, p, "a", t0.Add(2*time.Second+time.Millisecond)), "nor kept when released")
}

// A slot is handed out only while its lease covers Hold, by the local clock
// from the start of the call that set it; an instance that cannot reach
// Redis renews nothing, so its slots stop being handed out in time for the
// last request admitted to end before Redis ends its lease.
func TestCutOffInstanceStopsHandingOutInTime(t *testing.T) {
	const lease, hold = 4 * time.Second, 3500 * time.Millisecond
	p := pool.New(pool.Config{Capacity: 8, BlockSize: 8, Idle: 20 * time.Millisecond, Lease: lease, Hold: hold})
	take(t, p, "a", 8, t0, false, 1) // Redis ends these leases at t0+4s at the earliest
	last := t0
	for i := 1; ; i++ {
		now := t0.Add(time.Duration(i) * 50 * time.Millisecond) // no sync answers: nothing renewed
		if _, ok := p.Get(fmt.Sprint("r", i), now); !ok {
			break
		}
		mustPut(t, p, fmt.Sprint("r", i), now)
		last = now
	}
	assert.Equal(t, t0.Add(lease-hold), last, "the last hand-out leaves Hold before the lease ends")
	assert.False(t, last.Add(hold).After(t0.Add(lease)), "a request admitted last ends before its lease")
}

// A renewal sets a lease's end from the start of the sync that renewed it,
// never from when its answer came: Redis renewed it no earlier than that
// start, and maybe not much later.
func TestRenewalCountsFromTheSyncsStart(t *testing.T) {
	p := newPool() // lease 4s, hold 2s
	// A sync that started 3 s ago and is answered now.
	start := time.Now().Add(-3 * time.Second)
	take(t, p, "a", 1, start, false, 1)
	require.Empty(t, mustPut(t, p, "a", start))
	_, renew, full := p.Sweep(start)
	require.Equal(t, []string{"a:1"}, renew)
	p.Synced(renew, nil, full, start, false, 1)
	_, ok := p.Get("b", time.Now())
	assert.False(t, ok, "renewed until start + lease, 1 s from now: less than Hold left")
}

// Leases are renewed every half of what the lease leaves beyond Hold (at
// most every quarter lease), so while Redis answers they stay long enough
// to hand out.
func TestRenewalsComeSoonerWhenHoldLeavesLittle(t *testing.T) {
	p := pool.New(pool.Config{Capacity: 8, BlockSize: 8, Idle: 20 * time.Millisecond, Lease: 4 * time.Second, Hold: 3500 * time.Millisecond})
	now := time.Now()
	take(t, p, "a", 1, now, false, 1)
	_, _, full := p.Sweep(now.Add(249 * time.Millisecond))
	assert.False(t, full)
	_, _, full = p.Sweep(now.Add(251 * time.Millisecond))
	assert.True(t, full, "(4s - 3.5s) / 2")
}

// A take answered so late that its leases are already short hands none of
// them out: they go back at the next sync.
func TestSlowTakeHandsNothingOut(t *testing.T) {
	p := newPool() // lease 4s, hold 2s
	_, ticket := p.Want()
	held, _ := p.Took(ticket, "r", members("c", 3), t0, t0.Add(2*time.Second+time.Millisecond), false, 1)
	assert.False(t, held)
	_, ok := p.Get("s", t0.Add(2*time.Second+time.Millisecond))
	assert.False(t, ok)
	give, _, _ := p.Sweep(t0.Add(2*time.Second + time.Millisecond))
	assert.ElementsMatch(t, members("c", 3), give)
}

func TestUnderContentionGiveBackAboveTheFairShare(t *testing.T) {
	p := newPool()                   // capacity 30
	take(t, p, "a", 8, t0, false, 1) // alone: blocks
	take(t, p, "b", 8, t0, false, 1) // 16 leased
	take(t, p, "c", 8, t0, true, 3)  // 24 leased; share ceil(30/3) = 10
	n, ticket := p.Want()
	assert.Equal(t, 1, n, "above its share under contention: one slot at a time")
	p.Failed(ticket)
	for i := range 21 { // hold every lease
		_, ok := p.Get(fmt.Sprintf("h%d", i), t0)
		require.True(t, ok)
	}
	gave := 0
	for i := range 21 {
		if mustPut(t, p, fmt.Sprintf("h%d", i), t0) != "" {
			gave++
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		if mustPut(t, p, id, t0) != "" {
			gave++
		}
	}
	assert.Equal(t, 14, gave, "back down to the share of 10")
	give, _, _ := p.Sweep(t0)
	assert.Len(t, give, 10, "and the free ones go back at the next sync while contended")
	p.Synced(nil, nil, false, t0, false, 3)
	n, _ = p.Want()
	assert.Equal(t, 8, n, "no contention: blocks again")
}

func TestFailOpenHoldsNothing(t *testing.T) {
	p := newPool()
	p.HoldWithout("r")
	give, held := p.Put("r", t0)
	assert.Empty(t, give)
	assert.False(t, held)
}

func TestDrainReturnsEveryLease(t *testing.T) {
	p := newPool()
	take(t, p, "a", 5, t0, false, 1)
	assert.ElementsMatch(t, members("a", 5), p.Drain())
	inUse, leased := p.Counts()
	assert.Zero(t, inUse)
	assert.Zero(t, leased)
}

func mustPut(t *testing.T, p *pool.Pool, id string, now time.Time) string {
	t.Helper()
	give, held := p.Put(id, now)
	require.True(t, held, "%s held a slot", id)
	return give
}
