package compat_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// serverBin is cmd/server, built by TestMain.
var serverBin string

// buildServer builds cmd/server with the race detector: the tests run it
// under the original's traffic, and a race-enabled binary that saw a data
// race exits 66, which fails the test when the server stops.
func buildServer(out string) error {
	cmd := exec.CommandContext(context.Background(), "go", "build", "-race", "-o", out, "../../cmd/server")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// ourServer is a cmd/server process on env, configured as a user would.
type ourServer struct {
	url string
	// metrics is the server's /metrics page, read as strictly as a registry.
	metrics prometheus.Gatherer
}

// startOurServer runs cmd/server on env until the test ends, and waits until
// it is ready. At the end it must exit 0 on SIGTERM; its log is shown when
// the test failed.
func startOurServer(t *testing.T, env testEnv, replyMode string) *ourServer {
	t.Helper()
	addr := infra.FreeAddr(t)
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p := &process{cmd: exec.CommandContext(context.Background(), serverBin), done: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), env.vars(replyMode)...),
		"HOST=127.0.0.1", "PORT="+port, "RPS_HTTP__SHUTDOWN_DELAY=0s", "RPS_LOG__FORMAT=json")
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		assert.NoError(t, p.stop(30*time.Second), "our server exits 0 on SIGTERM, without a data race")
		if t.Failed() {
			t.Logf("our server's log (last lines):\n%s", lastLines(p.log.String(), 40))
		}
	})

	s := &ourServer{url: "http://" + addr, metrics: metricstest.Endpoint("http://" + addr)}
	require.Eventually(t, func() bool { return p.exited() || readyz(s.url) == http.StatusOK },
		60*time.Second, 10*time.Millisecond, "our server ready")
	require.False(t, p.exited(), "our server exited before it was ready")
	return s
}

// readyz is the status of GET /readyz, 0 when it cannot be asked.
func readyz(base string) int {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// process is a child process with its output kept for a failed test.
type process struct {
	cmd  *exec.Cmd
	log  infra.LogBuffer
	done chan struct{} // closed once it exited; err is then its exit
	err  error
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for the exit, then kills.
func (p *process) stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("no exit within %s of SIGTERM", grace)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
