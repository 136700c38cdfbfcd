package kafkabroker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// deadLetterTo makes the worker copy poison tasks to a topic of the test's
// own (created by the worker, deleted after the test) and run only the gift
// code kind.
func deadLetterTo(t *testing.T) (string, func(*taskworker.Config)) {
	t.Helper()
	dlq := "test-dlq-" + uuid.NewString()[:8]
	t.Cleanup(func() {
		withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) { _, _ = admin.DeleteTopics(ctx, []string{dlq}) })
	})
	return dlq, func(c *taskworker.Config) {
		c.DeadLetterTopic = dlq
		c.Kinds = []domain.Kind{domain.KindGiftCode}
	}
}

// readAll reads n messages of a one-partition topic from its beginning.
func readAll(t *testing.T, topic string, n int) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": bootstrap(t), "group.id": "reader-" + uuid.NewString()[:8], "enable.auto.commit": false,
	})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning}}))
	var out []*kafka.Message
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		if m, err := c.ReadMessage(100 * time.Millisecond); err == nil {
			out = append(out, m)
		}
	}
	require.Len(t, out, n, "messages in %s", topic)
	return out
}

func headerOf(m *kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Poison tasks go to the dead-letter topic as they came (value and
// headers), with why and where from in headers, as Spring Kafka's and
// Watermill's users expect; the task of an unknown kind is also answered
// with the error, so its request fails at once. Every one is counted, each
// reason logged once, and the partition's commits move past them.
func TestWorker_PoisonTasksGoToTheDeadLetterTopic(t *testing.T) {
	tp := newTopics(t)
	dlq, withDLQ := deadLetterTo(t)
	r, _ := newRequester(t, tp, func(c *requester.Config) { c.TasksPartitions = 1 })
	var logs infra.LogBuffer
	rw := startWorker(t, tp, giftProcessor(t), onePartitionWorker, withDLQ, logTo(&logs))

	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	delivered := make(chan kafka.Event, 1)
	for _, v := range []string{"not json", "{\"unknown\":1}"} {
		require.NoError(t, p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &tp.tasks, Partition: 0}, Value: []byte(v),
			Headers: []kafka.Header{{Key: "trace", Value: []byte("kept")}},
		}, delivered))
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}
	task := newTask()
	task.Kind = "make_coffee"
	res, err := requestTask(r, task, 10*time.Second)
	require.NoError(t, err, "the unknown kind is answered, not left to time out")
	assert.Contains(t, res.Error, domain.ErrUnknownKind.Error())
	ok, err := request(t, r, 10*time.Second)
	require.NoError(t, err, "tasks after poison are still answered")
	assert.True(t, domain.IsGiftCode(ok.Value))

	dead := readAll(t, dlq, 3)
	for i, want := range []struct{ value, reason, offset string }{
		{"not json", "undecodable", "0"}, {"{\"unknown\":1}", "undecodable", "1"}, {"", "unknown_kind", "2"},
	} {
		m := dead[i]
		if want.value != "" {
			assert.Equal(t, want.value, string(m.Value), "the task as it came")
			assert.Equal(t, "kept", headerOf(m, "trace"), "its own headers kept")
		} else {
			assert.Contains(t, string(m.Value), "make_coffee")
			assert.Contains(t, string(m.Value), task.ID)
			assert.Equal(t, r.ReplyTopic(), headerOf(m, "reply_to"), "its own headers kept")
		}
		assert.Equal(t, want.reason, headerOf(m, "dlt_reason"))
		assert.NotEmpty(t, headerOf(m, "dlt_error"))
		assert.Equal(t, tp.tasks, headerOf(m, "dlt_original_topic"))
		assert.Equal(t, "0", headerOf(m, "dlt_original_partition"))
		assert.Equal(t, want.offset, headerOf(m, "dlt_original_offset"))
		assert.Equal(t, tp.group, headerOf(m, "dlt_original_group"))
	}
	assert.Equal(t, 2.0, metricstest.Value(t, rw.reg, "rps_worker_poison_tasks_total", "undecodable"))
	assert.Equal(t, 1.0, metricstest.Value(t, rw.reg, "rps_worker_poison_tasks_total", "unknown_kind"))
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_dead_letters_total", "sent") == 3 },
		10*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(4), waitCommitted(t, tp, 4, 10*time.Second), "poison never holds its partition back")
	assert.Equal(t, 1, strings.Count(logs.String(), "reason=undecodable"), "one line per reason, not per task:\n%s", logs.String())
}

// Without a dead-letter topic a poison task is counted by reason, logged
// once per reason and committed like an answered one.
func TestWorker_PoisonWithoutDeadLetterTopicIsCountedAndCommitted(t *testing.T) {
	tp := newTopics(t)
	var logs infra.LogBuffer
	rw := startWorker(t, tp, giftProcessor(t), onePartitionWorker, logTo(&logs))
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	delivered := make(chan kafka.Event, 1)
	for _, v := range []string{"not json", "[]", "{\"action\":\"get_gift_code\"}"} {
		require.NoError(t, p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &tp.tasks, Partition: 0}, Value: []byte(v)}, delivered))
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}
	require.Equal(t, int64(3), waitCommitted(t, tp, 3, 15*time.Second), "poison never holds its partition back")
	assert.Equal(t, 3.0, metricstest.Value(t, rw.reg, "rps_worker_poison_tasks_total", "undecodable"))
	assert.Zero(t, metricstest.Value(t, rw.reg, "rps_worker_dead_letters_total", "sent"))
	assert.Equal(t, 1, strings.Count(logs.String(), "poison task skipped"), "one line per reason, not per task:\n%s", logs.String())
}
