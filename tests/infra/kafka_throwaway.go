package infra

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ThrowawayKafka is a single-node broker of the test's own, on free loopback
// ports, run by deployments/scripts/kafka.sh from a directory of its own (the
// script keeps its state beside itself) with the jars the shared broker's
// start fetched. A test may stop and restart it; it is stopped when the test
// ends. A JVM start takes seconds (a minute on a loaded 2-core machine).
type ThrowawayKafka struct {
	t      testing.TB
	script string
	env    []string
	addr   string
}

// StartKafka starts a throwaway broker, following KafkaBootstrap's
// skip-or-fail rule; the jars must be in the repository's .cache/kafka/jars
// (kafka.sh start, which the test command runs, puts them there).
func StartKafka(t testing.TB) *ThrowawayKafka {
	t.Helper()
	KafkaBootstrap(t)
	_, self, _, _ := runtime.Caller(0)
	repo := filepath.Clean(filepath.Join(filepath.Dir(self), "..", ".."))
	jars := filepath.Join(repo, ".cache", "kafka", "jars")
	if _, err := os.Stat(filepath.Join(jars, ".stamp")); err != nil {
		need(t, "KAFKA_JARS_FETCHED", "run deployments/scripts/kafka.sh start once: it fetches the jars into "+jars)
	}
	dir := t.TempDir()
	for _, d := range []string{"deployments/scripts", ".cache/kafka"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	script, err := os.ReadFile(filepath.Join(repo, "deployments", "scripts", "kafka.sh"))
	require.NoError(t, err)
	k := &ThrowawayKafka{t: t, script: filepath.Join(dir, "deployments", "scripts", "kafka.sh")}
	require.NoError(t, os.WriteFile(k.script, script, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(repo, "deployments", "kafka"), filepath.Join(dir, "deployments", "kafka")))
	require.NoError(t, os.Symlink(jars, filepath.Join(dir, ".cache", "kafka", "jars")))
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	_, cport, _ := net.SplitHostPort(FreeAddr(t))
	k.addr = "127.0.0.1:" + port
	k.env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "KAFKA_BOOTSTRAP_SERVERS=") })
	k.env = append(k.env, "KAFKA_TEST_PORT="+port, "KAFKA_TEST_CONTROLLER_PORT="+cport, "KAFKA_HEAP_OPTS=-Xms128m -Xmx384m")
	k.run("start")
	t.Cleanup(func() { k.run("stop") })
	return k
}

// Bootstrap is the broker's host:port.
func (k *ThrowawayKafka) Bootstrap() string { return k.addr }

// Stop stops the broker (SIGTERM, as an orchestrator would).
func (k *ThrowawayKafka) Stop() { k.run("stop") }

// Restart starts the stopped broker again with its data: topics and
// committed offsets survive, as across a real broker restart.
func (k *ThrowawayKafka) Restart() { k.run("start", "KAFKA_KEEP_DATA=1") }

func (k *ThrowawayKafka) run(cmd string, env ...string) {
	k.t.Helper()
	c := exec.CommandContext(context.Background(), "bash", k.script, cmd)
	c.Env = append(slices.Clone(k.env), env...)
	out, err := c.CombinedOutput()
	require.NoError(k.t, err, "kafka.sh %s:\n%s", cmd, out)
}
