package compat_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// This file holds stand-ins of the Python original's server and worker:
// plain confluent-kafka-go clients that write and read exactly its wire
// format (JSON values, no key, no headers) and behave as it does.

// theirTask and theirReply are the original's messages, field for field.
type theirTask struct {
	Action        string `json:"action"`
	CorrelationID string `json:"correlation_id"`
}

type theirReply struct {
	CorrelationID string  `json:"correlation_id"`
	Result        *string `json:"result"`
}

// theirWorker is the original's worker: group gift-service-workers (here the
// test's group), auto-commit, a reply to the results topic for every task,
// "GIFT-" + an upper-case UUID, or null for an unknown action. It reads
// tasks loosely (our servers add request_id) and ignores headers.
type theirWorker struct {
	consumer *kafka.Consumer
	producer *kafka.Producer
	assigned atomic.Bool
	handled  atomic.Int64
	// knows is the action it runs; the original's is get_gift_code, any
	// other answers every task with a null result.
	knows   string
	stop    chan struct{}
	polling sync.WaitGroup // the poll loop: done before the clients close
	done    sync.WaitGroup // the delivery reports: done once the producer closed
}

func startTheirWorker(t *testing.T, env testEnv) *theirWorker {
	t.Helper()
	return startTheirWorkerKnowing(t, env, "get_gift_code")
}

func startTheirWorkerKnowing(t *testing.T, env testEnv, action string) *theirWorker {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": env.bootstrap, "group.id": env.group,
		"enable.auto.commit": true, "auto.offset.reset": "earliest",
	})
	require.NoError(t, err)
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": env.bootstrap, "linger.ms": 5})
	require.NoError(t, err)
	w := &theirWorker{consumer: c, producer: p, knows: action, stop: make(chan struct{})}
	require.NoError(t, c.Subscribe(env.tasks, func(_ *kafka.Consumer, ev kafka.Event) error {
		if _, ok := ev.(kafka.AssignedPartitions); ok {
			w.assigned.Store(true)
		}
		return nil
	}))
	w.done.Add(1)
	w.polling.Add(1)
	go w.drainReports()
	go w.run(env.results)
	t.Cleanup(w.close)
	require.Eventually(t, w.assigned.Load, 60*time.Second, 10*time.Millisecond, "their worker joined the group")
	return w
}

func (w *theirWorker) run(results string) {
	defer w.polling.Done()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		m, ok := w.consumer.Poll(100).(*kafka.Message)
		if !ok {
			continue
		}
		var task theirTask
		if json.Unmarshal(m.Value, &task) != nil {
			continue // the original logs and skips
		}
		var result *string
		if task.Action == w.knows {
			code := "GIFT-" + strings.ToUpper(uuid.NewString())
			result = &code
		}
		value, _ := json.Marshal(theirReply{CorrelationID: task.CorrelationID, Result: result})
		_ = w.producer.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &results, Partition: kafka.PartitionAny}, Value: value}, nil)
		w.handled.Add(1)
	}
}

func (w *theirWorker) drainReports() {
	defer w.done.Done()
	for range w.producer.Events() { // fire and forget, as the original
	}
}

// close stops the poll loop and waits for it before closing the clients:
// a client closed while another goroutine is inside Poll or Produce is
// freed under it (seen: heap corruption, "malloc(): unaligned tcache chunk").
func (w *theirWorker) close() {
	close(w.stop)
	w.polling.Wait()
	w.producer.Flush(5000)
	_ = w.consumer.Close()
	w.producer.Close()
	w.done.Wait()
}

// theirServer is the original's server side: tasks without headers, and a
// consumer of the whole results topic in a group of its own at "latest",
// which picks out its correlation ids and ignores everything else.
type theirServer struct {
	env      testEnv
	consumer *kafka.Consumer
	producer *kafka.Producer
	pending  sync.Map // correlation id → chan *string
	stop     chan struct{}
	polling  sync.WaitGroup // the poll loop: done before the clients close
	done     sync.WaitGroup // the delivery reports: done once the producer closed
	assigned atomic.Bool
}

func startTheirServer(t *testing.T, env testEnv) *theirServer {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": env.bootstrap, "group.id": "their-server-" + uuid.NewString()[:8],
		"auto.offset.reset": "latest", "enable.auto.commit": true,
	})
	require.NoError(t, err)
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": env.bootstrap, "linger.ms": 5})
	require.NoError(t, err)
	s := &theirServer{env: env, consumer: c, producer: p, stop: make(chan struct{})}
	require.NoError(t, c.Subscribe(env.results, func(_ *kafka.Consumer, ev kafka.Event) error {
		if _, ok := ev.(kafka.AssignedPartitions); ok {
			s.assigned.Store(true)
		}
		return nil
	}))
	s.done.Add(1)
	s.polling.Add(1)
	go func() {
		defer s.done.Done()
		for range p.Events() { // fire and forget, as the original
		}
	}()
	go s.readResults()
	t.Cleanup(s.close)
	s.awaitListening(t)
	return s
}

// awaitListening stands in for the original's 5 s sleep: it waits until a
// message sent to every results partition comes back, so the test measures
// the mixed fleet, not the original's start-up race.
func (s *theirServer) awaitListening(t *testing.T) {
	t.Helper()
	require.Eventually(t, s.assigned.Load, 60*time.Second, 10*time.Millisecond, "their server joined its group")
	for p := range int32(resultsPartitions) {
		require.Eventually(t, func() bool {
			id := "their-probe-" + uuid.NewString()
			ch := make(chan *string, 1)
			s.pending.Store(id, ch)
			defer s.pending.Delete(id)
			value, _ := json.Marshal(theirReply{CorrelationID: id})
			_ = s.producer.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &s.env.results, Partition: p}, Value: value}, nil)
			select {
			case <-ch:
				return true
			case <-time.After(time.Second):
				return false
			}
		}, 60*time.Second, time.Millisecond, "their server reads results partition %d", p)
	}
}

func (s *theirServer) readResults() {
	defer s.polling.Done()
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		m, ok := s.consumer.Poll(100).(*kafka.Message)
		if !ok {
			continue
		}
		var reply theirReply
		if json.Unmarshal(m.Value, &reply) != nil {
			continue
		}
		if ch, ok := s.pending.Load(reply.CorrelationID); ok {
			select {
			case ch.(chan *string) <- reply.Result:
			default:
			}
		}
	}
}

// request sends one task and waits for its code: "" with false when no
// reply came in time (the original then answered 200 with a null code).
func (s *theirServer) request(ctx context.Context) (string, bool) {
	id := uuid.NewString()
	ch := make(chan *string, 1)
	s.pending.Store(id, ch)
	defer s.pending.Delete(id)
	value, _ := json.Marshal(theirTask{Action: "get_gift_code", CorrelationID: id})
	if s.producer.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &s.env.tasks, Partition: kafka.PartitionAny}, Value: value}, nil) != nil {
		return "", false
	}
	select {
	case code := <-ch:
		if code == nil {
			return "", false
		}
		return *code, true
	case <-ctx.Done():
		return "", false
	}
}

// close stops the poll loop and waits for it before closing the clients
// (theirWorker.close says why).
func (s *theirServer) close() {
	close(s.stop)
	s.polling.Wait()
	s.producer.Flush(5000)
	_ = s.consumer.Close()
	s.producer.Close()
	s.done.Wait()
}
