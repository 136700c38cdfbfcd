package faults_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/infra/proxy"
)

// redisBehindProxy is a throwaway redis-server with a toxiproxy in front of
// it, run in the test's process; the server is pointed at the proxy.
type redisBehindProxy struct {
	*infra.ThrowawayRedis
	proxy *toxiproxy.Proxy
}

func startRedisBehindProxy(t *testing.T) redisBehindProxy {
	t.Helper()
	r := infra.StartRedis(t)
	return redisBehindProxy{ThrowawayRedis: r, proxy: proxy.Start(t, "redis", r.Addr())}
}

// url is the proxy's address as a Redis URL.
func (r redisBehindProxy) url() string { return "redis://" + r.proxy.Listen + "/0" }

// addLatency delays every reply from Redis by d until the returned func runs.
func (r redisBehindProxy) addLatency(t *testing.T, d time.Duration) (remove func()) {
	t.Helper()
	body := `{"name":"lag","type":"latency","stream":"downstream","attributes":{"latency":` +
		strconvItoa(d.Milliseconds()) + `}}`
	_, err := r.proxy.Toxics.AddToxicJson(strings.NewReader(body))
	require.NoError(t, err)
	return func() { require.NoError(t, r.proxy.Toxics.RemoveToxic(t.Context(), "lag")) }
}

// redisFault is one way Redis fails; inject returns when the fault is over
// (Redis answers again), leaving recovery to the gate. settle is how long
// after that the fault may still refuse: acquires whose callers gave up in
// its last moments ran in Redis all the same, and hold their slots until
// their undo runs, one command timeout later.
type redisFault struct {
	name   string
	inject func(t *testing.T, r redisBehindProxy)
	settle time.Duration
}

var redisFaults = []redisFault{
	{"stall_2s", func(_ *testing.T, r redisBehindProxy) { // SIGSTOP: connections open, nothing answers
		r.Pause()
		time.Sleep(2 * time.Second)
		r.Resume()
	}, 0},
	{"restart", func(_ *testing.T, r redisBehindProxy) { // data and scripts gone, as after SCRIPT FLUSH
		r.Stop()
		r.Start()
	}, 0},
	{"killed_3s", func(_ *testing.T, r redisBehindProxy) { // connections refused for 3 s
		r.Stop()
		time.Sleep(3 * time.Second)
		r.Start()
	}, 0},
	{"latency_1s", func(t *testing.T, r redisBehindProxy) { // every reply later than the command timeout
		remove := r.addLatency(t, 2*commandTimeout)
		time.Sleep(2 * time.Second)
		remove()
	}, commandTimeout}, // commands run at once, only their replies are late: the last abandoned takes hold slots
}

// Under load, Redis fails in each way in turn. During the fault clients see
// 200 or 503 with Retry-After (never another 5xx, never a hang); within a
// second of Redis answering again the whole capacity is back (no phantom
// slots: a burst of `capacity` requests all get 200), the gate drains to 0,
// and the outage is two WARN lines.
func TestRedisFaults(t *testing.T) {
	for _, f := range redisFaults {
		t.Run(f.name, func(t *testing.T) {
			r := startRedisBehindProxy(t)
			s := startServer(t, r.url())
			raw := infra.RedisClient(t, r.URL())
			before := s.baseline()

			l := startLoad(s, 10, 10*time.Millisecond)
			time.Sleep(300 * time.Millisecond)
			faultAt := time.Now()
			f.inject(t, r)
			recoveredAt := time.Now()
			require.Eventually(t, func() bool { return firstOKAfter(l.snapshot(), recoveredAt) >= 0 },
				5*time.Second, 10*time.Millisecond, "requests succeed again after the fault")
			time.Sleep(500 * time.Millisecond)
			rs := l.finish()

			counts := checkAnswers(t, rs)
			to503 := firstNotOKAfter(rs, faultAt)
			back := firstOKAfter(rs, recoveredAt)
			// Lost: refused although sent after requests succeeded again and
			// the fault settled (one sent during the fault may still be
			// answered 503 after that).
			lost, settled := 0, recoveredAt.Add(max(back, f.settle))
			for _, r := range rs {
				if sent := r.at.Add(-r.took); r.status != http.StatusOK && sent.After(settled) {
					lost++
				}
			}
			t.Logf("FIGURES %s: answers %v; first refusal %s after the fault; first 200 %s after Redis answered again; non-200 after that and %s %d",
				f.name, counts, to503.Round(time.Millisecond), back.Round(time.Millisecond), f.settle, lost)
			assert.Less(t, back, time.Second, "capacity back within a second of Redis answering")
			assert.Zero(t, lost, "nothing refused once requests succeed again")

			statuses := s.burst(capacity)
			assert.Equal(t, capacity, count(statuses, http.StatusOK), "the whole capacity is free: %v", statuses)
			assert.Eventually(t, func() bool { return infra.ZCard(t, raw, s.gateKey) == 0 },
				2*time.Second, 20*time.Millisecond, "the gate drains to 0: no slot leaked")
			if counts[http.StatusServiceUnavailable] > 0 {
				log := s.log()
				assert.Len(t, warnLines(log, "redis gate outage started"), 1, "one line at the start")
				assert.Len(t, warnLines(log, "redis gate outage ended"), 1, "one line at the end")
			}
			s.checkRecovered(before, 150<<20)
		})
	}
}

func count(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
