package infra

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serverPackage is cmd/server by import path, so a test of any package of
// the module builds it without knowing where it sits.
const serverPackage = "github.com/1000x-rps-server/rps-server/cmd/server"

// EmbeddedServer builds cmd/server and runs it in the embedded mode (no
// Redis, no Kafka: only env and the listening address, nothing of the
// test's environment) until the test ends; it returns the base URL once
// /readyz answers 200. The server's log is printed if the test fails.
// Skipped by go test -short (it builds a binary), unless CI is set.
func EmbeddedServer(t *testing.T, env ...string) string {
	t.Helper()
	skipShort(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, serverPackage)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", serverPackage, out)

	addr := FreeAddr(t)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	logs := &LogBuffer{}
	// Stopped as a signal would stop it, killed if it outlives the grace.
	stopCtx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(stopCtx, bin, "-env", "")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Dir = dir
	cmd.Env = append([]string{"HOST=" + host, "PORT=" + port, "RPS_HTTP__SHUTDOWN_DELAY=0s", "RPS_LOG__FORMAT=json"}, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	var exitErr error
	exited := make(chan struct{})
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stop()
		<-exited
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})

	base := "http://" + addr
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", http.NoBody)
		require.NoError(t, err)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("the embedded server exited before it was ready: %v\n%s", exitErr, logs)
		case <-ctx.Done():
			t.Fatalf("the embedded server was not ready at %s within 30s\n%s", base, logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
