package kafkabroker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// logLines decodes the JSON lines of logs whose msg is msg.
func logLines(t *testing.T, logs *infra.LogBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// The request id travels with the task to the worker: the handler's context
// carries it, and so does every log line about the task, here the task's
// own debug line and the line of a reply whose server went away.
func TestWorker_TaskLogLinesCarryTheRequestID(t *testing.T) {
	tp := newTopics(t)
	onePartition := func(c *requester.Config) { c.TasksPartitions = 1 }
	gone, _ := newRequester(t, tp, onePartition)
	var logs infra.LogBuffer
	logger, err := observability.NewLogger(&logs, observability.LogConfig{Level: "debug", Format: observability.FormatJSON})
	require.NoError(t, err)
	release := make(chan struct{})
	seen := make(chan string, 1)
	proc := processorFunc(func(ctx context.Context, task domain.Task) domain.Result {
		seen <- observability.RequestID(ctx)
		<-release
		return domain.Result{TaskID: task.ID, Value: "done"}
	})
	rw := startWorker(t, tp, proc, func(c *taskworker.Config) { c.Logger = logger })

	task := newTask()
	task.RequestID = "req-" + task.ID
	answered := make(chan error, 1)
	go func() {
		_, err := requestTask(gone, task, 30*time.Second)
		answered <- err
	}()
	select {
	case id := <-seen:
		assert.Equal(t, task.RequestID, id, "the handler's context carries the task's request id")
	case <-time.After(30 * time.Second):
		t.Fatal("the task never reached the worker")
	}
	require.NoError(t, gone.Close(context.Background())) // its reply topic goes
	require.ErrorIs(t, <-answered, domain.ErrUnavailable)
	close(release)
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_orphan_replies_total", "") == 1 },
		15*time.Second, 10*time.Millisecond)

	for _, msg := range []string{"task done", "reply topic gone; reply dropped"} {
		lines := logLines(t, &logs, msg)
		require.Len(t, lines, 1, "one %q line", msg)
		assert.Equal(t, task.RequestID, lines[0]["request_id"], "%q carries the request id", msg)
	}
}
