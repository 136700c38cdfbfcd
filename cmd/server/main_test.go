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

// When a Redis client's connection fails (Redis unreachable), rueidis
// schedules a topology refresh that sleeps up to 1 s and then ends, even
// after Close (rueidis singleflight.go, call.DelayDo): bounded and not
// ours, so that one function is ignored, nothing else.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"))
}

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

// With http.admin_addr set, /metrics moves to its own listener: the API's
// port answers 404 for it, the admin listener 200 with the server's series
// (readiness and the HTTP metrics of the API among them). The profiler
// joins it when debug.pprof_addr names the same address.
func TestRun_MetricsOnTheAdminListenerOnly(t *testing.T) {
	admin := infra.FreeAddr(t)
	base, _ := startServer(t, []string{"RPS_HTTP__ADMIN_ADDR=" + admin, "RPS_DEBUG__PPROF_ADDR=" + admin})
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	code, _ := get(base + "/")
	require.Equal(t, http.StatusOK, code)

	code, body := get(base + "/metrics")
	assert.Equal(t, http.StatusNotFound, code, "no /metrics on the public port: %s", body)
	code, body = get("http://" + admin + "/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `rps_ready{dependency="self"} 1`)
	assert.Contains(t, body, `rps_http_requests_total{code="404",host="",method="GET",url=""} 1`, "the API's own metrics, its 404 for /metrics counted")
	code, _ = get("http://" + admin + "/debug/pprof/goroutine?debug=1")
	assert.Equal(t, http.StatusOK, code, "the profiler on the admin listener")
	code, _ = get(base + "/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "never on the API's port")
}

// Without http.admin_addr /metrics stays beside the API, as it always was.
func TestRun_MetricsOnThePublicPortByDefault(t *testing.T) {
	base, _ := startServer(t, nil)
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `rps_ready{dependency="self"} 1`)
}

// A Kafka whose certificate the server does not trust stops the start with
// one line that names the TLS handshake and the setting to check, not a
// 503 for ever.
func TestRun_KafkaUntrustedCertificateFailsAtStart(t *testing.T) {
	environ := []string{
		"HOST=127.0.0.1", "PORT=0", "RPS_HTTP__SHUTDOWN_DELAY=0s",
		"KAFKA_BOOTSTRAP_SERVERS=" + infra.TLSListener(t, infra.NewPKI(t)),
		"RPS_KAFKA__SETTINGS__SECURITY_PROTOCOL=SSL",
		"RPS_KAFKA__SETTINGS__SSL_CA_LOCATION=" + infra.NewPKI(t).CAFile,
	}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), testBuild, []string{"-env", "testdata/none.env"}, environ, io.Discard, nil)
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "kafka TLS handshake failed: the broker's certificate could not be verified")
		assert.Contains(t, err.Error(), "check kafka.settings ssl.ca.location")
		assert.NotContains(t, err.Error(), "\n", "one line")
	case <-time.After(15 * time.Second):
		t.Fatal("the server still runs 15 s after its start")
	}
}
