package kafkabroker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// together is a processor that holds every task until n are in hand, then
// lets them all finish at the same moment, as a ledger flush does.
type together struct {
	n    int
	mu   sync.Mutex
	in   int
	free chan struct{}
}

func newTogether(n int) *together { return &together{n: n, free: make(chan struct{})} }

func (p *together) Process(ctx context.Context, task domain.Task) domain.Result {
	p.mu.Lock()
	if p.in++; p.in == p.n {
		close(p.free)
	}
	p.mu.Unlock()
	select {
	case <-p.free:
	case <-ctx.Done():
	}
	return domain.Result{TaskID: task.ID, Value: "done"}
}

// Tasks that finish together, asked by a server of this version, are
// answered in fewer messages than tasks, every request gets its own reply,
// and every task is committed.
func TestWorker_RepliesFinishingTogetherShareMessages(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp)
	const n = 40
	rw := startWorker(t, tp, newTogether(n), concurrency(n))

	var answered sync.Map
	errs := requestAll(t, r, newTasks(n), &answered)
	for range n {
		require.NoError(t, <-errs)
	}
	messages, replies := histogram(t, rw.reg, "rps_worker_reply_batch_size")
	assert.Equal(t, float64(n), replies, "every reply went in a message to the server, once")
	assert.Less(t, messages, uint64(n), "replies finishing together shared messages")
	require.Eventually(t, func() bool {
		total := int64(0)
		for _, next := range committedOffsets(t, tp.group, tp.tasks) {
			total += next
		}
		return total == n
	}, 10*time.Second, 50*time.Millisecond, "a batch's delivery commits each of its tasks")
}

// A server of an earlier version (its reply topic's name does not say it
// reads batches) gets one reply per message, however many finish together.
func TestWorker_AnEarlierServerGetsOneReplyPerMessage(t *testing.T) {
	tp := newTopics(t)
	newRequester(t, tp) // creates the tasks topic
	earlier := tp.results + ".earlier-1-abcdef"
	withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) {
		res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: earlier, NumPartitions: 1, ReplicationFactor: 1}})
		require.NoError(t, err)
		require.Equal(t, kafka.ErrNoError, res[0].Error.Code(), res[0].Error.String())
	})
	t.Cleanup(func() {
		withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) { _, _ = admin.DeleteTopics(ctx, []string{earlier}) })
	})
	const n = 20
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	delivered := make(chan kafka.Event, n)
	for i := range n {
		m, err := kafkabroker.EncodeTask(domain.Task{ID: fmt.Sprintf("c-%d", i), Kind: domain.KindGiftCode}, tp.tasks, earlier)
		require.NoError(t, err)
		require.NoError(t, p.Produce(m, delivered))
	}
	for range n {
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}
	rw := startWorker(t, tp, newTogether(n), concurrency(n))

	got := map[string]int{}
	for _, m := range readTopic(t, earlier, n) {
		require.False(t, kafkabroker.IsReplyBatch(m), "one reply per message: %s", m.Value)
		res, err := kafkabroker.DecodeReply(m)
		require.NoError(t, err)
		got[res.TaskID]++
	}
	assert.Len(t, got, n, "every task answered once")
	messages, _ := histogram(t, rw.reg, "rps_worker_reply_batch_size")
	assert.Zero(t, messages, "nothing went through the batcher")
}

// readTopic reads the first n messages of topic's partition 0.
func readTopic(t *testing.T, topic string, n int) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t), "group.id": "reader-" + topic, "enable.auto.commit": false})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: 0}}))
	var out []*kafka.Message
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		if m, ok := c.Poll(100).(*kafka.Message); ok {
			out = append(out, m)
		}
	}
	require.Len(t, out, n, "messages on %s", topic)
	return out
}
