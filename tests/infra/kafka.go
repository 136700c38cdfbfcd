package infra

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Kafka is a broker of the test's own, on free ports with a fresh data dir,
// for tests that kill and restart it: never the shared one. It is run by
// deployments/scripts/kafka.sh (KAFKA_STATE_DIR), so it is the same broker
// as every other test's, from the same jars.
type Kafka struct {
	script string
	env    []string
	state  string
	addr   string
}

// KafkaOption sets up a broker of the test's own.
type KafkaOption func(*Kafka)

// StartKafka starts a broker of the test's own and stops it when the test
// ends. It needs what kafka.sh start needs (Java 17+, the jars in .cache/);
// like the shared broker it is skipped outside CI when no Kafka is
// configured, so a plain go test stays fast.
func StartKafka(t testing.TB, opts ...KafkaOption) *Kafka {
	t.Helper()
	KafkaBootstrap(t) // the test command runs Kafka: skip (or fail in CI) the same way
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	k := &Kafka{script: filepath.Join(repo, "deployments", "scripts", "kafka.sh"), state: t.TempDir()}
	broker, controller := FreeAddr(t), FreeAddr(t)
	k.addr = broker
	k.env = append(withoutKafkaEnv(os.Environ()),
		"KAFKA_STATE_DIR="+k.state,
		"KAFKA_TEST_PORT="+port(broker),
		"KAFKA_TEST_CONTROLLER_PORT="+port(controller),
		"KAFKA_HEAP_OPTS=-Xms128m -Xmx384m",
		"KAFKA_START_TIMEOUT=240",
	)
	for _, o := range opts {
		o(k)
	}
	k.run(t, "start")
	t.Cleanup(func() { k.run(t, "stop") })
	return k
}

// Bootstrap is the broker's address.
func (k *Kafka) Bootstrap() string { return k.addr }

// Kill ends the broker at once (SIGKILL), as a crash or a lost host would.
func (k *Kafka) Kill(t testing.TB) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(k.state, "kafka.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	for range 100 { // until the process is gone and the port refuses
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("kafka pid %d still alive 5 s after SIGKILL", pid)
}

// Stop stops the broker (SIGTERM, as an orchestrator would) and waits until
// it has exited.
func (k *Kafka) Stop(t testing.TB) {
	t.Helper()
	k.run(t, "stop")
}

// Restart starts the broker again on its data (its topics, groups and
// offsets survive) and returns when it answers a request on its port.
func (k *Kafka) Restart(t testing.TB) time.Time {
	t.Helper()
	k.run(t, "start", "KAFKA_KEEP_DATA=1")
	return time.Now()
}

func (k *Kafka) run(t testing.TB, cmd string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", k.script, cmd)
	c.Env = append(append([]string{}, k.env...), env...)
	out, err := c.CombinedOutput()
	require.NoError(t, err, "kafka.sh %s: %s", cmd, out)
}

// withoutKafkaEnv drops KAFKA_BOOTSTRAP_SERVERS, which kafka.sh would use
// instead of starting a broker.
func withoutKafkaEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "KAFKA_BOOTSTRAP_SERVERS=") {
			out = append(out, kv)
		}
	}
	return out
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
