package redisgate_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// rueidis runs background goroutines per client: every test closes its
// clients in t.Cleanup, and goleak proves it. One exception: when a client
// probes for Redis Cluster and a connection fails (an unreachable or stopped
// Redis), rueidis schedules a topology refresh that sleeps up to 1 s and then
// ends, even after Close (rueidis singleflight.go, call.DelayDo). It is
// bounded and not ours, so that one function is ignored, nothing else.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"))
}

// redisURL is the shared test Redis, started by deployments/scripts/redis.sh.
func redisURL(t testing.TB) string {
	t.Helper()
	return infra.RedisURL(t)
}

var discard = slog.New(slog.DiscardHandler)

// config is a gate config for tests: a key of its own, short timeouts.
func config(t testing.TB, url string, capacity int) redisgate.Config {
	t.Helper()
	return redisgate.Config{
		URL: url, Key: uniqueKey(t, url), Capacity: capacity, Lease: 30 * time.Second,
		DialTimeout: time.Second, CommandTimeout: time.Second, BlockSize: 1,
		Logger: discard, Registerer: prometheus.NewRegistry(),
	}
}

// Test settings of block mode: blocks of 8, slots idle for 20 ms go back.
const (
	testBlockSize = 8
	testBlockIdle = 20 * time.Millisecond
)

// blockConfig is config in block mode.
func blockConfig(t testing.TB, url string, capacity int) redisgate.Config {
	t.Helper()
	cfg := config(t, url, capacity)
	cfg.BlockSize, cfg.BlockIdle = testBlockSize, testBlockIdle
	return cfg
}

// modes are the gate's two modes, for tests that run in both.
var modes = []struct {
	name   string
	config func(t testing.TB, url string, capacity int) redisgate.Config
}{{"per_request", config}, {"blocks", blockConfig}}

// open makes a gate from cfg and closes it when the test ends.
func open(t testing.TB, cfg redisgate.Config) *redisgate.Gate {
	t.Helper()
	g, err := redisgate.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(g.Close)
	return g
}

// uniqueKey isolates a test's gate and deletes it afterwards.
func uniqueKey(t testing.TB, url string) string {
	t.Helper()
	key := "{test-" + uuid.NewString() + "}:gate"
	t.Cleanup(func() {
		opt, err := rueidis.ParseURL(url)
		require.NoError(t, err)
		opt.DisableCache, opt.Dialer.Timeout = true, time.Second
		c, err := rueidis.NewClient(opt)
		if err != nil { // a stopped throwaway Redis has nothing left to clean
			return
		}
		defer c.Close()
		require.NoError(t, c.Do(context.Background(), c.B().Del().Key(key, key+":undone", key+":instances", key+":contended").Build()).Error())
	})
	return key
}
