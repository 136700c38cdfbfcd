package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testBuild = observability.ReadBuildInfo("server", "test")

// startServer runs the server with environ until the test ends, and returns
// its base URL and its log.
func startServer(t *testing.T, environ []string) (string, *infra.LogBuffer) {
	t.Helper()
	base, logs, _ := launch(t, append([]string{"HOST=127.0.0.1", "PORT=0", "RPS_LOG__FORMAT=json", "RPS_HTTP__SHUTDOWN_DELAY=0s"}, environ...))
	return base, logs
}

// launch runs the server with exactly environ (and no .env file) until stop
// or the end of the test, and returns its base URL and its log. stop cancels
// the server's context, as SIGTERM would, and returns run's error.
func launch(t *testing.T, environ []string) (base string, logs *infra.LogBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &infra.LogBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, testBuild, []string{"-env", "testdata/none.env"}, environ, logs, ready) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("server did not shut down within 30s")
			}
		})
		return runErr
	}
	t.Cleanup(func() { assert.NoError(t, stop()) })
	select {
	case addr := <-ready:
		return "http://" + addr, logs, stop
	case err := <-done:
		t.Fatalf("server stopped before listening: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not listen within 10s")
	}
	return "", nil, nil
}

// Kafka down at start: the server runs, is not ready, and answers 503 with
// Retry-After — never the original's fake 200 with a null code.
func TestRun_KafkaUnreachableAtStart(t *testing.T) {
	base, _ := startServer(t, []string{"KAFKA_BOOTSTRAP_SERVERS=" + infra.FreeAddr(t)})

	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	resp, err = http.Post(base+"/queue", "", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.NotContains(t, string(body), "gift_code")
}

// A newcomer's first run: no Redis, no Kafka, everything in one process.
func TestRun_EmbeddedDefault(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &infra.LogBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	environ := []string{"HOST=127.0.0.1", "PORT=0", "RPS_LOG__FORMAT=json", "RPS_HTTP__SHUTDOWN_DELAY=0s"}
	go func() { done <- run(ctx, testBuild, []string{"-env", "testdata/none.env"}, environ, logs, ready) }()

	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server stopped before listening: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not listen within 10s")
	}
	base := "http://" + addr

	resp, err := http.Post(base+"/queue", "", nil)
	require.NoError(t, err)
	var body struct {
		GiftCode  string `json:"gift_code"`
		RequestID string `json:"request_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, domain.IsGiftCode(body.GiftCode), body.GiftCode)
	assert.Equal(t, resp.Header.Get("X-Request-ID"), body.RequestID)

	resp, err = http.Get(base + "/readyz")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel() // as SIGTERM would
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down within 30s")
	}
	out := logs.String()
	assert.Contains(t, out, "embedded mode", "the log must say it runs embedded")
	assert.Contains(t, out, "drained")
}

func TestRun_InvalidConfigIsOneClearError(t *testing.T) {
	err := run(context.Background(), testBuild, nil, []string{"RATE_LIMIT_CAPACITY=0"}, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "capacity")
	assert.NotContains(t, err.Error(), "\n", "one line")
	assert.False(t, strings.Contains(err.Error(), "goroutine"), "never a panic trace")
}

// The profiler is off by default and, when asked for, listens apart from
// the API: never on the service's port.
func TestRun_PProfOnlyWhenAskedAndOnItsOwnAddress(t *testing.T) {
	base, _ := startServer(t, nil)
	resp, err := http.Get(base + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no profiler on the API port")

	base, logs := startServer(t, []string{"RPS_DEBUG__PPROF_ADDR=127.0.0.1:0"})
	var pprofAddr string
	for line := range strings.Lines(logs.String()) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.Msg, "pprof") {
			pprofAddr = rec.Addr
		}
	}
	require.NotEmpty(t, pprofAddr, "the log names the profiler's address:\n%s", logs)
	assert.NotEqual(t, strings.TrimPrefix(base, "http://"), pprofAddr)
	resp, err = http.Get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "goroutine profile:")
}
