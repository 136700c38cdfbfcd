package taskworker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

type echo struct{}

func (echo) Process(_ context.Context, task domain.Task) domain.Result {
	return domain.Result{TaskID: task.ID, Value: "done"}
}

// A producer that raised a fatal error can deliver nothing more: the worker
// stops consuming and Run returns the error (the process exits, its
// orchestrator starts a new one), instead of retrying replies forever.
func TestRun_FatalProducerErrorEndsRun(t *testing.T) {
	bootstrap := infra.KafkaBootstrap(t)
	id := uuid.NewString()[:8]
	cfg := Config{
		Bootstrap: bootstrap, TasksTopic: "test-tasks-" + id, TasksPartitions: 1, Group: "test-workers-" + id,
		Concurrency: 1, DrainTimeout: 5 * time.Second, ReplyTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(),
	}
	t.Cleanup(func() {
		admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
		require.NoError(t, err)
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_, _ = admin.DeleteTopics(ctx, []string{cfg.TasksTopic})
		_, _ = admin.DeleteConsumerGroups(ctx, []string{cfg.Group})
	})
	w, err := New(context.Background(), cfg, echo{})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	require.Eventually(t, func() bool { return w.Ready(context.Background()) == nil }, 30*time.Second, 5*time.Millisecond)

	require.Equal(t, kafka.ErrNoError, w.producer.TestFatalError(kafka.ErrOutOfOrderSequenceNumber, "test: sequence lost"))
	select {
	case err := <-done:
		require.ErrorContains(t, err, "producer failed")
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end after a fatal producer error")
	}
}
