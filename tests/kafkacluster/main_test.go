package kafkacluster_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// binDir holds cmd/server and cmd/worker, built once; cluster is the
// package's three-node Kafka (nil when the test command runs no Kafka: the
// tests then skip, or fail in CI, as every integration test does).
var (
	binDir  string
	cluster *infra.KafkaCluster
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The cluster is this package's own: it runs where Kafka tests run (the
	// test command set KAFKA_BOOTSTRAP_SERVERS) and wherever CI is set.
	ci := os.Getenv("CI") != ""
	if (os.Getenv("KAFKA_BOOTSTRAP_SERVERS") == "" && !ci) || (testing.Short() && !ci) {
		return m.Run()
	}
	dir, err := infra.BuildServiceBinaries("rps-kafkacluster")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkacluster:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	state, err := os.MkdirTemp("", "rps-kafkacluster-state")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkacluster:", err)
		return 1
	}
	defer os.RemoveAll(state)
	cluster, err = infra.LaunchKafkaCluster(state)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkacluster: three brokers:", err)
		return 1
	}
	defer func() {
		if err := cluster.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, "kafkacluster:", err)
		}
	}()
	return m.Run()
}

// needCluster is the package's cluster, after the integration tests' rule.
func needCluster(t *testing.T) *infra.KafkaCluster {
	t.Helper()
	if cluster == nil {
		infra.KafkaBootstrap(t) // skips, or fails in CI
		t.Fatal("no three-broker cluster (see TestMain's output)")
	}
	cluster.WaitInSync(t)
	return cluster
}
