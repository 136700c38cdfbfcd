package infra

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stretchr/testify/require"
)

// WithSentinel makes the server a Redis Sentinel, instead of a data node,
// that watches master under the name masterSet (a quorum of one).
func WithSentinel(master *ThrowawayRedis, masterSet string) RedisOption {
	return func(r *ThrowawayRedis) { r.sentinelOf, r.masterSet = master, masterSet }
}

// WithCluster makes the server a one-node Redis Cluster that owns every
// slot: a cluster client's whole topology.
func WithCluster() RedisOption { return func(r *ThrowawayRedis) { r.cluster = true } }

// topologyArgs are the first arguments of redis-server for the server's
// role: a sentinel's config file, or a data node's persistence (none) and
// cluster settings.
func (r *ThrowawayRedis) topologyArgs() []string {
	if r.sentinelOf != nil {
		conf := filepath.Join(r.dir, "sentinel.conf") // a sentinel rewrites its config: it must be a file
		if _, err := os.Stat(conf); err != nil {
			monitor := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %s 1\n", r.masterSet, r.sentinelOf.port)
			require.NoError(r.t, os.WriteFile(conf, []byte(monitor), 0o600))
		}
		return []string{conf, "--sentinel"}
	}
	args := []string{"--save", "", "--appendonly", "no"}
	if r.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(r.dir, "nodes.conf"))
	}
	return args
}

// ownEverySlot gives the one-node cluster every slot (kept in nodes.conf
// across a restart) and waits until the cluster says it is ok.
func (r *ThrowawayRedis) ownEverySlot() {
	r.t.Helper()
	_, _ = command(r.Addr(), "CLUSTER", "ADDSLOTSRANGE", "0", "16383") // already owned after a restart
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := command(r.Addr(), "CLUSTER", "INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("one-node cluster on port %s not ok within 10s: %v %s", r.port, err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command sends one command over plain TCP and returns its reply: a simple
// string, an error's text (with err set) or a bulk string.
func command(addr string, args ...string) (string, error) {
	c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	req := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		req += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return line[1:], errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		_, err = io.ReadFull(rd, buf)
		return string(buf[:n]), err
	}
	return strings.TrimPrefix(line, "+"), nil
}
