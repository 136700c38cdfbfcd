package redisgate_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/infra/proxy"
)

// An instance cut off from Redis keeps admitting requests on the leases it
// holds. Each of them must end before its lease ends in Redis: otherwise
// Redis frees the room, another instance takes it, and more than the
// capacity run at once. A (a block gate behind a proxy) holds the whole
// capacity, cycling it fast; the proxy stops forwarding when A's leases are
// at their shortest (just before a renewal); from then on every request A
// admits runs to the reply timeout (its worker stopped answering), and B
// (direct) takes whatever Redis frees. The requests in flight on A and on B
// together never exceed the capacity.
func TestBlocks_CapHoldsWhileAnInstanceIsCutOff(t *testing.T) {
	const (
		capacity = testBlockSize
		reply    = 2 * time.Second        // how long a request admitted after the cut holds its slot
		release  = 100 * time.Millisecond // gate.release_timeout: the hold is reply + release
		margin   = 300 * time.Millisecond // gate.lease_margin: the lease is reply + margin
	)
	r := infra.StartRedis(t)
	link := proxy.Start(t, "redis", r.Addr())
	cfgA := blockConfig(t, "redis://"+link.Listen+"/0", capacity)
	cfgA.Lease, cfgA.Hold = reply+margin, reply+release
	a := open(t, cfgA)
	cfgB := cfgA
	cfgB.URL, cfgB.Registerer = r.URL(), prometheus.NewRegistry()
	b := open(t, cfgB)
	raw := infra.RedisClient(t, r.URL())

	var inFlight, most atomic.Int64
	var cut atomic.Bool
	var admittedAfterCut [2]atomic.Int64 // A, B
	stop := make(chan struct{})
	var wg sync.WaitGroup
	serve := func(g gate, inst int) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			slot, err := g.Acquire(context.Background(), uuid.NewString())
			if err != nil { // refused (429) or Redis out of reach (503)
				time.Sleep(2 * time.Millisecond)
				continue
			}
			n := inFlight.Add(1)
			for old := most.Load(); n > old && !most.CompareAndSwap(old, n); old = most.Load() {
			}
			hold := time.Millisecond
			if cut.Load() {
				admittedAfterCut[inst].Add(1)
				hold = reply
			}
			time.Sleep(hold)
			inFlight.Add(-1) // the request ends here; its release follows
			_ = g.Release(context.Background(), slot)
		}
	}
	for range capacity {
		wg.Go(func() { serve(a, 0) })
	}
	t.Cleanup(func() { // the workers end before the gates close
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})
	require.Eventually(t, func() bool { return infra.ZCard(t, raw, cfgA.Key) == capacity },
		2*time.Second, 5*time.Millisecond, "A leases the whole capacity")

	// The lease A's slots have left in Redis falls until A renews them. Its
	// low point is learnt over half a lease (two renewals at least), then
	// the cut comes the next time it is reached.
	soonest := func() time.Duration { return soonestLease(t, raw, cfgA.Key) }
	low := soonest()
	for learn := time.Now().Add(cfgA.Lease / 2); time.Now().Before(learn); time.Sleep(2 * time.Millisecond) {
		low = min(low, soonest())
	}
	for give := time.Now().Add(cfgA.Lease); soonest() > low+5*time.Millisecond && time.Now().Before(give); {
		time.Sleep(time.Millisecond)
	}
	left := soonest()
	_, err := link.Toxics.AddToxicJson(strings.NewReader(`{"name":"cut","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`))
	require.NoError(t, err)
	cutAt := time.Now()
	cut.Store(true)
	for range capacity {
		wg.Go(func() { serve(b, 1) })
	}

	time.Sleep(left + reply + 500*time.Millisecond) // A's leases end in Redis, B takes them, A's requests end
	close(stop)
	wg.Wait()
	t.Logf("cut with %s of A's leases left in Redis (lowest seen %s, lease %s): after the cut A admitted %d, B %d; most in flight at once %d (capacity %d), %s after the cut",
		left.Round(time.Millisecond), low.Round(time.Millisecond), cfgA.Lease, admittedAfterCut[0].Load(), admittedAfterCut[1].Load(),
		most.Load(), capacity, time.Since(cutAt).Round(time.Millisecond))
	require.Positive(t, admittedAfterCut[0].Load(), "A admitted requests on its leases while cut off")
	require.Positive(t, admittedAfterCut[1].Load(), "B took the slots Redis freed")
	assert.LessOrEqual(t, most.Load(), int64(capacity), "in flight on A and B together")
}

// soonestLease is how long the gate's first lease to end has left, by
// Redis's clock (its TIME and the score, read at one instant).
func soonestLease(t testing.TB, c rueidis.Client, key string) time.Duration {
	t.Helper()
	ms, err := soonestScript.Exec(context.Background(), c, []string{key}, nil).AsInt64()
	require.NoError(t, err)
	return time.Duration(ms) * time.Millisecond
}

var soonestScript = rueidis.NewLuaScript(`
local t = redis.call('TIME')
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return 0 end
return tonumber(first[2]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))`)
