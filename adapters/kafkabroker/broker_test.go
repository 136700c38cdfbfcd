package kafkabroker_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// A cancelled request leaves nothing behind (the contract checks its error).
func TestRequest_CancelledLeavesNothingPending(t *testing.T) {
	tp := newTopics(t)
	r, reg := newRequester(t, tp) // no worker: nobody answers

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.Request(ctx, newTask())
		errc <- err
	}()
	require.Eventually(t, func() bool { return metricstest.Value(t, reg, "rps_broker_pending_replies", "") == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	assert.Zero(t, metricstest.Value(t, reg, "rps_broker_pending_replies", ""))
}

func TestLateReply_IsDroppedAndCounted(t *testing.T) {
	tp := newTopics(t)
	r, reg := newRequester(t, tp)
	answer := make(chan struct{}) // the worker answers only after the request gave up
	slow := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		<-answer
		return domain.Result{TaskID: task.ID, Value: "late"}
	})
	startWorker(t, tp, slow)

	_, err := request(t, r, 200*time.Millisecond)
	close(answer)
	require.ErrorIs(t, err, domain.ErrTimedOut, "returns at the deadline, with no reply yet")

	require.Eventually(t, func() bool { return lateReplies(t, reg) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the late reply is dropped and counted")
}

// A handler's error reply is counted by the worker (the contract checks
// the reply itself).
func TestHandlerError_IsCountedByTheWorker(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp)
	failing := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Error: "out of codes"}
	})
	rw := startWorker(t, tp, failing)

	res, err := request(t, r, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "out of codes", res.Error)
	assert.InDelta(t, 1, metricstest.Value(t, rw.reg, "rps_worker_tasks_total", "error"), 0)
	assert.InDelta(t, 0, metricstest.Value(t, rw.reg, "rps_worker_tasks_total", "ok"), 0)
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestBrokerDown_RequesterIsNotReadyAndUnavailableAtOnce(t *testing.T) {
	r, err := requester.New(requester.Config{
		Bootstrap: closedPort(t), TasksTopic: "t", ResultsTopic: "r", ReplyTimeout: replyTimeout,
		Logger: quiet, Registerer: prometheus.NewRegistry(),
	})
	require.NoError(t, err, "a server may start before Kafka")

	require.ErrorIs(t, r.Ready(context.Background()), domain.ErrUnavailable)
	require.ErrorIs(t, r.Ready(context.Background()), domain.ErrStarting, "its own start, not a shared outage: the instance stays unready")
	// Refused at once: a request that waited for its deadline would end
	// in ErrTimedOut, one refused before sending in ErrUnavailable.
	start := time.Now()
	_, err = request(t, r, 10*time.Second)
	require.ErrorIs(t, err, domain.ErrUnavailable)
	require.NotErrorIs(t, err, domain.ErrTimedOut)
	assert.Less(t, time.Since(start), 5*time.Second, "refused well before its 10 s deadline")

	start = time.Now()
	_ = r.Close(context.Background()) // no deadline: Close bounds itself
	assert.Less(t, time.Since(start), 5*time.Second, "nothing to flush or delete when Kafka is unreachable (the flush bound is 10 s)")
}

func TestBrokerDown_NewWorkerFailsInBoundedTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := taskworker.New(ctx, taskworker.Config{
		Bootstrap: closedPort(t), TasksTopic: "t", Group: "g", Concurrency: 1, DrainTimeout: time.Second,
		ReplyTimeout: replyTimeout, Logger: quiet, Registerer: prometheus.NewRegistry(),
	}, giftProcessor(t))
	require.ErrorIs(t, err, domain.ErrUnavailable)
	assert.Less(t, time.Since(start), 3*time.Second, "bounded by ctx")
}

