package redisgate_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redisgate"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redisURL is the shared test Redis; integration tests never skip in CI.
func redisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("REDIS_URL must be set in CI (go tool task test starts Redis)")
		}
		t.Skip("REDIS_URL not set; run go tool task test")
	}
	return url
}

type gateOpts struct {
	url, key string
	capacity int
	lease    time.Duration
	failOpen bool
	reg      *prometheus.Registry
}

func newGate(t testing.TB, o gateOpts) *redisgate.Gate {
	t.Helper()
	if o.key == "" {
		o.key = uniqueKey(t)
	}
	if o.lease == 0 {
		o.lease = 30 * time.Second
	}
	if o.reg == nil {
		o.reg = prometheus.NewRegistry()
	}
	g, err := redisgate.New(context.Background(), redisgate.Config{
		URL: o.url, Key: o.key, Capacity: o.capacity, Lease: o.lease, FailOpen: o.failOpen,
		DialTimeout: time.Second, CommandTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: o.reg,
	})
	require.NoError(t, err)
	t.Cleanup(g.Close)
	return g
}

// uniqueKey isolates a test's gate and deletes it afterwards.
func uniqueKey(t testing.TB) string {
	t.Helper()
	key := "{test-" + uuid.NewString() + "}:gate"
	t.Cleanup(func() {
		c := rawClient(t, redisURL(t))
		c.Do(context.Background(), c.B().Del().Key(key).Build())
	})
	return key
}

