package faults_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
)

// startSilentWorker joins the stack's worker group on its tasks topic and
// takes tasks without ever answering them: to the server a worker consumes
// (so it admits requests), yet every request waits for its reply. It leaves
// the group when the test ends.
func startSilentWorker(t *testing.T, k kafkaStack) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": k.bootstrap})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: k.tasksTopic(), NumPartitions: 3, ReplicationFactor: 1}})
	admin.Close()
	require.NoError(t, err)
	for _, r := range res {
		if code := r.Error.Code(); code != kafka.ErrNoError && code != kafka.ErrTopicAlreadyExists {
			require.NoError(t, r.Error, "create %s", r.Topic)
		}
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": k.bootstrap, "group.id": k.group(), "enable.auto.commit": false,
	})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(k.tasksTopic(), nil))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				c.Poll(100) // keeps the membership; the tasks are never answered
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		_ = c.Close()
	})
}
