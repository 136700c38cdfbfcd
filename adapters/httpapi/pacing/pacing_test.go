package pacing_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/pacing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// holds counts the pacers' holds (onHold), over every test.
var holds atomic.Int64

// server serves a handler that refuses every POST (429, Refused with retry)
// and answers every GET, behind a pacer of maxPause. It records when each
// request was read, and signals idle each time a connection has been
// answered, just before the pacer may hold it.
type server struct {
	url   string
	srv   *http.Server
	pacer *pacing.Pacer
	idle  chan struct{}
	mu    sync.Mutex
	reads []time.Time
}

func newServer(t *testing.T, maxPause, retry time.Duration) *server {
	t.Helper()
	s := &server{idle: make(chan struct{}, 64), pacer: pacing.New(maxPause, func() { holds.Add(1) }, func(r *http.Request) bool {
		return r.Header.Get("X-Exempt") != ""
	})}
	s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reads = append(s.reads, time.Now())
		s.mu.Unlock()
		if r.Method == http.MethodPost {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			pacing.Refused(r, retry)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})}
	s.srv.ConnState = func(_ net.Conn, st http.ConnState) { // Install runs it before its own
		if st == http.StateIdle {
			select {
			case s.idle <- struct{}{}:
			default: // nobody waits for it in this test
			}
		}
	}
	s.pacer.Install(s.srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.url = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close(); s.pacer.Stop(); <-done })
	return s
}

// readAt is when the server read its i-th request.
func (s *server) readAt(i int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[i]
}

// conn is one keep-alive client connection that sends raw requests.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &conn{c: c, r: bufio.NewReader(c)}
}

// do sends one request with extra header lines and returns its status and
// when the answer was read whole.
func (c *conn) do(t *testing.T, method, headers string) (int, time.Time) {
	t.Helper()
	_, err := io.WriteString(c.c, method+" / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"+headers+"\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, time.Now()
}

// refusedTwice has c refused twice in a row, the second time before the
// first's Retry-After passed, and returns when the second answer was read.
func refusedTwice(t *testing.T, c *conn, headers string) time.Time {
	t.Helper()
	c.do(t, http.MethodPost, headers)
	status, answered := c.do(t, http.MethodPost, headers)
	require.Equal(t, http.StatusTooManyRequests, status, "the refusal itself is answered whole")
	return answered
}

func TestRefused_AConnectionThatIgnoresRetryAfterWaitsItOut(t *testing.T) {
	const pause = 400 * time.Millisecond
	s := newServer(t, 10*time.Second, pause)
	c := dial(t, s.url)
	before := holds.Load()

	_, first := c.do(t, http.MethodPost, "")
	_, second := c.do(t, http.MethodPost, "")
	assert.Less(t, s.readAt(1).Sub(first), pause, "refused once, the connection is read at once")
	status, _ := c.do(t, http.MethodGet, "")
	require.Equal(t, http.StatusOK, status)
	assert.GreaterOrEqual(t, s.readAt(2).Sub(second), pause/2-10*time.Millisecond,
		"refused again before the Retry-After passed: the next request waits it out")
	assert.Equal(t, int64(1), holds.Load()-before, "one hold, counted")

	// A 200 holds nothing: the request after it is read at once.
	_, answered := c.do(t, http.MethodGet, "")
	assert.Less(t, s.readAt(3).Sub(answered), pause, "after a 200 the connection is not held")
}

func TestRefused_HeldAfterEachRefusalUntilAnotherAnswer(t *testing.T) {
	const pause = 200 * time.Millisecond
	s := newServer(t, 10*time.Second, pause)
	c := dial(t, s.url)
	refusedTwice(t, c, "")
	_, answered := c.do(t, http.MethodPost, "") // read after the hold, refused again
	c.do(t, http.MethodGet, "")
	assert.GreaterOrEqual(t, s.readAt(3).Sub(answered), pause/2-10*time.Millisecond,
		"a connection that ignored Retry-After is held after each refusal")

	time.Sleep(pause)                          // past the last refusal's Retry-After (the hold may end sooner)
	_, answered = c.do(t, http.MethodPost, "") // after a 200: refused, not held
	c.do(t, http.MethodGet, "")
	assert.Less(t, s.readAt(5).Sub(answered), pause, "a 200 starts the connection afresh")
}

func TestRefused_AClientThatHonoursRetryAfterIsNeverHeld(t *testing.T) {
	const pause = 300 * time.Millisecond
	s := newServer(t, 10*time.Second, pause)
	c := dial(t, s.url)
	for i := range 3 {
		_, answered := c.do(t, http.MethodPost, "")
		time.Sleep(pause) // the Retry-After
		c.do(t, http.MethodPost, "")
		assert.Less(t, s.readAt(2*i+1).Sub(answered), 2*pause, "asked again after the Retry-After: read at once")
		time.Sleep(pause)
	}
}

func TestRefused_AtMostThePacersPause(t *testing.T) {
	s := newServer(t, 200*time.Millisecond, time.Hour)
	c := dial(t, s.url)
	answered := refusedTwice(t, c, "")
	c.do(t, http.MethodGet, "")
	waited := s.readAt(2).Sub(answered)
	assert.GreaterOrEqual(t, waited, 90*time.Millisecond, "at least half the pause (spread)")
	assert.Less(t, waited, 5*time.Second, "held for the pacer's pause, not the hour asked")
}

func TestRefused_HoldsOnlyThatConnection(t *testing.T) {
	const pause = time.Second
	s := newServer(t, 10*time.Second, pause)
	held, other := dial(t, s.url), dial(t, s.url)
	answered := refusedTwice(t, held, "")
	status, _ := other.do(t, http.MethodGet, "")
	require.Equal(t, http.StatusOK, status)
	assert.Less(t, s.readAt(2).Sub(answered), pause/2, "another connection is served while one is held")
	held.do(t, http.MethodGet, "")
	assert.GreaterOrEqual(t, s.readAt(3).Sub(answered), pause/2-10*time.Millisecond, "the refused one waits")
}

func TestRefused_NeverHoldsProxiedRequests(t *testing.T) {
	for _, h := range []string{"X-Forwarded-For: 192.0.2.1\r\n", "Forwarded: for=192.0.2.1\r\n", "Via: 1.1 proxy\r\n", "X-Exempt: yes\r\n"} {
		t.Run(strings.SplitN(h, ":", 2)[0], func(t *testing.T) {
			s := newServer(t, 10*time.Second, 5*time.Second)
			c := dial(t, s.url)
			answered := refusedTwice(t, c, h)
			c.do(t, http.MethodGet, "")
			assert.Less(t, s.readAt(2).Sub(answered), 4*time.Second,
				"a proxy's connection carries other clients' requests next: never held")
		})
	}
}

func TestStop_EndsTheHolds(t *testing.T) {
	s := newServer(t, 10*time.Second, 5*time.Second)
	refusedTwice(t, dial(t, s.url), "")
	<-s.idle
	<-s.idle // the second refusal's answer: the connection is held from here

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, s.srv.Shutdown(ctx), "Shutdown does not wait for a held connection")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestInstall_ZeroPauseHoldsNothing(t *testing.T) {
	s := newServer(t, 0, 5*time.Second)
	c := dial(t, s.url)
	answered := refusedTwice(t, c, "")
	c.do(t, http.MethodGet, "")
	assert.Less(t, s.readAt(2).Sub(answered), 4*time.Second)
}
