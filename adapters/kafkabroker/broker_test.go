package kafkabroker_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

func TestMain(m *testing.M) {
	if topic := os.Getenv(crashWorkerEnv); topic != "" {
		runCrashWorker(topic) // this process is the worker that gets killed
		return
	}
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// bootstrap is the real broker; integration tests never skip in CI.
func bootstrap(t testing.TB) string {
	t.Helper()
	b := os.Getenv("KAFKA_BOOTSTRAP_SERVERS")
	if b == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("KAFKA_BOOTSTRAP_SERVERS must be set in CI (go tool task test starts Kafka)")
		}
		t.Skip("KAFKA_BOOTSTRAP_SERVERS not set; run go tool task test")
	}
	return b
}

// topics are a test's own tasks topic and reply-topic prefix, deleted after.
type topics struct{ tasks, results string }

func newTopics(t testing.TB) topics {
	t.Helper()
	id := uuid.NewString()[:8]
	tp := topics{tasks: "test-tasks-" + id, results: "test-results-" + id}
	t.Cleanup(func() { deleteTopics(t, tp.tasks) })
	return tp
}

func deleteTopics(t testing.TB, names ...string) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, _ = admin.DeleteTopics(ctx, names)
}

func newRequester(t testing.TB, tp topics, reg *prometheus.Registry) *kafkabroker.Requester {
	t.Helper()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	r, err := kafkabroker.NewRequester(kafkabroker.RequesterConfig{
		Bootstrap: bootstrap(t), TasksTopic: tp.tasks, ResultsTopic: tp.results, TasksPartitions: 3,
		Logger: quiet, Registerer: reg,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		assert.NoError(t, r.Close(ctx))
	})
	require.Eventually(t, func() bool { return r.Ready(context.Background()) == nil }, 30*time.Second, 10*time.Millisecond,
		"ready once the reply path is proven")
	return r
}

// runningWorker is a Worker whose Run goroutine the test can stop.
type runningWorker struct {
	w      *kafkabroker.Worker
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

func startWorker(t testing.TB, tp topics, group string, concurrency int, proc ports.TaskProcessor) *runningWorker {
	t.Helper()
	reg := prometheus.NewRegistry()
	w, err := kafkabroker.NewWorker(context.Background(), kafkabroker.WorkerConfig{
		Bootstrap: bootstrap(t), TasksTopic: tp.tasks, TasksPartitions: 3, Group: group,
		Concurrency: concurrency, Logger: quiet, Registerer: reg,
	}, proc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWorker{w: w, cancel: cancel, done: make(chan error, 1), reg: reg}
	go func() { rw.done <- w.Run(ctx) }()
	t.Cleanup(func() { rw.stop(t) })
	require.Eventually(t, func() bool { return w.Ready(context.Background()) == nil }, 30*time.Second, 20*time.Millisecond)
	return rw
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

func request(t testing.TB, r *kafkabroker.Requester, timeout time.Duration) (domain.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return r.Request(ctx, domain.Task{ID: uuid.NewString(), Kind: domain.KindGiftCode, RequestID: "req-" + uuid.NewString()[:6]})
}

func metric(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func TestRoundTrip_GiftCode(t *testing.T) {
	tp := newTopics(t)
	r := newRequester(t, tp, nil)
	startWorker(t, tp, "g-"+tp.tasks, 10, giftProcessor(t))

	res, err := request(t, r, 10*time.Second)
	require.NoError(t, err)
	assert.True(t, domain.IsGiftCode(res.Value), "got %q", res.Value)
	assert.Empty(t, res.Error)
}

func TestTimeout_AndTheLateReplyIsDroppedAndCounted(t *testing.T) {
	tp := newTopics(t)
	reg := prometheus.NewRegistry()
	r := newRequester(t, tp, reg)
	slow := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		time.Sleep(time.Second)
		return domain.Result{TaskID: task.ID, Value: "late"}
	})
	startWorker(t, tp, "g-"+tp.tasks, 10, slow)

	start := time.Now()
	_, err := request(t, r, 200*time.Millisecond)
	require.ErrorIs(t, err, domain.ErrTimedOut)
	assert.Less(t, time.Since(start), time.Second, "returns at the deadline, not at the reply")

	require.Eventually(t, func() bool { return metric(t, reg, "rps_broker_late_replies_total", "") == 1 },
		10*time.Second, 20*time.Millisecond, "the late reply is counted and dropped")

	_, err = request(t, r, 0)
	require.ErrorIs(t, err, domain.ErrTimedOut, "an expired deadline is a timeout")
}

func TestHandlerError_ComesBackAsAnErrorResult(t *testing.T) {
	tp := newTopics(t)
	r := newRequester(t, tp, nil)
	failing := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Error: "out of codes"}
	})
	rw := startWorker(t, tp, "g-"+tp.tasks, 10, failing)

	res, err := request(t, r, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "out of codes", res.Error)
	require.ErrorIs(t, res.Err(), domain.ErrTaskFailed)
	assert.InDelta(t, 1, metric(t, rw.reg, "rps_worker_tasks_total", "error"), 0)
}

