package kafkabroker_test

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// A task older than MaxTaskAge (redelivered after a long outage of every
// worker) is skipped unrun and committed: its request stopped waiting long
// ago and the issuance ledger may have forgotten its record, so running it
// could issue a second code. A fresh task behind it is answered.
func TestWorker_SkipsTasksOlderThanMaxTaskAge(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp) // creates the tasks topic
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	stale := newTask()
	m, err := kafkabroker.EncodeTask(stale, tp.tasks, "stale-replies-"+uuid.NewString()[:8])
	require.NoError(t, err)
	m.TopicPartition.Partition = 0
	m.Timestamp = time.Now().Add(-10 * time.Minute)
	delivered := make(chan kafka.Event, 1)
	require.NoError(t, p.Produce(m, delivered))
	require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)

	ran := newRecorder()
	rw := startWorker(t, tp, ran, func(c *taskworker.Config) { c.MaxTaskAge = 5 * time.Minute })
	fresh := newTask()
	res, err := requestTask(r, fresh, 15*time.Second)
	require.NoError(t, err, "a fresh task is answered")
	assert.Equal(t, fresh.ID, res.TaskID)
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_stale_tasks_total", "") == 1 },
		10*time.Second, 10*time.Millisecond)
	assert.False(t, ran.has(stale.ID), "the stale task ran")
	assert.True(t, ran.has(fresh.ID))
	require.Eventually(t, func() bool { return committedOffsets(t, tp.group, tp.tasks)[0] >= 1 },
		10*time.Second, 50*time.Millisecond, "a skipped task counts as done: it never holds its partition back")
}
