package infra

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// KafkaCluster is a three-node KRaft cluster of the test's own (each node
// broker and controller; replication factor 3, min.insync.replicas=2) on
// free ports, run by deployments/scripts/kafka-cluster.sh, so a test can
// kill a node and start it again.
type KafkaCluster struct {
	script  string
	state   string
	env     []string
	brokers []string // node n's broker at brokers[n-1]
}

// LaunchKafkaCluster starts the three nodes, their state in dir, for a
// whole test package (its TestMain; Shutdown when the tests are done).
func LaunchKafkaCluster(dir string) (*KafkaCluster, error) {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	c := &KafkaCluster{script: filepath.Join(repo, "deployments", "scripts", "kafka-cluster.sh"), state: dir}
	var ports, cports []string
	for range 6 {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		if len(c.brokers) < 3 {
			c.brokers = append(c.brokers, addr)
			ports = append(ports, port(addr))
		} else {
			cports = append(cports, port(addr))
		}
	}
	c.env = append(withoutKafkaEnv(os.Environ()),
		"KAFKA_CLUSTER_STATE_DIR="+c.state,
		"KAFKA_CLUSTER_PORTS="+strings.Join(ports, " "),
		"KAFKA_CLUSTER_CONTROLLER_PORTS="+strings.Join(cports, " "),
		"KAFKA_START_TIMEOUT=240",
	)
	if err := c.run("start"); err != nil {
		_ = c.run("stop")
		return nil, err
	}
	return c, nil
}

// Shutdown stops the three nodes.
func (c *KafkaCluster) Shutdown() error { return c.run("stop") }

// Bootstrap is the three brokers' list, as a client is configured with it.
func (c *KafkaCluster) Bootstrap() string { return strings.Join(c.brokers, ",") }

// Kill ends node n (1-3) at once (SIGKILL), as a crash or a lost host would.
func (c *KafkaCluster) Kill(t testing.TB, n int) {
	t.Helper()
	require.NoError(t, c.run("kill-node", strconv.Itoa(n)))
}

// Restart starts node n again on its data and returns when it answers
// requests on its broker port.
func (c *KafkaCluster) Restart(t testing.TB, n int) time.Time {
	t.Helper()
	require.NoError(t, c.run("start-node", strconv.Itoa(n)))
	return time.Now()
}

func (c *KafkaCluster) run(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{c.script}, args...)...)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kafka-cluster.sh %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Leaders maps each partition of topic to the node that leads it, as the
// brokers' metadata says (waiting until every partition has a leader).
func (c *KafkaCluster) Leaders(t testing.TB, topic string) map[int32]int {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": c.Bootstrap()})
	require.NoError(t, err)
	defer admin.Close()
	var leaders map[int32]int
	require.Eventually(t, func() bool {
		md, err := admin.GetMetadata(&topic, false, 5000)
		if err != nil || md.Topics[topic].Error.Code() != kafka.ErrNoError || len(md.Topics[topic].Partitions) == 0 {
			return false
		}
		leaders = map[int32]int{}
		for _, p := range md.Topics[topic].Partitions {
			if p.Leader < 1 {
				return false
			}
			leaders[p.ID] = int(p.Leader)
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "every partition of %s has a leader", topic)
	return leaders
}

// Topics lists the cluster's topics whose name starts with prefix.
func (c *KafkaCluster) Topics(t testing.TB, prefix string) []string {
	t.Helper()
	md := c.metadata(t)
	var out []string
	for name := range md.Topics {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out
}

// WaitInSync waits until every partition of every topic has all its
// replicas in sync (a node started again has caught up), so the next
// fault starts from a whole cluster.
func (c *KafkaCluster) WaitInSync(t testing.TB) {
	t.Helper()
	var behind string
	ok := assert.Eventually(t, func() bool {
		md := c.metadata(t)
		behind = ""
		for name, tm := range md.Topics {
			for _, p := range tm.Partitions {
				if len(p.Isrs) != len(p.Replicas) || len(p.Replicas) != 3 {
					behind = fmt.Sprintf("%s/%d: replicas %v, in sync %v", name, p.ID, p.Replicas, p.Isrs)
					return false
				}
			}
		}
		return true
	}, 2*time.Minute, 500*time.Millisecond)
	require.True(t, ok, "every partition on three replicas, all in sync; not yet: %s", behind)
}

func (c *KafkaCluster) metadata(t testing.TB) *kafka.Metadata {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": c.Bootstrap()})
	require.NoError(t, err)
	defer admin.Close()
	md, err := admin.GetMetadata(nil, true, 10000)
	require.NoError(t, err)
	return md
}

// ActiveController is the node that leads the KRaft quorum. Brokers do not
// tell (in KRaft their metadata names a random broker as the controller),
// so it is read from the voters' own quorum-state files: the leader of the
// highest epoch that at least two voters agree on.
func (c *KafkaCluster) ActiveController(t testing.TB) int {
	t.Helper()
	var leader int
	require.Eventually(t, func() bool {
		votes := map[[2]int]int{}
		for n := 1; n <= 3; n++ {
			raw, err := os.ReadFile(filepath.Join(c.state, fmt.Sprintf("node%d", n), "data", "__cluster_metadata-0", "quorum-state"))
			if err != nil {
				continue
			}
			var qs struct {
				LeaderID    int `json:"leaderId"`
				LeaderEpoch int `json:"leaderEpoch"`
			}
			if json.Unmarshal(raw, &qs) == nil && qs.LeaderID > 0 {
				votes[[2]int{qs.LeaderEpoch, qs.LeaderID}]++
			}
		}
		best := [2]int{-1, 0}
		for k, v := range votes {
			if v >= 2 && k[0] > best[0] {
				best = k
			}
		}
		leader = best[1]
		return leader > 0
	}, 30*time.Second, 100*time.Millisecond, "two voters agree on the active controller")
	return leader
}

// GroupLag is how many records of topic the consumer group has not
// committed yet (-1 when it cannot be asked): 0 means its commits reached
// the end of every partition.
func GroupLag(bootstrap, group, topic string) int64 {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	if err != nil {
		return -1
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := admin.GetMetadata(&topic, false, 10000)
	if err != nil {
		return -1
	}
	specs := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, p := range md.Topics[topic].Partitions {
		specs[kafka.TopicPartition{Topic: &topic, Partition: p.ID}] = kafka.LatestOffsetSpec
	}
	ends, err := admin.ListOffsets(ctx, specs)
	if err != nil {
		return -1
	}
	committed, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: group}})
	if err != nil || len(committed.ConsumerGroupsTopicPartitions) != 1 {
		return -1
	}
	at := map[int32]int64{}
	for _, tp := range committed.ConsumerGroupsTopicPartitions[0].Partitions {
		if tp.Topic != nil && *tp.Topic == topic {
			at[tp.Partition] = max(int64(tp.Offset), 0)
		}
	}
	var lag int64
	for tp, end := range ends.ResultInfos {
		if end.Error.Code() != kafka.ErrNoError {
			return -1
		}
		lag += int64(end.Offset) - at[tp.Partition]
	}
	return lag
}
