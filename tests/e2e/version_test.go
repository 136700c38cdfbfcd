package e2e_test

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// -version prints the version stamped at link time, as a release build's.
func TestVersionFlag(t *testing.T) {
	for _, name := range []string{"server", "worker"} {
		out, err := exec.Command(filepath.Join(binDir, name), "-version").Output()
		require.NoError(t, err, name)
		assert.Equal(t, name+" "+stampedVersion+" ("+runtime.Version()+")\n", string(out))
	}
}

// /metrics names the running build, so a dashboard can follow a rollout.
// The embedded server (no Redis, no Kafka) is enough to see it.
func TestMetricsNameTheBuild(t *testing.T) {
	addr := testinfra.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := startProc(t, "server", []string{"HOST=127.0.0.1", "PORT=" + port, "REDIS_URL=", "KAFKA_BOOTSTRAP_SERVERS="})
	base := "http://" + addr
	waitReady(t, base+"/readyz", p)
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	want := `rps_build_info{goversion="` + runtime.Version() + `",version="` + stampedVersion + `"} 1`
	assert.True(t, strings.Contains(string(body), want), "no %s in /metrics", want)
}
