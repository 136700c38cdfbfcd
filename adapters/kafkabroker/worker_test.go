package kafkabroker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

func TestPoisonMessage_IsSkippedAndTheNextTaskAnswered(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp) // creates the tasks topic
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	poison := []*kafka.Message{
		{Value: []byte("not json")},
		{Value: []byte(`{"action":"get_gift_code"}`)}, // no correlation id
		{Value: []byte(`{"unknown":1}`)},
		{Value: []byte(`{"action":"get_gift_code","correlation_id":"x"}`)}, // no reply_to, and this worker has no results topic
	}
	delivered := make(chan kafka.Event, len(poison))
	for _, m := range poison {
		m.TopicPartition = kafka.TopicPartition{Topic: &tp.tasks, Partition: 0}
		require.NoError(t, p.Produce(m, delivered))
	}
	for range poison {
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}

	rw := startWorker(t, tp, giftProcessor(t))
	res, err := request(t, r, 15*time.Second)
	require.NoError(t, err, "tasks after poison are still answered")
	assert.True(t, domain.IsGiftCode(res.Value))
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_tasks_total", "poison") == 4 },
		10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 3.0, metricstest.Value(t, rw.reg, "rps_worker_poison_tasks_total", "undecodable"))
	assert.Equal(t, 1.0, metricstest.Value(t, rw.reg, "rps_worker_poison_tasks_total", "unroutable"))
	require.Eventually(t, func() bool { return committedOffsets(t, tp.group, tp.tasks)[0] >= int64(len(poison)) },
		10*time.Second, 50*time.Millisecond, "a poison message counts as done: it never holds its partition back")
}

// recorder is a processor that takes 5-50 ms per task, so tasks finish out
// of order, and remembers which tasks it ran. With straggle set, one task in
// 16 takes 1.5 s, so later tasks overtake it by far.
type recorder struct {
	straggle bool
	mu       sync.Mutex
	ran      map[string]bool
}

func newRecorder() *recorder { return &recorder{ran: map[string]bool{}} }

func (r *recorder) Process(_ context.Context, task domain.Task) domain.Result {
	pause := time.Duration(5+rand.IntN(45)) * time.Millisecond //nolint:gosec // test timing only
	if r.straggle && strings.HasPrefix(task.ID, "0") {
		pause = 1500 * time.Millisecond
	}
	time.Sleep(pause)
	r.mu.Lock()
	r.ran[task.ID] = true
	r.mu.Unlock()
	return domain.Result{TaskID: task.ID, Value: "done"}
}

func (r *recorder) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ran[id]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ran)
}

// requestAll sends tasks concurrently; the returned channel yields each
// outcome, and answered counts the successes as they come.
func requestAll(t *testing.T, r *requester.Broker, tasks []domain.Task, answered *sync.Map) <-chan error {
	t.Helper()
	errs := make(chan error, len(tasks))
	for _, task := range tasks {
		go func() {
			res, err := requestTask(r, task, 60*time.Second)
			if err == nil && res.Value != "done" {
				err = fmt.Errorf("wrong answer %q", res.Value)
			}
			if err == nil {
				answered.Store(task.ID, true)
			}
			errs <- err
		}()
	}
	return errs
}

func newTasks(n int) []domain.Task {
	tasks := make([]domain.Task, n)
	for i := range tasks {
		tasks[i] = newTask()
	}
	return tasks
}

// allTaskOffsets waits until all n tasks are in the topic and returns where.
func allTaskOffsets(t *testing.T, topic string, n int) map[string]kafka.TopicPartition {
	t.Helper()
	var offsets map[string]kafka.TopicPartition
	require.Eventually(t, func() bool { offsets = taskOffsets(t, topic); return len(offsets) == n }, 20*time.Second, 100*time.Millisecond)
	return offsets
}

