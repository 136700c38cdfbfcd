package kafkabroker_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// onePartitionWorker makes the worker create a one-partition tasks topic,
// so every task of a test sits behind the one before it.
func onePartitionWorker(c *taskworker.Config) { c.TasksPartitions = 1 }

// newTopic makes a one-partition topic of a fresh name with the given topic configs,
// deleted after the test.
func newTopic(t *testing.T, configs map[string]string) string {
	t.Helper()
	name := "test-topic-" + uuid.NewString()[:8]
	createTopic(t, name, configs)
	return name
}

// produceTasks sends one task per reply topic to tasksTopic, in order, and
// waits for each delivery.
func produceTasks(t *testing.T, tasksTopic string, replyTo ...string) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	delivered := make(chan kafka.Event, 1)
	for _, to := range replyTo {
		msg, err := kafkabroker.EncodeTask(newTask(), tasksTopic, to)
		require.NoError(t, err)
		require.NoError(t, p.Produce(msg, delivered))
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}
}

// waitCommitted waits up to within for tp's group to commit offset want of
// partition 0, and returns the offset committed then.
func waitCommitted(t *testing.T, tp topics, want int64, within time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := committedOffsets(t, tp.group, tp.tasks)[0]
		if got >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A reply the broker refuses for good (larger than its topic's
// max.message.bytes) is given up at once: its task is settled, counted by
// reason and logged once, the partition's commits move past it, and the
// tasks behind it are committed.
func TestWorker_ReplyTooLargeForTheBrokerIsSettled(t *testing.T) {
	tp := newTopics(t)
	tiny := newTopic(t, map[string]string{"max.message.bytes": "16"})
	fine := newTopic(t, nil)
	var logs infra.LogBuffer
	rw := startWorker(t, tp, processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Value: "done"}
	}), onePartitionWorker, logTo(&logs))

	started := time.Now()
	produceTasks(t, tp.tasks, tiny, fine, tiny, fine)
	committed := waitCommitted(t, tp, 4, 20*time.Second)
	t.Logf("committed %d of 4 tasks %s after the first was sent; reply deliveries retried: %.0f", committed,
		time.Since(started).Round(time.Millisecond), metricstest.Value(t, rw.reg, "rps_worker_reply_errors_total", ""))
	require.Equal(t, int64(4), committed, "the refused replies do not hold the partition's commits back")
	assert.Equal(t, 2.0, metricstest.Value(t, rw.reg, "rps_worker_undeliverable_replies_total", "too_large"), "each refused reply counted")
	assert.Zero(t, metricstest.Value(t, rw.reg, "rps_worker_reply_errors_total", ""), "a refusal is not retried")
	assert.Equal(t, 1, strings.Count(logs.String(), "reply given up"), "logged once per reason, not per task:\n%s", logs.String())
	assert.Zero(t, metricstest.Value(t, rw.reg, "rps_worker_tasks_in_flight", ""))
}

// A reply whose delivery keeps failing transiently is given up once the
// reply timeout has passed since its first try: nobody waits for it then.
// Here each reply names a topic nobody has made yet: librdkafka waits for
// it to appear (topic.metadata.propagation.max.ms, 2 s) and times the
// message out first (message.timeout.ms, half the reply timeout of 1 s).
// Meanwhile at most twice worker.concurrency tasks are held, and the
// partition's commits move on.
func TestWorker_ReplyFailingForTheWholeReplyTimeoutIsSettled(t *testing.T) {
	tp := newTopics(t)
	const n = 6
	rw := startWorker(t, tp, processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Value: "done"}
	}), onePartitionWorker, concurrency(1), func(c *taskworker.Config) { c.ReplyTimeout = time.Second })

	var most atomic.Int64
	watch, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watch.Err() == nil {
			most.Store(max(most.Load(), int64(metricstest.Value(t, rw.reg, "rps_worker_tasks_in_flight", ""))))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	started := time.Now()
	replyTo := make([]string, n)
	for i := range replyTo {
		replyTo[i] = "test-nowhere-" + uuid.NewString()[:8]
	}
	produceTasks(t, tp.tasks, replyTo...)
	committed := waitCommitted(t, tp, n, 30*time.Second)
	stopWatch()
	<-watched
	t.Logf("committed %d of %d tasks %s after the first was sent; most held at once: %d; retried: %.0f", committed, n,
		time.Since(started).Round(time.Millisecond), most.Load(), metricstest.Value(t, rw.reg, "rps_worker_reply_errors_total", ""))
	require.Equal(t, int64(n), committed, "replies that never go through are given up after the reply timeout")
	assert.Equal(t, float64(n), metricstest.Value(t, rw.reg, "rps_worker_undeliverable_replies_total", "expired"))
	assert.LessOrEqual(t, most.Load(), int64(2), "at most twice worker.concurrency tasks held while their replies fail")
}

// logTo sends the worker's log to buf.
func logTo(buf *infra.LogBuffer) func(*taskworker.Config) {
	return func(c *taskworker.Config) { c.Logger = slog.New(slog.NewTextHandler(buf, nil)) }
}
