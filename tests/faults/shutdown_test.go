package faults_test

import (
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SIGTERM under load: for the pre-stop delay /readyz answers 503 while every
// request is still served; then the listener closes, in-flight requests
// finish, and the process exits 0 within delay + grace. A client sees 200s,
// then refused connections (a load balancer would have moved it by then),
// never an error while the server still listens.
func TestSIGTERMUnderLoad(t *testing.T) {
	const delay = 1500 * time.Millisecond
	s := startServer(t, "", "RPS_HTTP__SHUTDOWN_DELAY="+delay.String())
	l := startLoad(s, 10, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond)

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	termAt := time.Now()
	var unready atomic.Int32
	var readyzFirst503 time.Duration
	for time.Since(termAt) < delay-200*time.Millisecond {
		if s.status(http.MethodGet, "/readyz") == http.StatusServiceUnavailable {
			if unready.Add(1) == 1 {
				readyzFirst503 = time.Since(termAt)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-s.done:
	case <-time.After(delay + 15*time.Second):
		t.Fatal("no exit within delay + grace")
	}
	exitAfter := time.Since(termAt)
	rs := l.finish()
	require.NoError(t, s.err, "exit status 0")

	var ok, okDuringDelay, refused int
	for _, r := range rs {
		switch {
		case r.status == http.StatusOK:
			ok++
			if r.at.After(termAt) {
				okDuringDelay++
			}
		case r.err != nil && isReset(r.err) && r.at.After(termAt.Add(delay)):
			// After the delay the listener closes: a connection still in the
			// kernel's accept queue is dropped (EOF or reset), later ones
			// are refused. Neither request reached the server.
			refused++
		default:
			t.Errorf("request answered %d (%v) %s after SIGTERM", r.status, r.err, r.at.Sub(termAt))
		}
	}
	t.Logf("FIGURES SIGTERM under load: /readyz 503 after %s; %d requests served during the %s delay; exit 0 after %s; %d connections refused after the listener closed",
		readyzFirst503.Round(time.Millisecond), okDuringDelay, delay, exitAfter.Round(time.Millisecond), refused)
	assert.Positive(t, unready.Load(), "/readyz answered 503 during the delay")
	assert.Positive(t, okDuringDelay, "requests served during the delay")
	assert.GreaterOrEqual(t, exitAfter, delay)
}