// Worker A is stopped (ctx cancelled) in the middle of a batch and drains;
// worker B in the same group answers the rest. The committed offsets are
// exactly the prefix A answered, and B redoes none of A's tasks.
func TestAtLeastOnce_WorkerStoppedMidBatch(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp)
	recA := newRecorder()
	a := startWorker(t, tp, recA, concurrency(4))

	const n = 120
	tasks := newTasks(n)
	var answered sync.Map
	errs := requestAll(t, r, tasks, &answered)
	require.Eventually(t, func() bool { return recA.count() >= 10 }, 30*time.Second, time.Millisecond)
	a.stop(t) // mid-batch: most tasks are still waiting
	require.Less(t, recA.count(), n, "A must stop before the batch is done")

	committed := committedOffsets(t, tp.group, tp.tasks)
	for id, at := range allTaskOffsets(t, tp.tasks, n) {
		below := int64(at.Offset) < committed[at.Partition]
		assert.Equal(t, recA.has(id), below, "task at %d/%d: committed only if A answered it, and after A's drain everything it answered is committed", at.Partition, at.Offset)
	}

	recB := newRecorder()
	startWorker(t, tp, recB, concurrency(10))
	for range n {
		require.NoError(t, <-errs)
	}
	for _, task := range tasks {
		assert.False(t, recA.has(task.ID) && recB.has(task.ID), "a graceful handover redoes nothing")
	}
}

// crashWorkerEnv makes the test binary a worker process, so a test can kill
// it with SIGKILL mid-batch, as a crash would.
const crashWorkerEnv = "KAFKABROKER_TEST_CRASH_WORKER_TOPIC"

// fastFailover lets the group notice a dead worker in seconds.
var fastFailover = map[string]string{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}

func runCrashWorker(topic string) {
	w, err := taskworker.New(context.Background(), taskworker.Config{
		Bootstrap: os.Getenv("KAFKA_BOOTSTRAP_SERVERS"), TasksTopic: topic, TasksPartitions: 3,
		Group: os.Getenv(crashWorkerEnv + "_GROUP"), Concurrency: 8, Settings: fastFailover,
		DrainTimeout: 30 * time.Second, ReplyTimeout: replyTimeout, Logger: quiet, Registerer: prometheus.NewRegistry(),
	}, &recorder{straggle: true, ran: map[string]bool{}})
	if err != nil {
		os.Exit(3)
	}
	_ = w.Run(context.Background()) // until killed
}

// A worker process is killed (SIGKILL) in the middle of a batch whose tasks
// finish out of order, some of them far behind the rest. Every task below
// the offsets it committed was answered by it, and another worker of the
// group answers all the rest.
func TestAtLeastOnce_WorkerKilledMidBatch(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp)
	crashed := exec.Command(os.Args[0], "-test.run=^$") //nolint:gosec // the test binary itself
	crashed.Env = append(os.Environ(), crashWorkerEnv+"="+tp.tasks, crashWorkerEnv+"_GROUP="+tp.group)
	require.NoError(t, crashed.Start())
	t.Cleanup(func() { _ = crashed.Process.Kill(); _ = crashed.Wait() })

	const n = 300 // 8 at a time, 5-50 ms each with a few stragglers: ~3 s for the batch
	tasks := newTasks(n)
	var answered sync.Map
	var answeredN atomic.Int32
	errs := requestAll(t, r, tasks, &answered)
	// Kill it once it has committed something and answered a good part.
	require.Eventually(t, func() bool {
		answeredN.Store(0)
		answered.Range(func(any, any) bool { answeredN.Add(1); return true })
		if answeredN.Load() < n/4 {
			return false
		}
		for _, offset := range committedOffsets(t, tp.group, tp.tasks) {
			if offset > 0 {
				return true
			}
		}
		return false
	}, 45*time.Second, 5*time.Millisecond)
	require.NoError(t, crashed.Process.Signal(syscall.SIGKILL))
	_ = crashed.Wait()

	committed := committedOffsets(t, tp.group, tp.tasks)
	offsets := allTaskOffsets(t, tp.tasks, n)
	var below, above int
	for _, task := range tasks {
		at := offsets[task.ID]
		if int64(at.Offset) >= committed[at.Partition] {
			above++
			continue
		}
		below++
		require.Eventually(t, func() bool { _, ok := answered.Load(task.ID); return ok }, 5*time.Second, 5*time.Millisecond,
			"task at %d/%d is below the committed offset, so its reply was delivered before the crash", at.Partition, at.Offset)
	}
	t.Logf("at the kill: %d tasks below the committed offsets (all answered), %d above", below, above)
	require.Positive(t, below, "the worker committed while it ran")
	require.Positive(t, above, "the worker died mid-batch")

	startWorker(t, tp, newRecorder(), concurrency(10), func(c *taskworker.Config) { c.Settings = fastFailover })
	for range n {
		require.NoError(t, <-errs, "every task is answered after the crash")
	}
}

