package kafkacluster_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// The load and the settings every scenario runs with: the reply timeout is
// the default (10 s), above the 9 s a killed broker takes to be fenced;
// the gate is wide enough that no request is refused 429 even if every one
// of a whole reply timeout waits (the 429 path is not under test here).
const (
	rate         = 50
	replyTimeout = 10 * time.Second
	deadline     = 20 * time.Second // the server's request timeout (15 s) and some: past it, a hang
	capacity     = rate * 30
)

// stack is one server and one worker, real processes, on the cluster and
// the shared Redis, with topics, group, gate key and ledger prefix of its own.
type stack struct {
	id, tasks, results, group, gateKey, ledger string
	redis                                      rueidis.Client
	env                                        []string
	server                                     string // base URL
}

func startStack(t *testing.T, c *infra.KafkaCluster) *stack {
	t.Helper()
	redisURL := infra.RedisURL(t)
	id := uuid.NewString()[:8]
	s := &stack{id: id, tasks: "tasks-" + id, results: "results-" + id, group: "workers-" + id,
		gateKey: "{kc-" + id + "}:gate", ledger: "kc-" + id + ":issued:", redis: infra.RedisClient(t, redisURL)}
	s.env = []string{
		"REDIS_URL=" + redisURL, "KAFKA_BOOTSTRAP_SERVERS=" + c.Bootstrap(),
		"TASKS_TOPIC=" + s.tasks, "RESULTS_TOPIC=" + s.results, "RPS_WORKER__GROUP=" + s.group,
		"RPS_GATE__KEY=" + s.gateKey, "RPS_WORKER__LEDGER_PREFIX=" + s.ledger, "RPS_WORKER__LEDGER_TTL=10m",
		"RATE_LIMIT_CAPACITY=" + strconv.Itoa(capacity), "RPS_TASK__REPLY_TIMEOUT=" + replyTimeout.String(),
		"RPS_LOG__FORMAT=json", "RPS_HTTP__SHUTDOWN_DELAY=0s", "HOST=127.0.0.1",
		// The setting docs/running-at-scale.md gives for a replicated Kafka: while
		// the workers' group coordinator moves, the watcher cannot describe the
		// group and would refuse every request 503 for ~12 s, and librdkafka
		// can abort the server on such a timed-out describe (an assertion in its
		// request bookkeeping).
		"RPS_WORKER__WATCH=false",
	}
	admin := infra.FreeAddr(t)
	workerLog := infra.StartService(t, filepath.Join(binDir, "worker"), append(s.env, "RPS_WORKER__METRICS_ADDR="+admin), "http://"+admin+"/readyz", false)
	out, err := os.ReadFile(workerLog)
	require.NoError(t, err)
	require.Contains(t, string(out), `"group_protocol":"consumer"`, "the worker finds that all three brokers offer KIP-848's protocol")
	addr := infra.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	s.server = "http://" + addr
	infra.StartService(t, filepath.Join(binDir, "server"), append(s.env, "PORT="+port), s.server+"/readyz", false)
	return s
}

// replyTopic is the server's reply topic (results-<id>.<instance>).
func (s *stack) replyTopic(t *testing.T, c *infra.KafkaCluster) string {
	t.Helper()
	var topics []string
	require.Eventually(t, func() bool {
		topics = c.Topics(t, s.results+".")
		return len(topics) == 1
	}, 30*time.Second, 200*time.Millisecond, "one reply topic")
	return topics[0]
}

// checkAfter asserts what must hold once the load is over: each code
// issued once and recorded for one task only, every answered code in the
// ledger, the workers' commits at the end of the tasks topic, the gate empty.
func (s *stack) checkAfter(t *testing.T, c *infra.KafkaCluster, sum infra.LoadSummary) {
	t.Helper()
	assert.Zero(t, sum.DuplicateCodes, "no gift code handed out twice")
	assert.Zero(t, sum.DuplicateRequests, "no request answered twice")

	ctx := context.Background()
	keys, err := s.redis.Do(ctx, s.redis.B().Keys().Pattern(s.ledger+"*").Build()).AsStrSlice()
	require.NoError(t, err)
	recorded := map[string]string{} // code → task
	for _, k := range keys {
		code, err := s.redis.Do(ctx, s.redis.B().Get().Key(k).Build()).ToString()
		require.NoError(t, err)
		if other, dup := recorded[code]; dup {
			t.Errorf("code %s recorded for two tasks: %s and %s", code, other, k)
		}
		recorded[code] = k
	}
	missing := 0
	for code := range sum.Codes {
		if _, ok := recorded[code]; !ok {
			missing++
		}
	}
	assert.Zero(t, missing, "every code a user got is the one the ledger holds for its task (%d recorded)", len(recorded))

	var lag int64
	assert.Eventually(t, func() bool {
		lag = infra.GroupLag(c.Bootstrap(), s.group, s.tasks)
		return lag == 0
	}, time.Minute, 500*time.Millisecond, "the workers' commits reach the end of %s", s.tasks)
	if lag != 0 {
		t.Logf("lag %d", lag)
	}
	var held int64
	assert.Eventually(t, func() bool {
		held = infra.ZCard(t, s.redis, s.gateKey)
		return held == 0
	}, 30*time.Second, 200*time.Millisecond, "the gate drains to 0")
	if held != 0 {
		t.Logf("gate holds %d", held)
	}
}