func TestPoisonMessage_IsSkipped(t *testing.T) {
	tp := newTopics(t)
	r := newRequester(t, tp, nil) // creates the tasks topic
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	delivered := make(chan kafka.Event, 3)
	for _, garbage := range []string{"not json", `{"action":"get_gift_code"}`, `{"unknown":1}`} {
		require.NoError(t, p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &tp.tasks, Partition: 0},
			Value:          []byte(garbage),
		}, delivered))
	}
	for range 3 {
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}

	rw := startWorker(t, tp, "g-"+tp.tasks, 10, giftProcessor(t))
	res, err := request(t, r, 15*time.Second)
	require.NoError(t, err, "tasks after poison are still answered")
	assert.True(t, domain.IsGiftCode(res.Value))
	require.Eventually(t, func() bool { return metric(t, rw.reg, "rps_worker_tasks_total", "poison") == 3 },
		10*time.Second, 20*time.Millisecond)
}

func TestBrokerDown_NotReadyAndUnavailableAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := ln.Addr().String()
	require.NoError(t, ln.Close())

	r, err := kafkabroker.NewRequester(kafkabroker.RequesterConfig{
		Bootstrap: closedPort, TasksTopic: "t", ResultsTopic: "r", TasksPartitions: 1,
		Logger: quiet, Registerer: prometheus.NewRegistry(),
	})
	require.NoError(t, err, "a server may start before Kafka")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = r.Close(ctx)
	}()

	require.Error(t, r.Ready(context.Background()))
	start := time.Now()
	_, err = request(t, r, 10*time.Second)
	require.ErrorIs(t, err, domain.ErrUnavailable)
	assert.Less(t, time.Since(start), 100*time.Millisecond, "refused at once, not at the deadline")
}

// Worker A is stopped in the middle of a batch; worker B in the same group
// answers the rest: every request gets its answer.
func TestAtLeastOnce_WorkerStoppedMidBatch(t *testing.T) {
	tp := newTopics(t)
	r := newRequester(t, tp, nil)
	group := "g-" + tp.tasks
	var processed atomic.Int32
	slow := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		time.Sleep(50 * time.Millisecond)
		processed.Add(1)
		return domain.Result{TaskID: task.ID, Value: "done"}
	})
	a := startWorker(t, tp, group, 2, slow)

	const n = 60
	errs := make(chan error, n)
	for range n {
		go func() {
			res, err := request(t, r, 60*time.Second)
			if err == nil && res.Value != "done" {
				err = errors.New("wrong answer " + res.Value)
			}
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return processed.Load() >= 5 }, 30*time.Second, 10*time.Millisecond)
	a.stop(t) // mid-batch: most tasks are still waiting
	require.Less(t, processed.Load(), int32(n), "A must stop before the batch is done")

	startWorker(t, tp, group, 10, slow)
	for range n {
		require.NoError(t, <-errs)
	}
}