// A server instance shuts down (deleting its reply topic) while a worker
// runs its task: the reply is dropped as an orphan, the offset still moves
// on, and the next server's task is answered.
func TestWorker_ReplyTopicGoneDoesNotStallThePartition(t *testing.T) {
	tp := newTopics(t)
	onePartition := func(c *requester.Config) { c.TasksPartitions = 1 }
	gone, _ := newRequester(t, tp, onePartition)
	release := make(chan struct{})
	proc := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		if task.RequestID == "orphan" {
			<-release
		}
		return domain.Result{TaskID: task.ID, Value: "done"}
	})
	rw := startWorker(t, tp, proc)

	orphaned := make(chan error, 1)
	go func() {
		task := newTask()
		task.RequestID = "orphan"
		_, err := requestTask(gone, task, 30*time.Second)
		orphaned <- err
	}()
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_tasks_in_flight", "") == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, gone.Close(context.Background()))
	require.ErrorIs(t, <-orphaned, domain.ErrUnavailable)
	close(release)

	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_orphan_replies_total", "") == 1 }, 15*time.Second, 10*time.Millisecond)
	next, _ := newRequester(t, tp, onePartition)
	res, err := request(t, next, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "done", res.Value)
	require.Eventually(t, func() bool { return committedOffsets(t, tp.group, tp.tasks)[0] == 2 }, 10*time.Second, 50*time.Millisecond,
		"both tasks committed: the orphan did not hold the partition back")
}

// Once the worker's producer knows a reply topic is gone (its first orphan
// reply told it), a later reply to it fails in Produce itself with "unknown
// topic", before any delivery report. That reply is an orphan too: dropped,
// counted, and its offset committed, never a frozen partition: an error
// returned by Produce must finish the task as a failed delivery report does.
func TestWorker_ImmediateUnknownTopicDoesNotStallThePartition(t *testing.T) {
	tp := newTopics(t)
	onePartition := func(c *requester.Config) { c.TasksPartitions = 1 }
	gone, _ := newRequester(t, tp, onePartition)
	goneTopic := gone.ReplyTopic()
	require.NoError(t, gone.Close(context.Background())) // deletes its reply topic
	rw := startWorker(t, tp, processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Value: "done"}
	}))

	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap(t)})
	require.NoError(t, err)
	defer p.Close()
	orphanTask := func() {
		t.Helper()
		msg, err := kafkabroker.EncodeTask(newTask(), tp.tasks, goneTopic)
		require.NoError(t, err)
		delivered := make(chan kafka.Event, 1)
		require.NoError(t, p.Produce(msg, delivered))
		require.NoError(t, (<-delivered).(*kafka.Message).TopicPartition.Error)
	}
	orphanTask() // its reply fails by delivery report: the producer learns the topic is gone
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_orphan_replies_total", "") == 1 },
		15*time.Second, 10*time.Millisecond)
	orphanTask() // its reply fails in Produce at once
	require.Eventually(t, func() bool { return metricstest.Value(t, rw.reg, "rps_worker_orphan_replies_total", "") == 2 },
		15*time.Second, 10*time.Millisecond, "the second orphan is dropped and counted too")

	next, _ := newRequester(t, tp, onePartition)
	res, err := request(t, next, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "done", res.Value)
	require.Eventually(t, func() bool { return committedOffsets(t, tp.group, tp.tasks)[0] == 3 }, 10*time.Second, 50*time.Millisecond,
		"all three tasks committed: no orphan held the partition back")
}
