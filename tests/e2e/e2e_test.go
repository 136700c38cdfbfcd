// Package e2e_test runs the real binaries (cmd/server, cmd/worker) against a
// real Redis and a real Kafka, with the original's end-to-end scenarios.
package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

func TestMain(m *testing.M) {
	dir, err := buildBinaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// The original's end-to-end scenarios: users / concurrency → minimum 200s,
// and every code distinct. After each, the gate holds no slot.
func TestQueue_OriginalScenarios(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	s.startWorker(t)
	base := s.startServer(t)

	for _, sc := range []struct {
		users, concurrency, min200 int
	}{
		{users: 10, concurrency: 10, min200: 10},
		{users: 200, concurrency: 50, min200: 198},
		{users: 1000, concurrency: 100, min200: 990},
	} {
		t.Run(fmt.Sprintf("%d_users_%d_concurrent", sc.users, sc.concurrency), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o := runUsers(ctx, []string{base}, sc.users, sc.concurrency)
			require.Empty(t, o.errors, "transport errors")
			assert.GreaterOrEqual(t, o.statuses[http.StatusOK], sc.min200, "statuses: %v", o.statuses)
			assert.Len(t, o.codes, o.statuses[http.StatusOK], "every 200 carries a code")
			assert.Zero(t, o.duplicates(), "a code was handed out twice")
			for code := range o.codes {
				require.True(t, domain.IsGiftCode(code), "malformed code %q", code)
			}
			gateDrains(t, in, s.gateKey, "the gate must drain to 0")
		})
	}
}

// gateDrains asserts that the Redis gate is soon empty once requests are
// over: in block mode (the default) an instance gives its leases back once
// they idle for gate.block_idle (20 ms), not with each release.
func gateDrains(t *testing.T, in infra, key, msg string) {
	t.Helper()
	assert.Eventually(t, func() bool { return gateHeld(t, in, key) == 0 }, 2*time.Second, 5*time.Millisecond, msg)
}

// gateHeld counts the slots held in the Redis gate.
func gateHeld(t *testing.T, in infra, key string) int64 {
	t.Helper()
	return testinfra.ZCard(t, in.redis, key)
}

// Two server instances share the workers; each reads only its own replies,
// so neither ever sees a reply meant for the other.
func TestQueue_TwoInstancesGetOnlyTheirOwnReplies(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	s.startWorker(t)
	// The reply routing is under test, not the gate: capacity well above the
	// 80 users, so no instance's idle leased block can refuse the other's
	// request on a loaded machine (the gate's own tests bound that).
	a, b := s.startServer(t, "RPS_GATE__CAPACITY=400"), s.startServer(t, "RPS_GATE__CAPACITY=400")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := runUsers(ctx, []string{a, b}, 400, 80)
	require.Empty(t, o.errors)
	assert.Equal(t, 400, o.statuses[http.StatusOK], "statuses: %v", o.statuses)
	assert.Zero(t, o.duplicates())
	for _, base := range []string{a, b} {
		assert.Zero(t, metricstest.Scrape(t, base, "rps_broker_late_replies_total"), "%s read a reply not meant for it", base)
		assert.Equal(t, 200.0, metricstest.Scrape(t, base, `rps_http_requests_total{code="200",host="",method="POST",url="/queue"}`))
	}
	gateDrains(t, in, s.gateKey, "the gate must drain to 0")
}
