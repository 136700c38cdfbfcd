package serverapp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// A server started while Redis does not answer serves as the gate's
// fail_open says (admits without a slot, or refuses with 503) and refuses
// keyed requests, as in any Redis outage; once Redis answers, the gate and
// the idempotency store are on it: the cap applies again (a second request
// while the only slot is held gets 429) and keys work.
func TestRedisUnreachableAtStart_TheStoresTakeOverOnceItAnswers(t *testing.T) {
	for name, failOpen := range map[string]bool{"fail_closed": false, "fail_open": true} {
		t.Run(name, func(t *testing.T) {
			r := infra.StartRedis(t)
			r.Stop()
			cfg := idemConfig(2*time.Second, time.Minute)
			onRedis(t, &cfg)
			cfg.Redis.URL, cfg.Gate.FailOpen, cfg.Gate.Capacity = r.URL(), failOpen, 1
			w := newWorker(t)
			w.delay = func(int32) time.Duration { return 300 * time.Millisecond }
			broker, err := membroker.New(w.proc, 100)
			require.NoError(t, err)
			t.Cleanup(broker.Close)
			srv := httptest.NewServer(newAPIOn(t, cfg, broker)) // Redis unreachable at start is an outage, not a reason to exit
			t.Cleanup(srv.Close)

			want := map[bool]int{false: http.StatusServiceUnavailable, true: http.StatusOK}[failOpen]
			assert.Equal(t, want, postPlain(t, srv.URL), "before Redis answers")
			assert.Equal(t, http.StatusServiceUnavailable, post(t, srv.URL, uuid.NewString()).status, "a keyed request needs the store")

			r.Start()
			back := time.Now()
			require.Eventually(t, func() bool { return capApplies(t, srv.URL) }, 10*time.Second, 50*time.Millisecond,
				"the Redis gate takes over")
			t.Logf("the Redis gate took over %s after Redis answered", time.Since(back).Round(time.Millisecond))
			assert.Equal(t, http.StatusOK, post(t, srv.URL, uuid.NewString()).status, "keys work")
		})
	}
}

// capApplies reports whether a second request, sent while a first holds
// the only slot, is refused with 429.
func capApplies(t *testing.T, url string) bool {
	t.Helper()
	var wg sync.WaitGroup
	var first int
	wg.Go(func() { first = postPlain(t, url) })
	time.Sleep(100 * time.Millisecond) // the first holds its slot for 300 ms
	second := postPlain(t, url)
	wg.Wait()
	return first == http.StatusOK && second == http.StatusTooManyRequests
}

// postPlain posts a task without an Idempotency-Key and returns the status.
func postPlain(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/queue", http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
