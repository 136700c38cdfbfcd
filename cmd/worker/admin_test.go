package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/observability"
)

// When a Redis client's connection fails (Redis unreachable), rueidis
// schedules a topology refresh that sleeps up to 1 s and then ends, even
// after Close (rueidis singleflight.go, call.DelayDo): bounded and not
// ours, so that one function is ignored, nothing else.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"))
}

// The worker's one listener answers the kubelet's probes and the scraper:
// /healthz whatever its dependencies, /readyz 503 only until it has joined
// its group, with the ledger's Redis listed but never making it unready.
func TestAdminHandler_ProbesAndMetrics(t *testing.T) {
	var joined, redis error
	readiness := observability.Readiness{
		Own:          func(context.Context) error { return joined },
		Dependencies: []observability.Dependency{{Name: "redis", Check: func(context.Context) error { return redis }}},
	}
	reg := observability.NewRegistry()
	require.NoError(t, observability.RegisterReadiness(reg, readiness.Check))
	srv := httptest.NewServer(adminHandler(reg, readiness, false))
	t.Cleanup(srv.Close)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, errors.Join(err, resp.Body.Close()))
		return resp.StatusCode, string(body)
	}

	joined = errors.New(`worker: not yet joined consumer group "g": dependency unavailable`)
	redis = errors.New("dial tcp 10.0.0.7:6379: connection refused")
	code, body := get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.JSONEq(t, `{"status":"not ready","reason":"not yet joined the consumer group","dependencies":{"redis":"down"}}`, body)
	code, body = get("/healthz")
	assert.Equal(t, http.StatusOK, code, "alive while not ready")
	assert.JSONEq(t, `{"status":"ok"}`, body)

	joined = nil
	code, body = get("/readyz")
	assert.Equal(t, http.StatusOK, code, "Redis down is every worker's: it stays ready")
	assert.JSONEq(t, `{"status":"ready","dependencies":{"redis":"down"}}`, body)
	code, body = get("/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `rps_ready{dependency="self"} 1`)
	assert.Contains(t, body, `rps_ready{dependency="redis"} 0`)

	code, _ = get("/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "no profiler unless debug.pprof_addr names this listener")
	withPProf := httptest.NewServer(adminHandler(reg, readiness, true))
	t.Cleanup(withPProf.Close)
	resp, err := http.Get(withPProf.URL + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
