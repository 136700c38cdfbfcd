package infra

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// StartService runs the service binary bin (cmd/server or cmd/worker, built
// by BuildServiceBinaries) with env added to the test's own, waits until
// ready answers 200, and stops it when the test ends: SIGTERM, then SIGKILL
// after 40 s, showing the end of its log if the test failed. With
// wantCleanExit the test also fails unless it exits 0 on SIGTERM. It
// returns the log's path.
func StartService(t *testing.T, bin string, env []string, ready string, wantCleanExit bool) string {
	t.Helper()
	name := filepath.Base(bin)
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.CommandContext(context.Background(), bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = append(os.Environ(), env...), logFile, logFile
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	var exit error
	go func() { exit = cmd.Wait(); _ = logFile.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			if wantCleanExit {
				assert.NoError(t, exit, "%s exits 0 on SIGTERM", name)
			}
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s still running 40 s after SIGTERM", name)
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("last lines of the %s log:\n%s", name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
	require.Eventually(t, func() bool {
		select {
		case <-done:
			return true // reported below
		default:
		}
		return httpStatus(ready) == http.StatusOK
	}, 2*time.Minute, 100*time.Millisecond, "%s ready", name)
	select {
	case <-done:
		b, _ := os.ReadFile(logPath)
		require.FailNow(t, name+" exited before it was ready", "%v\n%s", exit, b)
	default:
	}
	return logPath
}

// httpStatus is the status of GET url, 0 when it cannot be asked within 2 s.
func httpStatus(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
