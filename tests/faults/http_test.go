package faults_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

func dial(t *testing.T, s *server) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", strings.TrimPrefix(s.base, "http://"))
	require.NoError(t, err)
	return c
}

// quickRequests sends n POST /queue one after another and returns the
// slowest; every one must be 200.
func quickRequests(t *testing.T, s *server, n int) time.Duration {
	t.Helper()
	var slowest time.Duration
	for range n {
		start := time.Now()
		require.Equal(t, http.StatusOK, s.status(http.MethodPost, "/queue"))
		slowest = max(slowest, time.Since(start))
	}
	return slowest
}

// Slowloris: 200 connections trickle their headers a byte at a time. The
// server drops each at read_header_timeout (1 s here) and serves others
// meanwhile.
func TestHTTP_Slowloris(t *testing.T) {
	s := startServer(t, "")
	before := s.baseline()
	const conns = 200
	var closed atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	var lasted [conns]time.Duration
	for i := range conns {
		c := dial(t, s)
		wg.Go(func() {
			defer c.Close()
			_, _ = io.WriteString(c, "POST /queue HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			for time.Since(start) < 10*time.Second {
				if _, err := c.Write([]byte("a")); err != nil {
					break
				}
				_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					break // closed by the server
				}
			}
			lasted[i] = time.Since(start)
			closed.Add(1)
		})
	}
	slowest := quickRequests(t, s, 20)
	wg.Wait()
	longest := time.Duration(0)
	for _, d := range lasted {
		longest = max(longest, d)
	}
	t.Logf("FIGURES slowloris: %d slow connections, all dropped by the server within %s; slowest normal request meanwhile %s",
		closed.Load(), longest.Round(time.Millisecond), slowest.Round(time.Millisecond))
	assert.Less(t, longest, 5*time.Second, "every slow connection is dropped near read_header_timeout")
	assert.Less(t, slowest, 2*time.Second, "others are served meanwhile")
	s.checkRecovered(before, 100<<20)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errorsAs(err, &ne) && ne.Timeout()
}

// Oversized headers: 300 connections each send 1 MiB of headers at once.
// Each gets 431 (or its connection is cut once the limit is read); the
// server's memory stays small (Go's own 1 MiB default took it to 560 MB).
func TestHTTP_OversizedHeaders(t *testing.T) {
	s := startServer(t, "")
	before := s.baseline()
	const conns = 300
	header := strings.Repeat("a", 1<<20)
	var refused, accepted atomic.Int32
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if rss := s.rss(); rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range conns {
		c := dial(t, s)
		wg.Go(func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			go func() { _, _ = fmt.Fprintf(c, "POST /queue HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", header) }()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			switch {
			case err == nil && resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge:
				refused.Add(1)
			case err == nil:
				accepted.Add(1)
			case isReset(err):
				refused.Add(1) // cut after the limit, before the answer was read
			default:
				t.Errorf("unexpected: %v", err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	t.Logf("FIGURES oversized headers: %d × 1 MiB → %d refused (431), %d accepted; peak RSS %d MiB",
		conns, refused.Load(), accepted.Load(), peak.Load()>>20)
	assert.Zero(t, accepted.Load())
	assert.Less(t, peak.Load(), int64(150<<20), "peak RSS while 300 connections send 1 MiB headers")
	s.checkRecovered(before, 100<<20)
}

func isReset(err error) bool {
	return isConnError(err) || errorsIs(err, io.EOF) || errorsIs(err, io.ErrUnexpectedEOF) || errorsIs(err, syscall.EPIPE)
}

// Oversized bodies get 413 without the server reading them: a declared
// length at once, a chunked one once the limit is read.
func TestHTTP_OversizedBodies(t *testing.T) {
	s := startServer(t, "")
	before := s.baseline()
	for name, body := range map[string]io.Reader{
		"declared_10MiB": strings.NewReader(strings.Repeat("a", 10<<20)),
		"chunked_1MiB":   io.MultiReader(strings.NewReader(strings.Repeat("a", 1<<20))), // unknown length: chunked
	} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.base+"/queue", body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			assert.True(t, isReset(err), "%s: %v", name, err) // the server may cut the upload after answering
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, name)
		t.Logf("FIGURES oversized body %s: %d in %s", name, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	}
	s.checkRecovered(before, 100<<20)
}

// 2,000 idle keep-alive connections cost the server a goroutine and a few
// kB each, no more; others are still served at once, and when the clients
// go the goroutines go with them.
func TestHTTP_IdleConnections(t *testing.T) {
	s := startServer(t, "")
	before := s.baseline()
	const conns = 2000
	var idle []net.Conn
	for range conns {
		c := dial(t, s)
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		idle = append(idle, c)
	}
	slowest := quickRequests(t, s, 20)
	s.forceGC()
	goroutines := metricstest.Scrape(t, s.base, "go_goroutines")
	rss := s.rss()
	t.Logf("FIGURES idle connections: %d open → %v goroutines (baseline %v), RSS %d MiB; slowest request meanwhile %s",
		conns, goroutines, before.goroutines, rss>>20, slowest.Round(time.Millisecond))
	assert.Less(t, slowest, time.Second)
	assert.Less(t, rss, int64(200<<20), "RSS with 2,000 idle connections")
	for _, c := range idle {
		c.Close()
	}
	s.checkRecovered(before, 100<<20)
}
