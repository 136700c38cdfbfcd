package fairshare

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// RedisProbe reads the gate's lease set (a sorted set, one member per slot
// leased) with ZCARD: the cluster-wide count of slots held, read atomically,
// which no sum of per-instance gauges gives. It speaks just enough RESP for
// AUTH, SELECT and ZCARD, so the bench needs no Redis client library.
type RedisProbe struct {
	Addr     string // host:port
	Username string
	Password string
	DB       int
	Key      string // the gate's key, e.g. {rps}:gate
}

// ParseRedisURL reads redis://[user:password@]host:port[/db] into a probe
// of key.
func ParseRedisURL(raw, key string) (*RedisProbe, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if u.Scheme != "redis" {
		return nil, fmt.Errorf("redis url %q: scheme must be redis (no TLS here)", raw)
	}
	if key == "" {
		return nil, errors.New("redis probe: no gate key")
	}
	p := &RedisProbe{Addr: u.Host, Key: key}
	if u.Port() == "" {
		p.Addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	if u.User != nil {
		p.Username = u.User.Username()
		p.Password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if p.DB, err = strconv.Atoi(db); err != nil || p.DB < 0 {
			return nil, fmt.Errorf("redis url %q: database %q is not a number", raw, db)
		}
	}
	return p, nil
}

// redisConn is one connection of a probe.
type redisConn struct {
	c net.Conn
	r *bufio.Reader
}

// dial connects, authenticates and selects the database.
func (p *RedisProbe) dial(ctx context.Context, allowRemote bool) (*redisConn, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := target.GuardDial(d.DialContext, allowRemote, net.DefaultResolver)(ctx, "tcp", p.Addr)
	if err != nil {
		return nil, fmt.Errorf("redis dial: %w", err)
	}
	rc := &redisConn{c: c, r: bufio.NewReader(c)}
	var setup [][]string
	switch {
	case p.Password != "" && p.Username != "":
		setup = append(setup, []string{"AUTH", p.Username, p.Password})
	case p.Password != "":
		setup = append(setup, []string{"AUTH", p.Password})
	}
	if p.DB != 0 {
		setup = append(setup, []string{"SELECT", strconv.Itoa(p.DB)})
	}
	for _, cmd := range setup {
		if _, err := rc.do(cmd...); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("redis %s: %w", strings.ToLower(cmd[0]), err)
		}
	}
	return rc, nil
}

func (rc *redisConn) close() { _ = rc.c.Close() }

// zcard returns the number of members of key.
func (rc *redisConn) zcard(key string) (int64, error) {
	v, err := rc.do("ZCARD", key)
	if err != nil {
		return 0, fmt.Errorf("zcard: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("zcard: reply %q is not an integer", v)
	}
	return n, nil
}

// do sends one command and reads a simple, integer or error reply.
func (rc *redisConn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := rc.c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	if _, err := rc.c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
