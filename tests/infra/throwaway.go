package infra

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ThrowawayRedis is a redis-server of the test's own on a free loopback
// port, so a test can stop, restart or pause it without disturbing the
// shared one. The binary is RedisServerBin's.
type ThrowawayRedis struct {
	t    testing.TB
	bin  string
	port string
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts a throwaway redis-server (following RedisURL's
// skip-or-fail rule) and kills it when the test ends.
func StartRedis(t testing.TB) *ThrowawayRedis {
	t.Helper()
	RedisURL(t) // the same skip-or-fail rule as every integration test
	bin := RedisServerBin(t)
	_, port, err := net.SplitHostPort(FreeAddr(t))
	require.NoError(t, err)
	r := &ThrowawayRedis{t: t, bin: bin, port: port, dir: t.TempDir()}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the redis:// URL of the throwaway server.
func (r *ThrowawayRedis) URL() string { return "redis://" + r.Addr() + "/0" }

// Addr is its host:port.
func (r *ThrowawayRedis) Addr() string { return "127.0.0.1:" + r.port }

// Start runs redis-server (again, empty: no persistence) and waits until it
// answers PING.
func (r *ThrowawayRedis) Start() {
	r.t.Helper()
	r.cmd = exec.CommandContext(context.Background(), r.bin, "--bind", "127.0.0.1", "--port", r.port, "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for !pong(r.Addr()) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("throwaway redis-server on port %s did not answer within 10s; log:\n%s", r.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills redis-server as a crash would (SIGKILL); nothing survives,
// the scripts it had loaded included.
func (r *ThrowawayRedis) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a paused one cannot die otherwise
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Pause stops redis-server in its tracks (SIGSTOP), as a long fork, a swap
// storm or a stalled VM would: connections stay open, nothing answers.
func (r *ThrowawayRedis) Pause() {
	r.t.Helper()
	require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGSTOP))
}

// Resume lets a paused redis-server run again (SIGCONT); it then runs every
// command that queued up meanwhile.
func (r *ThrowawayRedis) Resume() {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
	}
}

func pong(addr string) bool {
	c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext(context.Background(), "tcp", addr)
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
