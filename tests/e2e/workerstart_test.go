package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// A worker whose Redis does not answer at start (a cluster starting in any
// order) waits for it, alive and not ready, instead of exiting into a
// crash loop; once Redis answers it joins its group and tasks are answered.
// Redis is reached through a relay the test opens late, on an address the
// worker was given from the start.
func TestWorker_WaitsForRedisAtStart(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	relayAddr := testinfra.FreeAddr(t)
	u, err := url.Parse(in.redisURL)
	require.NoError(t, err)
	late := *u
	late.Host = relayAddr

	admin := testinfra.FreeAddr(t)
	w := startProc(t, "worker", append(s.env, "REDIS_URL="+late.String(), "RPS_WORKER__METRICS_ADDR="+admin))
	w.admin = "http://" + admin
	s.workers = append(s.workers, w)
	require.Eventually(t, func() bool { return status(w.admin+"/healthz") == http.StatusOK }, 30*time.Second, 100*time.Millisecond,
		"the waiting worker is alive")
	time.Sleep(2 * time.Second) // several attempts to reach Redis
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
	logged, err := os.ReadFile(w.log)
	require.NoError(t, err)
	assert.Contains(t, string(logged), "redis unreachable at start")

	reached := time.Now()
	relay(t, relayAddr, u.Host)
	waitReady(t, w.admin+"/readyz", w)
	t.Logf("worker ready %.1fs after Redis answered", time.Since(reached).Seconds())
	base := s.startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := runUsers(ctx, []string{base}, 20, 5)
	assert.Empty(t, o.errors)
	assert.Equal(t, 20, o.statuses[http.StatusOK], "statuses: %v", o.statuses)
	logged, err = os.ReadFile(w.log)
	require.NoError(t, err)
	assert.Contains(t, string(logged), "redis reached: consuming")
}

// relay forwards every connection to listen on to target until the test
// ends: a Redis that answers from now on.
func relay(t *testing.T, listen, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
			wg.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
		}
	})
}

func status(u string) int {
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
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
