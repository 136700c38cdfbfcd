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

// clients are what both stand-ins run on, as the original's processes do:
// a consumer subscribed to one topic in a group with auto-commit, a
// fire-and-forget producer, and a poll loop that hands each message to the
// stand-in.
type clients struct {
	consumer *kafka.Consumer
	producer *kafka.Producer
	assigned atomic.Bool // the group assigned the consumer its partitions
	stop     chan struct{}
	polling  sync.WaitGroup // the poll loop: done before the clients close
	done     sync.WaitGroup // the delivery reports: done once the producer closed
}

// start opens the clients on env's broker, the consumer in group from
// offsetReset on topic, and polls until the test ends, handing each
// message to handle.
func (c *clients) start(t *testing.T, env testEnv, group, offsetReset, topic string, handle func(*kafka.Message)) {
	t.Helper()
	var err error
	c.consumer, err = kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": env.bootstrap, "group.id": group,
		"enable.auto.commit": true, "auto.offset.reset": offsetReset,
	})
	require.NoError(t, err)
	c.producer, err = kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": env.bootstrap, "linger.ms": 5})
	require.NoError(t, err)
	c.stop = make(chan struct{})
	require.NoError(t, c.consumer.Subscribe(topic, func(_ *kafka.Consumer, ev kafka.Event) error {
		if _, ok := ev.(kafka.AssignedPartitions); ok {
			c.assigned.Store(true)
		}
		return nil
	}))
	c.done.Add(1)
	c.polling.Add(1)
	go c.drainReports()
	go c.poll(handle)
	t.Cleanup(c.close)
}

func (c *clients) poll(handle func(*kafka.Message)) {
	defer c.polling.Done()
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		if m, ok := c.consumer.Poll(100).(*kafka.Message); ok {
			handle(m)
		}
	}
}

func (c *clients) drainReports() {
	defer c.done.Done()
	for range c.producer.Events() { // fire and forget, as the original
	}
}

// close stops the poll loop and waits for it before closing the clients:
// a client closed while another goroutine is inside Poll or Produce is
// freed under it (seen: heap corruption, "malloc(): unaligned tcache chunk").
func (c *clients) close() {
	close(c.stop)
	c.polling.Wait()
	c.producer.Flush(5000)
	_ = c.consumer.Close()
	c.producer.Close()
	c.done.Wait()
}

// theirWorker is the original's worker: group gift-service-workers (here the
// test's group), auto-commit, a reply to the results topic for every task,
// "GIFT-" + an upper-case UUID, or null for an unknown action. It reads
// tasks loosely (our servers add request_id) and ignores headers.
type theirWorker struct {
	clients
	results string
	handled atomic.Int64
	// knows is the action it runs; the original's is get_gift_code, any
	// other answers every task with a null result.
	knows string
}

func startTheirWorker(t *testing.T, env testEnv) *theirWorker {
	t.Helper()
	return startTheirWorkerKnowing(t, env, "get_gift_code")
}

func startTheirWorkerKnowing(t *testing.T, env testEnv, action string) *theirWorker {
	t.Helper()
	w := &theirWorker{results: env.results, knows: action}
	w.start(t, env, env.group, "earliest", env.tasks, w.handle)
	require.Eventually(t, w.assigned.Load, 60*time.Second, 10*time.Millisecond, "their worker joined the group")
	return w
}

// handle answers one task on the results topic.
func (w *theirWorker) handle(m *kafka.Message) {
	var task theirTask
	if json.Unmarshal(m.Value, &task) != nil {
		return // the original logs and skips
	}
	var result *string
	if task.Action == w.knows {
		code := "GIFT-" + strings.ToUpper(uuid.NewString())
		result = &code
	}
	value, _ := json.Marshal(theirReply{CorrelationID: task.CorrelationID, Result: result})
	_ = w.producer.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &w.results, Partition: kafka.PartitionAny}, Value: value}, nil)
	w.handled.Add(1)
}

// theirServer is the original's server side: tasks without headers, and a
// consumer of the whole results topic in a group of its own at "latest",
// which picks out its correlation ids and ignores everything else.
type theirServer struct {
	clients
	env     testEnv
	pending sync.Map // correlation id → chan *string
}

func startTheirServer(t *testing.T, env testEnv) *theirServer {
	t.Helper()
	s := &theirServer{env: env}
	s.start(t, env, "their-server-"+uuid.NewString()[:8], "latest", env.results, s.takeResult)
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

// takeResult hands a reply to the request waiting for it, if any.
func (s *theirServer) takeResult(m *kafka.Message) {
	var reply theirReply
	if json.Unmarshal(m.Value, &reply) != nil {
		return
	}
	if ch, ok := s.pending.Load(reply.CorrelationID); ok {
		select {
		case ch.(chan *string) <- reply.Result:
		default:
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
