package redisgate_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redisgate"
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
		DialTimeout: time.Second, CommandTimeout: time.Second,
		Logger: discard, Registerer: prometheus.NewRegistry(),
	}
}

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
		require.NoError(t, c.Do(context.Background(), c.B().Del().Key(key).Build()).Error())
	})
	return key
}

// throwaway is a redis-server of the test's own on a free port, so it can be
// stopped and restarted without disturbing the shared one. The binary is
// $REDIS_SERVER_BIN, else redis-server on PATH.
type throwaway struct {
	t    testing.TB
	bin  string
	port string
	dir  string
	cmd  *exec.Cmd
}

func startThrowaway(t testing.TB) *throwaway {
	t.Helper()
	infra.RedisURL(t) // the same skip-or-fail rule as every integration test
	bin := infra.RedisServerBin(t)
	_, port, err := net.SplitHostPort(infra.FreeAddr(t))
	require.NoError(t, err)
	r := &throwaway{t: t, bin: bin, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *throwaway) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

// start runs redis-server and waits until it answers PING.
func (r *throwaway) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", r.port, "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for !pong("127.0.0.1:" + r.port) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("throwaway redis-server on port %s did not answer within 10s; log:\n%s", r.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills redis-server as a crash would (SIGKILL); nothing survives.
func (r *throwaway) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func pong(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}

// pause stops redis-server in its tracks (SIGSTOP), as a long fork, a swap
// storm or a stalled VM would: connections stay open, nothing answers.
func (r *throwaway) pause() {
	r.t.Helper()
	require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGSTOP))
	r.t.Cleanup(r.resume) // never leave a stopped process behind
}

// resume lets a paused redis-server run again (SIGCONT); it then runs every
// command that queued up meanwhile.
func (r *throwaway) resume() {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// syncBuffer is a log sink that the gate's goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