func TestClose_FailsWaitingRequestsAndDeletesTheReplyTopic(t *testing.T) {
	tp := newTopics(t)
	r, reg := newRequester(t, tp) // no worker: nobody answers

	errc := make(chan error, 1)
	go func() {
		_, err := request(t, r, 30*time.Second)
		errc <- err
	}()
	require.Eventually(t, func() bool { return metricstest.Value(t, reg, "rps_broker_pending_replies", "") == 1 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, r.Close(context.Background()))
	require.ErrorIs(t, <-errc, domain.ErrUnavailable, "a waiting request ends at Close, not at its deadline")
	assert.Less(t, time.Since(start), 5*time.Second)

	withAdmin(t, func(_ context.Context, admin *kafka.AdminClient) {
		topic := r.ReplyTopic()
		md, err := admin.GetMetadata(&topic, false, 5000)
		require.NoError(t, err)
		assert.Equal(t, kafka.ErrUnknownTopicOrPart, md.Topics[topic].Error.Code(), "reply topic deleted")
	})
}

func TestRequest_SameIDTwiceAtOnceIsRefused(t *testing.T) {
	tp := newTopics(t)
	r, reg := newRequester(t, tp) // no worker: the first request keeps waiting
	task := newTask()
	first := make(chan error, 1)
	go func() {
		_, err := requestTask(r, task, time.Second)
		first <- err
	}()
	require.Eventually(t, func() bool { return metricstest.Value(t, reg, "rps_broker_pending_replies", "") == 1 }, 5*time.Second, time.Millisecond)
	_, err := requestTask(r, task, time.Second)
	require.ErrorIs(t, err, domain.ErrInvalidTask, "its reply could not tell the two apart")
	require.ErrorIs(t, <-first, domain.ErrTimedOut)
}

// Two server instances share the tasks topic; each reads only its own reply
// topic, so neither ever sees the other's replies.
func TestTwoRequesters_EachGetsOnlyItsOwnReplies(t *testing.T) {
	tp := newTopics(t)
	a, regA := newRequester(t, tp)
	b, regB := newRequester(t, tp)
	require.NotEqual(t, a.ReplyTopic(), b.ReplyTopic())
	startWorker(t, tp, giftProcessor(t), concurrency(50))

	var wg sync.WaitGroup
	codes := sync.Map{}
	for i := range 200 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Go(func() {
			res, err := request(t, r, 20*time.Second)
			if assert.NoError(t, err) {
				assert.True(t, domain.IsGiftCode(res.Value), "got %q", res.Value)
				_, dup := codes.LoadOrStore(res.Value, true)
				assert.False(t, dup, "duplicate code")
			}
		})
	}
	wg.Wait()
	assert.Zero(t, lateReplies(t, regA), "A saw a reply not meant for it")
	assert.Zero(t, lateReplies(t, regB), "B saw a reply not meant for it")
	assert.Zero(t, metricstest.Value(t, regA, "rps_broker_bad_replies_total", ""))
	assert.Zero(t, metricstest.Value(t, regB, "rps_broker_bad_replies_total", ""))
	assert.Zero(t, metricstest.Value(t, regA, "rps_broker_pending_replies", ""), "every pending entry is removed")
	assert.Zero(t, metricstest.Value(t, regB, "rps_broker_pending_replies", ""))
}

// The worker's backlog figures: tasks waiting behind a busy worker show as
// consumer lag until they are answered, and each task's wait in Kafka is
// observed once.
func TestWorkerLagAndQueueWait(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp)
	release := make(chan struct{})
	blocked := processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		<-release
		return domain.Result{TaskID: task.ID, Value: "ok"}
	})
	rw := startWorker(t, tp, blocked, concurrency(1))

	const tasks = 3
	errc := make(chan error, tasks)
	for range tasks {
		go func() {
			_, err := request(t, r, 20*time.Second)
			errc <- err
		}()
	}
	require.Eventually(t, func() bool { return sumOf(t, rw.reg, "rps_worker_consumer_lag") == tasks }, 15*time.Second, 10*time.Millisecond,
		"three tasks unanswered")
	close(release)
	for range tasks {
		require.NoError(t, <-errc)
	}
	require.Eventually(t, func() bool { return sumOf(t, rw.reg, "rps_worker_consumer_lag") == 0 }, 15*time.Second, 10*time.Millisecond,
		"every task answered")
	count, sum := histogram(t, rw.reg, "rps_worker_queue_wait_seconds")
	assert.Equal(t, uint64(tasks), count)
	assert.Positive(t, sum)
}

// sumOf adds up every series of the gauge called name.
func sumOf(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// histogram returns the sample count and sum of the histogram called name.
func histogram(t *testing.T, g prometheus.Gatherer, name string) (uint64, float64) {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("histogram %s not found", name)
	return 0, 0
}
