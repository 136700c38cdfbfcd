package httpclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/scenario"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSession_KeepsAConnectionOfItsOwn(t *testing.T) {
	var mu sync.Mutex
	peers := map[string]int{} // remote address → requests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers[r.RemoteAddr]++
		mu.Unlock()
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	mix, err := scenario.ParseWeights("root=1")
	require.NoError(t, err)
	c := httpclient.New(u, mix, stats.NewCodes(), httpclient.Config{Timeout: 2 * time.Second, MaxConns: 10})
	defer c.Close()

	a, b := c.Session(), c.Session()
	defer a.Close()
	defer b.Close()
	for range 3 {
		for _, s := range []*httpclient.Client{a, b} {
			o, ok := s.Do(context.Background(), 0, time.Now())
			require.True(t, ok)
			require.Equal(t, http.StatusTooManyRequests, o.Status)
			require.Equal(t, 3*time.Second, o.RetryAfter, "the answer's Retry-After is read")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, peers, 2, "two sessions, two connections")
	for addr, n := range peers {
		require.Equal(t, 3, n, "each session reuses its one connection (%s)", addr)
	}
}
