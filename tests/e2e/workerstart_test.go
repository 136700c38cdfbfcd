package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/infra/proxy"
)

// A worker whose Redis does not answer at start (a cluster starting in any
// order) waits for it, alive and not ready, instead of exiting into a
// crash loop; once Redis answers it joins its group and tasks are answered.
// Redis is reached through a proxy that refuses connections until the
// test lets them through.
func TestWorker_WaitsForRedisAtStart(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	u, err := url.Parse(in.redisURL)
	require.NoError(t, err)
	gate := proxy.Start(t, "redis", u.Host)
	gate.Stop() // Redis unreachable: connections refused
	late := *u
	late.Host = gate.Listen

	admin := testinfra.FreeAddr(t)
	w := startProc(t, "worker", append(s.env, "REDIS_URL="+late.String(), "RPS_WORKER__METRICS_ADDR="+admin))
	w.admin = "http://" + admin
	s.workers = append(s.workers, w)
	waitReady(t, w.admin+"/healthz", w) // alive
	waitLog(t, w, "redis unreachable at start")
	select {
	case <-w.done:
		dumpLog(t, w)
		t.Fatalf("the worker exited while Redis was unreachable: %v", w.err)
	default:
	}
	code, body := get(t, w.admin+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "not ready while it cannot issue codes exactly once")
	var ready struct {
		Reason       string            `json:"reason"`
		Dependencies map[string]string `json:"dependencies"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &ready), body)
	assert.Equal(t, "starting", ready.Reason, body)
	assert.Equal(t, "down", ready.Dependencies["redis"], body)

	reached := time.Now()
	require.NoError(t, gate.Start())
	waitReady(t, w.admin+"/readyz", w)
	t.Logf("worker ready %.1fs after Redis answered", time.Since(reached).Seconds())
	base := s.startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := runUsers(ctx, []string{base}, 20, 5)
	assert.Empty(t, o.errors)
	assert.Equal(t, 20, o.statuses[http.StatusOK], "statuses: %v", o.statuses)
	waitLog(t, w, "redis reached: consuming")
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
