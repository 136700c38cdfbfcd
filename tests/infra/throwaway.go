package infra

import (
	"bufio"
	"context"
	"crypto/tls"
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
	pki  *PKI     // WithTLS; nil: plain TCP
	user []string // WithACLUser's user directive; nil: the default user, no password
	// WithSentinel: the master this server watches as a sentinel, and its name.
	sentinelOf *ThrowawayRedis
	masterSet  string
	cluster    bool     // WithCluster: a one-node cluster owning every slot
	extra      []string // WithArgs
}

// RedisOption sets up a throwaway redis-server.
type RedisOption func(*ThrowawayRedis)

// WithTLS makes the server speak TLS only, with pki's server certificate,
// and require a client certificate signed by pki's CA.
func WithTLS(pki *PKI) RedisOption { return func(r *ThrowawayRedis) { r.pki = pki } }

// WithACLUser adds the ACL user name with password, allowed every command,
// key and channel, and turns the default (passwordless) user off.
func WithACLUser(name, password string) RedisOption {
	return func(r *ThrowawayRedis) { r.user = []string{name, "on", ">" + password, "~*", "&*", "+@all"} }
}

// WithArgs passes more redis-server arguments, e.g. "--maxmemory-policy",
// "volatile-lru"; they come last, so they win.
func WithArgs(args ...string) RedisOption {
	return func(r *ThrowawayRedis) { r.extra = append(r.extra, args...) }
}

// StartRedis starts a throwaway redis-server (following RedisURL's
// skip-or-fail rule) and kills it when the test ends.
func StartRedis(t testing.TB, opts ...RedisOption) *ThrowawayRedis {
	t.Helper()
	RedisURL(t) // the same skip-or-fail rule as every integration test
	bin := RedisServerBin(t)
	_, port, err := net.SplitHostPort(FreeAddr(t))
	require.NoError(t, err)
	r := &ThrowawayRedis{t: t, bin: bin, port: port, dir: t.TempDir()}
	for _, o := range opts {
		o(r)
	}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the URL of the throwaway server, without credentials: redis://,
// or rediss:// when it speaks TLS.
func (r *ThrowawayRedis) URL() string {
	if r.pki != nil {
		return "rediss://" + r.Addr() + "/0"
	}
	return "redis://" + r.Addr() + "/0"
}

// Addr is its host:port.
func (r *ThrowawayRedis) Addr() string { return "127.0.0.1:" + r.port }

// Start runs redis-server (again, empty: no persistence) and waits until it
// answers PING.
func (r *ThrowawayRedis) Start() {
	r.t.Helper()
	args := []string{"--bind", "127.0.0.1", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log")}
	args = append(r.topologyArgs(), args...)
	var probe *tls.Config
	if r.pki == nil {
		args = append(args, "--port", r.port)
	} else {
		args = append(args, "--port", "0", "--tls-port", r.port, "--tls-cert-file", r.pki.ServerCertFile,
			"--tls-key-file", r.pki.ServerKeyFile, "--tls-ca-cert-file", r.pki.CAFile, "--tls-auth-clients", "yes")
		probe = r.pki.ClientTLS(r.t)
	}
	if r.user != nil {
		args = append(append(args, "--user", "default", "off", "--user"), r.user...)
	}
	args = append(args, r.extra...)
	r.cmd = exec.CommandContext(context.Background(), r.bin, args...)
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for !pong(r.Addr(), probe) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("throwaway redis-server on port %s did not answer within 10s; log:\n%s", r.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.cluster {
		r.ownEverySlot()
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

// pong reports whether the server at addr answers a PING, over TLS when
// config is not nil. A refusal for want of a password is an answer too.
func pong(addr string, config *tls.Config) bool {
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	var c net.Conn
	var err error
	if config != nil {
		c, err = (&tls.Dialer{NetDialer: d, Config: config}).DialContext(context.Background(), "tcp", addr)
	} else {
		c, err = d.DialContext(context.Background(), "tcp", addr)
	}
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.TrimSpace(line) == "+PONG" || strings.HasPrefix(line, "-NOAUTH"))
}