// crashWorkerEnv makes the test binary a worker process, so a test can kill
// it with SIGKILL mid-batch, as a crash would.
const crashWorkerEnv = "KAFKABROKER_TEST_CRASH_WORKER_TOPIC"

// fastFailover lets the group notice a dead worker in seconds, not 45 s.
var fastFailover = map[string]string{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}

func runCrashWorker(topic string) {
	slow := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		time.Sleep(20 * time.Millisecond)
		return domain.Result{TaskID: task.ID, Value: "done"}
	})
	w, err := kafkabroker.NewWorker(context.Background(), kafkabroker.WorkerConfig{
		Bootstrap: os.Getenv("KAFKA_BOOTSTRAP_SERVERS"), TasksTopic: topic, TasksPartitions: 3,
		Group: "g-" + topic, Concurrency: 4, Settings: fastFailover, Logger: quiet, Registerer: prometheus.NewRegistry(),
	}, slow)
	if err != nil {
		os.Exit(3)
	}
	_ = w.Run(context.Background()) // until killed
}

// A worker process is killed (SIGKILL) in the middle of a batch; another
// worker in the group takes over and every request is answered: nothing was
// committed before its reply was delivered.
func TestAtLeastOnce_WorkerKilledMidBatch(t *testing.T) {
	tp := newTopics(t)
	r := newRequester(t, tp, nil)
	crashed := exec.Command(os.Args[0], "-test.run=^$")
	crashed.Env = append(os.Environ(), crashWorkerEnv+"="+tp.tasks)
	require.NoError(t, crashed.Start())
	t.Cleanup(func() { _ = crashed.Process.Kill(); _ = crashed.Wait() })

	const n = 200
	var answered atomic.Int32
	errs := make(chan error, n)
	for range n {
		go func() {
			res, err := request(t, r, 60*time.Second)
			if err == nil && res.Value != "done" {
				err = errors.New("wrong answer " + res.Value)
			}
			if err == nil {
				answered.Add(1)
			}
			errs <- err
		}()
	}
	// 4 at a time, 20 ms each: ~1 s for the batch. Kill it a third of the way.
	require.Eventually(t, func() bool { return answered.Load() >= 50 }, 45*time.Second, 5*time.Millisecond)
	require.NoError(t, crashed.Process.Signal(syscall.SIGKILL))
	_ = crashed.Wait()
	require.Less(t, answered.Load(), int32(n), "the worker must die mid-batch")

	proc := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Value: "done"}
	})
	reg := prometheus.NewRegistry()
	w, err := kafkabroker.NewWorker(context.Background(), kafkabroker.WorkerConfig{
		Bootstrap: bootstrap(t), TasksTopic: tp.tasks, TasksPartitions: 3, Group: "g-" + tp.tasks,
		Concurrency: 10, Settings: fastFailover, Logger: quiet, Registerer: reg,
	}, proc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	for range n {
		require.NoError(t, <-errs, "every task is answered after the crash")
	}
}

// Two server instances share the tasks topic; each reads only its own reply
// topic, so neither ever sees the other's replies.
func TestTwoRequesters_EachGetsOnlyItsOwnReplies(t *testing.T) {
	tp := newTopics(t)
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, b := newRequester(t, tp, regA), newRequester(t, tp, regB)
	startWorker(t, tp, "g-"+tp.tasks, 50, giftProcessor(t))

	var wg sync.WaitGroup
	codes := sync.Map{}
	for i := range 100 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Go(func() {
			res, err := request(t, r, 20*time.Second)
			if assert.NoError(t, err) {
				_, dup := codes.LoadOrStore(res.Value, true)
				assert.False(t, dup, "duplicate code")
			}
		})
	}
	wg.Wait()
	assert.Zero(t, metric(t, regA, "rps_broker_late_replies_total", ""), "A saw a reply not meant for it")
	assert.Zero(t, metric(t, regB, "rps_broker_late_replies_total", ""), "B saw a reply not meant for it")
}
