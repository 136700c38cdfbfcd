package kafkabroker_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

func TestMain(m *testing.M) {
	if topic := os.Getenv(crashWorkerEnv); topic != "" {
		runCrashWorker(topic) // this process is the worker that gets killed
		return
	}
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// replyTimeout is the configured default the client timeouts derive from.
const replyTimeout = 10 * time.Second

// bootstrap is the real broker; integration tests never skip in CI.
func bootstrap(t testing.TB) string {
	t.Helper()
	return infra.KafkaBootstrap(t)
}

// topics are a test's own tasks topic, reply-topic prefix and worker group;
// the topic and the group are deleted after the test (reply topics are
// deleted by Requester.Close).
type topics struct{ tasks, results, group string }

func newTopics(t testing.TB) topics {
	t.Helper()
	id := uuid.NewString()[:8]
	tp := topics{tasks: "test-tasks-" + id, results: "test-results-" + id, group: "test-workers-" + id}
	t.Cleanup(func() { // registered first, so it runs after the clients closed
		withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) {
			_, _ = admin.DeleteTopics(ctx, []string{tp.tasks})
			_, _ = admin.DeleteConsumerGroups(ctx, []string{tp.group})
		})
	})
	return tp
}

func withAdmin(t testing.TB, f func(context.Context, *kafka.AdminClient)) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	f(ctx, admin)
}

// newRequester starts a requester.Broker on tp and waits until it is Ready.
func newRequester(t testing.TB, tp topics, opts ...func(*requester.Config)) (*requester.Broker, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := requester.Config{
		Bootstrap: bootstrap(t), TasksTopic: tp.tasks, ResultsTopic: tp.results, TasksPartitions: 3,
		ReplyTimeout: replyTimeout, Logger: quiet, Registerer: reg,
	}
	for _, o := range opts {
		o(&cfg)
	}
	r, err := requester.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		assert.NoError(t, r.Close(ctx))
	})
	require.Eventually(t, func() bool { return r.Ready(context.Background()) == nil }, 30*time.Second, 5*time.Millisecond,
		"ready once the reply path is proven")
	return r, reg
}

// runningWorker is a taskworker.Runner whose Run goroutine the test can stop.
type runningWorker struct {
	w      *taskworker.Runner
	cancel context.CancelFunc
	done   chan error
	reg    *prometheus.Registry
	once   sync.Once
}

// stop cancels Run and waits for its drain; it is safe to call twice.
func (rw *runningWorker) stop(t testing.TB) {
	t.Helper()
	rw.once.Do(func() {
		rw.cancel()
		select {
		case err := <-rw.done:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("worker did not drain within 30s")
		}
	})
}

// startWorker runs a taskworker.Runner of tp's group and waits until it joined.
func startWorker(t testing.TB, tp topics, proc ports.TaskProcessor, opts ...func(*taskworker.Config)) *runningWorker {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := taskworker.Config{
		Bootstrap: bootstrap(t), TasksTopic: tp.tasks, TasksPartitions: 3, Group: tp.group,
		Concurrency: 10, DrainTimeout: 30 * time.Second, ReplyTimeout: replyTimeout, Logger: quiet, Registerer: reg,
	}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := taskworker.New(context.Background(), cfg, proc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWorker{w: w, cancel: cancel, done: make(chan error, 1), reg: reg}
	go func() { rw.done <- w.Run(ctx) }()
	t.Cleanup(func() { rw.stop(t) })
	require.Eventually(t, func() bool { return w.Ready(context.Background()) == nil }, 30*time.Second, 5*time.Millisecond)
	return rw
}

func concurrency(n int) func(*taskworker.Config) {
	return func(c *taskworker.Config) { c.Concurrency = n }
}

func giftProcessor(t testing.TB) ports.TaskProcessor {
	t.Helper()
	p, err := app.NewProcessTask(app.DefaultHandlers(rand.Reader)...)
	require.NoError(t, err)
	return p
}

// processorFunc adapts a function to ports.TaskProcessor.
type processorFunc func(ctx context.Context, task domain.Task) domain.Result

func (f processorFunc) Process(ctx context.Context, task domain.Task) domain.Result {
	return f(ctx, task)
}

func newTask() domain.Task {
	return domain.Task{ID: uuid.NewString(), Kind: domain.KindGiftCode, RequestID: "req-" + uuid.NewString()[:6]}
}

func request(t testing.TB, r *requester.Broker, timeout time.Duration) (domain.Result, error) {
	t.Helper()
	return requestTask(r, newTask(), timeout)
}

func requestTask(r *requester.Broker, task domain.Task, timeout time.Duration) (domain.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return r.Request(ctx, task)
}

// lateReplies reads the late/unknown-reply counter from reg.
func lateReplies(t testing.TB, reg *prometheus.Registry) float64 {
	t.Helper()
	return metricstest.Value(t, reg, "rps_broker_late_replies_total", "")
}

// committedOffsets reads the group's committed offset per partition of topic.
func committedOffsets(t testing.TB, group, topic string) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) {
		res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: group}})
		require.NoError(t, err)
		for _, g := range res.ConsumerGroupsTopicPartitions {
			for _, tp := range g.Partitions {
				if *tp.Topic == topic && tp.Offset >= 0 {
					out[tp.Partition] = int64(tp.Offset)
				}
			}
		}
	})
	return out
}

// taskOffsets reads the whole tasks topic: correlation id → where it sits.
func taskOffsets(t testing.TB, topic string) map[string]kafka.TopicPartition {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": bootstrap(t), "group.id": "reader-" + uuid.NewString()[:8], "enable.auto.commit": false,
	})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	md, err := c.GetMetadata(&topic, false, 10000)
	require.NoError(t, err)
	var assign []kafka.TopicPartition
	remaining := map[int32]int64{}
	for _, p := range md.Topics[topic].Partitions {
		_, high, err := c.QueryWatermarkOffsets(topic, p.ID, 10000)
		require.NoError(t, err)
		if high > 0 {
			remaining[p.ID] = high
			assign = append(assign, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.OffsetBeginning})
		}
	}
	require.NoError(t, c.Assign(assign))
	out := map[string]kafka.TopicPartition{}
	deadline := time.Now().Add(20 * time.Second)
	for len(remaining) > 0 && time.Now().Before(deadline) {
		m, err := c.ReadMessage(100 * time.Millisecond)
		if err != nil {
			continue
		}
		task, _, err := kafkabroker.DecodeTask(m)
		require.NoError(t, err)
		out[task.ID] = m.TopicPartition
		if int64(m.TopicPartition.Offset)+1 >= remaining[m.TopicPartition.Partition] {
			delete(remaining, m.TopicPartition.Partition)
		}
	}
	require.Empty(t, remaining, "read the whole tasks topic")
	return out
}
