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
