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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/infra/proxy"
)

// An instance cut off from Redis keeps admitting requests on the leases it
// holds. Each of them must end before its lease ends in Redis: otherwise
// Redis frees the room, another instance takes it, and more than the
// capacity run at once. A (a block gate behind a proxy) holds the whole
// capacity, its clients cycling it fast; then the proxy stops forwarding,
// and A's clients, one after another spread over a lease, start waiting
// out the reply timeout with every request A admits them (their worker
// stopped answering), so that A admits long requests until it no longer
// hands slots out. B (direct) takes whatever Redis frees. The requests in
// flight on A and on B together never exceed the capacity.
func TestBlocks_CapHoldsWhileAnInstanceIsCutOff(t *testing.T) {
	const (
		capacity = testBlockSize
		reply    = 2 * time.Second        // how long a stalled request holds its slot
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

	var inFlight, most, cutAt atomic.Int64 // cutAt: unix ns, 0 before the cut
	var admittedAfterCut [2]atomic.Int64   // A, B
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// serve is one client of g; after the cut its requests wait out the
	// reply timeout from stallAfter on.
	serve := func(g gate, inst int, stallAfter time.Duration) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			slot, err := g.Acquire(context.Background(), uuid.NewString(), domain.Client{})
			if err != nil { // refused (429) or Redis out of reach (503)
				time.Sleep(2 * time.Millisecond)
				continue
			}
			n := inFlight.Add(1)
			for old := most.Load(); n > old && !most.CompareAndSwap(old, n); old = most.Load() {
			}
			hold := time.Millisecond
			if cut := cutAt.Load(); cut != 0 {
				admittedAfterCut[inst].Add(1)
				if time.Since(time.Unix(0, cut)) >= stallAfter {
					hold = reply
				}
			}
			time.Sleep(hold)
			inFlight.Add(-1) // the request ends here; its release follows
			_ = g.Release(context.Background(), slot)
		}
	}
	for i := range capacity {
		wg.Go(func() { serve(a, 0, time.Duration(i)*cfgA.Lease/capacity) })
	}
	t.Cleanup(func() { // the clients end before the gates close
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})
	require.Eventually(t, func() bool { return infra.ZCard(t, raw, cfgA.Key) == capacity },
		2*time.Second, 5*time.Millisecond, "A leases the whole capacity")
	time.Sleep(200 * time.Millisecond) // A cycles it, renewing as it goes

	_, err := link.Toxics.AddToxicJson(strings.NewReader(`{"name":"cut","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`))
	require.NoError(t, err)
	cutAt.Store(time.Now().UnixNano())
	for range capacity {
		wg.Go(func() { serve(b, 1, 0) })
	}

	time.Sleep(cfgA.Lease + reply + 500*time.Millisecond) // A's leases end in Redis, B takes them, A's requests end
	close(stop)
	wg.Wait()
	t.Logf("after the cut A admitted %d, B %d; most in flight at once %d (capacity %d; lease %s, hold %s)",
		admittedAfterCut[0].Load(), admittedAfterCut[1].Load(), most.Load(), capacity, cfgA.Lease, cfgA.Hold)
	require.Positive(t, admittedAfterCut[0].Load(), "A admitted requests on its leases while cut off")
	require.Positive(t, admittedAfterCut[1].Load(), "B took the slots Redis freed")
	assert.LessOrEqual(t, most.Load(), int64(capacity), "in flight on A and B together")
}