func rawClient(t testing.TB, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	require.NoError(t, err)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func zcard(t testing.TB, c rueidis.Client, key string) int64 {
	t.Helper()
	n, err := c.Do(context.Background(), c.B().Zcard().Key(key).Build()).AsInt64()
	require.NoError(t, err)
	return n
}

func TestContract(t *testing.T) {
	url := redisURL(t)
	contract.TestGate(t, func(t *testing.T, capacity int) ports.ConcurrencyGate {
		return newGate(t, gateOpts{url: url, capacity: capacity})
	})
}

// 1,000 goroutines over 3 clients (as 3 instances would) hammer one gate:
// the number held never exceeds the capacity, and it drains to 0.
func TestNeverMoreThanCapacity(t *testing.T) {
	url := redisURL(t)
	const capacity = 100
	key := uniqueKey(t)
	gates := []*redisgate.Gate{
		newGate(t, gateOpts{url: url, key: key, capacity: capacity}),
		newGate(t, gateOpts{url: url, key: key, capacity: capacity}),
		newGate(t, gateOpts{url: url, key: key, capacity: capacity}),
	}
	raw := rawClient(t, url)

	var holding, maxHolding, admitted, refused atomic.Int64
	var maxZcard atomic.Int64
	stop := time.Now().Add(3 * time.Second)
	sampled := make(chan struct{})
	go func() { // sample the gate's own state in Redis while the load runs
		defer close(sampled)
		for time.Now().Before(stop) {
			if n := zcard(t, raw, key); n > maxZcard.Load() {
				maxZcard.Store(n)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for i := range 1000 {
		g := gates[i%len(gates)]
		wg.Go(func() {
			ctx := context.Background()
			for time.Now().Before(stop) {
				slot, err := g.Acquire(ctx, uuid.NewString())
				if err != nil {
					if !assert.ErrorIs(t, err, domain.ErrAtCapacity) {
						return
					}
					refused.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				admitted.Add(1)
				n := holding.Add(1)
				for m := maxHolding.Load(); n > m && !maxHolding.CompareAndSwap(m, n); m = maxHolding.Load() {
				}
				time.Sleep(time.Millisecond)
				holding.Add(-1)
				assert.NoError(t, g.Release(ctx, slot))
			}
		})
	}
	wg.Wait()
	<-sampled

	t.Logf("admitted %d, refused %d, max held %d, max ZCARD %d", admitted.Load(), refused.Load(), maxHolding.Load(), maxZcard.Load())
	assert.LessOrEqual(t, maxHolding.Load(), int64(capacity))
	assert.LessOrEqual(t, maxZcard.Load(), int64(capacity))
	assert.Positive(t, refused.Load(), "the load must have filled the gate")
	assert.Equal(t, int64(0), zcard(t, raw, key), "drains to 0")
}

// A holder that dies without releasing loses its slots after the lease.
func TestCrashedHolderSlotsExpireAfterLease(t *testing.T) {
	url := redisURL(t)
	key := uniqueKey(t)
	const lease = 500 * time.Millisecond
	crashed, err := redisgate.New(context.Background(), redisgate.Config{
		URL: url, Key: key, Capacity: 2, Lease: lease, DialTimeout: time.Second, CommandTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	for range 2 {
		_, err := crashed.Acquire(context.Background(), uuid.NewString())
		require.NoError(t, err)
	}
	crashed.Close() // dies mid-hold: never releases

	survivor := newGate(t, gateOpts{url: url, key: key, capacity: 2, lease: lease})
	_, err = survivor.Acquire(context.Background(), uuid.NewString())
	require.ErrorIs(t, err, domain.ErrAtCapacity, "still held inside the lease")

	require.Eventually(t, func() bool {
		_, err := survivor.Acquire(context.Background(), uuid.NewString())
		return err == nil
	}, 5*lease, 50*time.Millisecond, "slots come back after the lease")
}

func TestScriptFlushBetweenCalls(t *testing.T) {
	url := redisURL(t)
	g := newGate(t, gateOpts{url: url, capacity: 2})
	slot, err := g.Acquire(context.Background(), uuid.NewString())
	require.NoError(t, err)
	raw := rawClient(t, url)
	require.NoError(t, raw.Do(context.Background(), raw.B().ScriptFlush().Build()).Error())
	require.NoError(t, g.Release(context.Background(), slot))
	_, err = g.Acquire(context.Background(), uuid.NewString())
	require.NoError(t, err)
}

func TestMetricsCountOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newGate(t, gateOpts{url: redisURL(t), capacity: 1, reg: reg})
	slot, err := g.Acquire(context.Background(), uuid.NewString())
	require.NoError(t, err)
	_, err = g.Acquire(context.Background(), uuid.NewString())
	require.ErrorIs(t, err, domain.ErrAtCapacity)

	families, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]bool{}
	for _, f := range families {
		byName[f.GetName()] = true
	}
	assert.True(t, byName["rps_gate_acquire_duration_seconds"])
	assert.True(t, byName["rps_gate_release_duration_seconds"])
	assert.InDelta(t, 1, metricValue(t, reg, "rps_gate_slots_in_use", ""), 0)
	require.NoError(t, g.Release(context.Background(), slot))
	assert.InDelta(t, 0, metricValue(t, reg, "rps_gate_slots_in_use", ""), 0)
	assert.InDelta(t, 1, metricValue(t, reg, "rps_gate_acquires_total", "ok"), 0)
	assert.InDelta(t, 1, metricValue(t, reg, "rps_gate_acquires_total", "at_capacity"), 0)
}

// metricValue reads one series of a gauge or counter; labels is the
// series' single label value, or "" for an unlabelled metric.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

// throwaway is a redis-server of the test's own, so it can be stopped and
// restarted without disturbing the shared one.
type throwaway struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startThrowaway(t *testing.T) *throwaway {
	t.Helper()
	redisURL(t) // same skip/fail rule as every integration test
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server must be on PATH (go tool task test installs it)")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	r := &throwaway{t: t, bin: bin, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *throwaway) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *throwaway) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	require.NoError(r.t, r.cmd.Start())
	require.Eventually(r.t, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "throwaway redis did not start")
}

func (r *throwaway) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func TestRedisRestartedBetweenCalls(t *testing.T) {
	r := startThrowaway(t)
	g := newGate(t, gateOpts{url: r.url(), key: "{restart}:gate", capacity: 2})
	_, err := g.Acquire(context.Background(), uuid.NewString())
	require.NoError(t, err)

	r.stop()
	r.start()
	// The restarted Redis has no scripts loaded: EVALSHA falls back to EVAL.
	require.Eventually(t, func() bool {
		_, err := g.Acquire(context.Background(), uuid.NewString())
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
}

func TestRedisStopped_FailClosedInBoundedTime(t *testing.T) {
	r := startThrowaway(t)
	g := newGate(t, gateOpts{url: r.url(), key: "{down}:gate", capacity: 2})
	r.stop()

	start := time.Now()
	_, err := g.Acquire(context.Background(), uuid.NewString())
	require.ErrorIs(t, err, domain.ErrUnavailable)
	require.NotErrorIs(t, err, domain.ErrAtCapacity, "an outage is not 'too many requests'")
	assert.Less(t, time.Since(start), 3*time.Second)
	require.ErrorIs(t, g.Ready(context.Background()), domain.ErrUnavailable)
}

func TestRedisStopped_FailOpenAdmits(t *testing.T) {
	r := startThrowaway(t)
	reg := prometheus.NewRegistry()
	g := newGate(t, gateOpts{url: r.url(), key: "{down}:gate", capacity: 2, failOpen: true, reg: reg})
	r.stop()

	for range 3 { // more than the capacity: nothing counts while Redis is down
		slot, err := g.Acquire(context.Background(), uuid.NewString())
		require.NoError(t, err)
		assert.NotEmpty(t, slot.ID)
	}
	assert.InDelta(t, 3, metricValue(t, reg, "rps_gate_acquires_total", "fail_open"), 0)
}
