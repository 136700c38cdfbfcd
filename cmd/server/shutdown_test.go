package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// On SIGTERM the server first stays up for http.shutdown_delay answering
// /readyz with 503 and still serving requests, so a load balancer sees it
// unready and moves traffic away before the listener closes; then it drains.
func TestRun_PreStopDelay(t *testing.T) {
	const delay = 1500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &infra.LogBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	environ := []string{"HOST=127.0.0.1", "PORT=0", "RPS_LOG__FORMAT=json", "RPS_HTTP__SHUTDOWN_DELAY=" + delay.String()}
	go func() { done <- run(ctx, testBuild, []string{"-env", "testdata/none.env"}, environ, logs, ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("server stopped before listening: %v\n%s", err, logs)
	}
	status := func(method, path string) (int, error) {
		req, err := http.NewRequestWithContext(context.Background(), method, base+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	code, err := status(http.MethodGet, "/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)

	cancel() // as SIGTERM would
	stopped := time.Now()
	require.Eventually(t, func() bool {
		code, err := status(http.MethodGet, "/readyz")
		return err == nil && code == http.StatusServiceUnavailable
	}, delay/2, 10*time.Millisecond, "/readyz turns 503 at once and is answered, not refused")
	code, err = status(http.MethodPost, "/queue")
	require.NoError(t, err, "requests are still served during the delay")
	assert.Equal(t, http.StatusOK, code)

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
	assert.GreaterOrEqual(t, time.Since(stopped), delay, "the listener stays open for the whole delay")
	_, err = status(http.MethodGet, "/readyz")
	require.Error(t, err, "closed after the delay and the drain")
	assert.False(t, errors.Is(err, context.Canceled))
	assert.Contains(t, logs.String(), "drained")
}

// Ctrl-C on an embedded server exits at once: no load balancer to wait
// for, so the default pre-stop delay (5 s) is skipped.
func TestRun_EmbeddedExitsAtOnce(t *testing.T) {
	_, logs, stop := launch(t, []string{"HOST=127.0.0.1", "PORT=0", "RPS_LOG__FORMAT=json"})
	stopped := time.Now()
	require.NoError(t, stop()) // as Ctrl-C would
	assert.Less(t, time.Since(stopped), 3*time.Second, "well under the 5 s delay")
	assert.NotContains(t, logs.String(), "unready, still serving")
	assert.Contains(t, logs.String(), "drained")
}

// The pre-stop delay is for load balancers: an embedded server has none,
// so it skips the delay unless the config sets it.
func TestPreStopDelay_FromTheConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		environ []string
		want    time.Duration
	}{
		"embedded_default":    {nil, 0},
		"embedded_set":        {[]string{"RPS_HTTP__SHUTDOWN_DELAY=5s"}, 5 * time.Second},
		"embedded_set_to_2s":  {[]string{"RPS_HTTP__SHUTDOWN_DELAY=2s"}, 2 * time.Second},
		"redis_default":       {[]string{"REDIS_URL=redis://cache:6379/0"}, 5 * time.Second},
		"kafka_default":       {[]string{"KAFKA_BOOTSTRAP_SERVERS=kafka:9092"}, 5 * time.Second},
		"redis_set_to_0":      {[]string{"REDIS_URL=redis://cache:6379/0", "RPS_HTTP__SHUTDOWN_DELAY=0s"}, 0},
		"embedded_set_by_env": {[]string{"RPS_HTTP__SHUTDOWN_DELAY=0s"}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, origins, err := configs.LoadWithOrigins(configs.LoadOptions{Environ: tc.environ})
			require.NoError(t, err)
			assert.Equal(t, tc.want, preStopDelay(cfg, origins))
		})
	}
}
