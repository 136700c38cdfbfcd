package faults_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// answer is one response as a client or a load balancer's check sees it.
type answer struct {
	status      int
	contentType string
	retryAfter  string
	body        []byte
}

func (s *server) do(method, path string) answer {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.base+path, nil)
	require.NoError(s.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), retryAfter: resp.Header.Get("Retry-After"), body: body}
}

// redisState is what the server's /readyz body says of Redis.
func (a answer) redisState(t *testing.T) string {
	t.Helper()
	var body struct{ Dependencies map[string]string }
	require.NoError(t, json.Unmarshal(a.body, &body), "%s", a.body)
	return body.Dependencies["redis"]
}

// Redis going down is every replica's outage, not one replica's: each
// stays ready, so a load balancer keeps them all and never answers with a
// bare 503 of its own; /readyz's body and rps_ready{dependency="redis"}
// say Redis is down; every client gets the server's own 503, problem+json
// with Retry-After. Redis back, the same replicas answer 200 again.
func TestRedisDown_EveryReplicaStaysReadyAndAnswers503(t *testing.T) {
	r := startRedisBehindProxy(t)
	replicas := []*server{startServer(t, r.url()), startServer(t, r.url())}
	for _, s := range replicas {
		require.Equal(t, http.StatusOK, s.status(http.MethodPost, "/queue"))
		ready := s.do(http.MethodGet, "/readyz")
		require.Equal(t, http.StatusOK, ready.status)
		require.Equal(t, "up", ready.redisState(t))
	}

	r.Stop()
	downAt := time.Now()
	for i, s := range replicas {
		// Leases the instance holds may admit a few requests first.
		var refused answer
		require.Eventually(t, func() bool {
			refused = s.do(http.MethodPost, "/queue")
			return refused.status != http.StatusOK
		}, 5*time.Second, 20*time.Millisecond, "replica %d refuses once Redis is down", i)
		assert.Equal(t, http.StatusServiceUnavailable, refused.status, "%s", refused.body)
		assert.Equal(t, "application/problem+json", refused.contentType)
		assert.NotEmpty(t, refused.retryAfter, "503 carries Retry-After")
		var problem struct {
			Status int
			Detail string
		}
		require.NoError(t, json.Unmarshal(refused.body, &problem))
		assert.Equal(t, http.StatusServiceUnavailable, problem.Status)
		assert.NotEmpty(t, problem.Detail)

		ready := s.do(http.MethodGet, "/readyz")
		assert.Equal(t, http.StatusOK, ready.status, "replica %d stays in the pool: %s", i, ready.body)
		assert.Equal(t, "down", ready.redisState(t), "its /readyz names Redis down")
		assert.InDelta(t, 1, metricstest.Scrape(t, s.base, `rps_ready{dependency="self"}`), 0)
		assert.InDelta(t, 0, metricstest.Scrape(t, s.base, `rps_ready{dependency="redis"}`), 0)
	}
	t.Logf("FIGURES Redis down: every replica refused with its own 503 within %s, all still ready", time.Since(downAt).Round(time.Millisecond))

	r.Start()
	for i, s := range replicas {
		require.Eventually(t, func() bool { return s.status(http.MethodPost, "/queue") == http.StatusOK },
			5*time.Second, 20*time.Millisecond, "replica %d serves again once Redis answers", i)
		assert.Equal(t, "up", s.do(http.MethodGet, "/readyz").redisState(t))
		assert.InDelta(t, 1, metricstest.Scrape(t, s.base, `rps_ready{dependency="redis"}`), 0)
	}
}
