package infra

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RedisCluster is a Redis Cluster of the test's own, three masters and three
// replicas on free loopback ports, started by
// deployments/scripts/redis-cluster.sh (so it is the cluster a developer
// runs), for tests that kill a master and watch its replica take over.
type RedisCluster struct {
	t      testing.TB
	script string
	env    []string
	dir    string
	addrs  []string // the six nodes' host:port, as started
}

// ClusterOption sets up a Redis Cluster of the test's own.
type ClusterOption func(*RedisCluster)

// WithNodeTimeout sets cluster-node-timeout: how long a master may be silent
// before its replica is promoted.
func WithNodeTimeout(d time.Duration) ClusterOption {
	return func(c *RedisCluster) {
		c.env = append(c.env, "REDIS_CLUSTER_NODE_TIMEOUT="+strconv.FormatInt(d.Milliseconds(), 10))
	}
}

// WithClusterConf adds redis.conf lines to every node, e.g.
// "min-replicas-to-write 1".
func WithClusterConf(lines ...string) ClusterOption {
	return func(c *RedisCluster) { c.env = append(c.env, "REDIS_CLUSTER_ARGS="+strings.Join(lines, ";")) }
}

// StartRedisCluster starts the cluster (following RedisURL's skip-or-fail
// rule), waits until every slot is served with a replica behind each
// master, and stops it when the test ends.
//
// The twelve ports are picked free, then closed for redis-server to bind:
// in between, another test's outgoing connection may take one, and that
// node never answers. So a failed start is stopped and tried again on other
// ports, up to three times, and the nodes' logs are kept in the report.
func StartRedisCluster(t testing.TB, opts ...ClusterOption) *RedisCluster {
	t.Helper()
	RedisURL(t)
	RedisServerBin(t)
	Tool(t, "REDIS_CLI_BIN", "redis-cli", "install redis-tools (Debian's redis-server package brings it)")
	_, file, _, _ := runtime.Caller(0)
	c := &RedisCluster{t: t, script: filepath.Join(filepath.Dir(file), "..", "..", "deployments", "scripts", "redis-cluster.sh")}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		c.dir, c.addrs = t.TempDir(), nil
		var ports, bus []string
		for range 6 {
			c.addrs = append(c.addrs, FreeAddr(t))
			ports, bus = append(ports, port(c.addrs[len(c.addrs)-1])), append(bus, port(FreeAddr(t)))
		}
		c.env = append(os.Environ(), "REDIS_CLUSTER_DIR="+c.dir,
			"REDIS_CLUSTER_PORTS="+strings.Join(ports, ","), "REDIS_CLUSTER_BUS_PORTS="+strings.Join(bus, ","))
		for _, o := range opts {
			o(c)
		}
		out, err := c.exec("start")
		if err == nil {
			// Registered after this attempt's TempDir, so it runs before the
			// folder (the nodes' pid files and state) is removed.
			t.Cleanup(func() { c.run("stop") })
			return c
		}
		logs := logTails(c.dir)
		_, _ = c.exec("stop")
		if attempt == attempts {
			t.Fatalf("redis-cluster.sh start failed %d times, the last: %v\n%s%s", attempts, err, out, logs)
		}
		t.Logf("redis-cluster.sh start failed, trying other ports: %v\n%s%s", err, out, logs)
	}
}

// logTails is the last lines of each node's log under dir, for a report.
func logTails(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*", "redis.log"))
	var b strings.Builder
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", l, strings.Join(lines[max(0, len(lines)-3):], "\n"))
	}
	return b.String()
}

// run runs the script with cmd and fails the test if it fails.
func (c *RedisCluster) run(cmd string) {
	c.t.Helper()
	if out, err := c.exec(cmd); err != nil {
		c.t.Fatalf("redis-cluster.sh %s: %v\n%s", cmd, err, out)
	}
}

// exec runs the script with cmd, bounded by a minute.
func (c *RedisCluster) exec(cmd string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", c.script, cmd)
	run.Env = c.env
	return run.CombinedOutput()
}

// URL names the first node; Seeds the other five (redis.cluster.addrs).
func (c *RedisCluster) URL() string { return "redis://" + c.addrs[0] }

// Seeds is the other nodes, comma-separated, as redis.cluster.addrs takes them.
func (c *RedisCluster) Seeds() string { return strings.Join(c.addrs[1:], ",") }

// Addrs is every node's host:port, masters and replicas, as started.
func (c *RedisCluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// Slot is the hash slot of key, as the cluster computes it.
func (c *RedisCluster) Slot(key string) int {
	c.t.Helper()
	for _, a := range c.addrs {
		if reply, err := command(a, "CLUSTER", "KEYSLOT", key); err == nil {
			n, err := strconv.Atoi(strings.TrimPrefix(reply, ":"))
			require.NoError(c.t, err, "CLUSTER KEYSLOT %q: %q", key, reply)
			return n
		}
	}
	c.t.Fatal("no node of the cluster answers")
	return 0
}

// MasterOf is the address of the master serving key's slot now, as the live
// nodes see it (a node marked failed does not count), or "" if none does.
func (c *RedisCluster) MasterOf(key string) string {
	c.t.Helper()
	slot := c.Slot(key)
	for _, a := range c.addrs {
		nodes, err := command(a, "CLUSTER", "NODES")
		if err != nil {
			continue
		}
		return masterOfSlot(nodes, slot)
	}
	return ""
}

// masterOfSlot reads CLUSTER NODES: the master, not failed, serving slot.
func masterOfSlot(nodes string, slot int) string {
	for line := range strings.Lines(nodes) {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		for _, r := range f[8:] {
			lo, hi, found := strings.Cut(r, "-")
			if !found {
				hi = lo
			}
			a, errA := strconv.Atoi(lo)
			b, errB := strconv.Atoi(hi)
			if errA == nil && errB == nil && a <= slot && slot <= b {
				addr, _, _ := strings.Cut(f[1], "@")
				return addr
			}
		}
	}
	return ""
}

// Kill ends the node at addr at once (SIGKILL), as a crash would: what it
// had not yet sent its replica is lost.
func (c *RedisCluster) Kill(addr string) {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.dir, port(addr), "redis.pid"))
	require.NoError(c.t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(c.t, err)
	require.NoError(c.t, syscall.Kill(pid, syscall.SIGKILL))
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("redis-server %s (pid %d) alive 2 s after SIGKILL", addr, pid)
}

// WaitPromoted waits until a master other than old serves key's slot and
// every slot is served again (cluster_state:ok on the new master), and
// returns the new master and when the test saw it.
func (c *RedisCluster) WaitPromoted(key, old string, within time.Duration) (string, time.Time) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := c.MasterOf(key); m != "" && m != old {
			if info, err := command(m, "CLUSTER", "INFO"); err == nil && strings.Contains(info, "cluster_state:ok") {
				return m, time.Now()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no replica promoted for %q within %s (old master %s)", key, within, old)
	return "", time.Time{}
}

// Restart starts the killed node at addr again, on its config and
// nodes.conf (no data: nothing persists), and waits until it has rejoined
// as a replica in sync with its master.
func (c *RedisCluster) Restart(addr string) {
	c.t.Helper()
	conf := filepath.Join(c.dir, port(addr), "redis.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, RedisServerBin(c.t), conf).CombinedOutput() // daemonizes
	require.NoError(c.t, err, "restart %s: %s", addr, out)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info, err := command(addr, "INFO", "replication")
		if err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s did not rejoin as a replica in sync within 30s", addr)
}

// String lists the nodes, for a test's log.
func (c *RedisCluster) String() string { return fmt.Sprintf("redis cluster %v", c.addrs) }
