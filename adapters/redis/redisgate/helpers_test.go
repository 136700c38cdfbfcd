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

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
	"github.com/1000x-rps-server/rps-server/ports"
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

// gateConfig is what a test sets up: the gate's settings, the mode's (a
// BlockSize of 1 is the per-request gate, as gate.block_size is), and the
// client's, which open builds for the gate as an instance builds its own.
type gateConfig struct {
	redisgate.Config
	URL           string
	MaxFlushDelay time.Duration
	BlockSize     int
	BlockIdle     time.Duration
}

// gate is a gate of either mode, as the tests use it.
type gate interface {
	ports.ConcurrencyGate
	Close()
}

// config is a per-request gate config for tests: a key of its own, short timeouts.
func config(t testing.TB, url string, capacity int) gateConfig {
	t.Helper()
	return gateConfig{
		Config: redisgate.Config{
			Key: uniqueKey(t, url), Capacity: capacity, Lease: 30 * time.Second, CommandTimeout: time.Second,
			Logger: discard, Registerer: prometheus.NewRegistry(),
		},
		URL: url, BlockSize: 1,
	}
}

// Test settings of block mode: blocks of 8, slots idle for 20 ms go back.
const (
	testBlockSize = 8
	testBlockIdle = 20 * time.Millisecond
)

// blockConfig is config in block mode.
func blockConfig(t testing.TB, url string, capacity int) gateConfig {
	t.Helper()
	cfg := config(t, url, capacity)
	cfg.BlockSize, cfg.BlockIdle = testBlockSize, testBlockIdle
	return cfg
}

// modes are the gate's two modes, for tests that run in both.
var modes = []struct {
	name   string
	config func(t testing.TB, url string, capacity int) gateConfig
}{{"per_request", config}, {"blocks", blockConfig}}

// open makes a gate from cfg and closes it when the test ends.
func open(t testing.TB, cfg gateConfig) gate {
	t.Helper()
	g := openUnclosed(t, cfg)
	t.Cleanup(g.Close)
	return g
}

// openUnclosed makes a gate from cfg for a test that ends it itself (a
// crash): the per-request gate, or the block gate when cfg.BlockSize is
// over 1, as the server's wiring chooses. It runs on a client of its own, as
// an instance does, closed when the test ends.
func openUnclosed(t testing.TB, cfg gateConfig) gate {
	t.Helper()
	client := infra.AdapterClient(t, cfg.URL, func(c *redisclient.Config) {
		c.CommandTimeout, c.MaxFlushDelay = cfg.CommandTimeout, cfg.MaxFlushDelay
	})
	if cfg.Hold == 0 { // a request holds its slot for at most half the lease, unless the test says
		cfg.Hold = cfg.Lease / 2
	}
	var g gate
	var err error
	if cfg.BlockSize > 1 {
		g, err = redisgate.NewBlockGate(context.Background(), client, redisgate.BlockConfig{Config: cfg.Config, Size: cfg.BlockSize, Idle: cfg.BlockIdle})
	} else {
		g, err = redisgate.NewPerRequestGate(context.Background(), client, cfg.Config)
	}
	require.NoError(t, err)
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
		require.NoError(t, c.Do(context.Background(), c.B().Del().Key(key, key+":undone", key+":instances", key+":contended", key+":share", key+":levels", key+":clients", key+":weight").Build()).Error())
	})
	return key
}
