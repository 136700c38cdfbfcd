package kafkabroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/domain"
)

// RequesterConfig sets up the server side.
type RequesterConfig struct {
	Bootstrap       string
	TasksTopic      string
	ResultsTopic    string // prefix of this instance's reply topic
	TasksPartitions int    // used when the tasks topic must be created
	// InstanceID names the reply topic; empty means hostname + random suffix.
	InstanceID string
	// Settings are raw librdkafka properties applied over the tuned defaults.
	Settings   map[string]string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// probeTimeout bounds the start-up proof that replies can be received.
const probeTimeout = 30 * time.Second

// replyRetention is how long replies live in a reply topic; only replies
// to a crashed instance are ever read late, and nobody reads those.
const replyRetention = "3600000"

// outcome is what a waiting request receives: a reply or a send failure.
type outcome struct {
	res domain.Result
	err error
}

// Requester is the server side of request-reply (ports.TaskBroker).
type Requester struct {
	cfg        RequesterConfig
	replyTopic string
	producer   *kafka.Producer
	consumer   *kafka.Consumer
	admin      *kafka.AdminClient
	metrics    *requesterMetrics

	mu      sync.Mutex
	pending map[string]chan outcome

	ready       atomic.Bool
	brokersDown atomic.Bool
	// lifetime is cancelled by Close; it ends connecting and replyLoop.
	lifetime     context.Context
	cancel       context.CancelFunc
	connectDone  chan struct{}
	replyDone    chan struct{} // closed when replyLoop ends (or never ran)
	deliveryDone chan struct{} // closed when the producer's events end
	closeOnce    sync.Once
}

// Retry pacing while the cluster cannot be reached.
const (
	firstRetry = 500 * time.Millisecond
	maxRetry   = 10 * time.Second
)

// NewRequester returns at once and connects in the background: it creates
// the tasks topic if needed and this instance's reply topic, starts reading
// replies and proves the path with a probe, retrying until it works. Until
// then Ready fails and Request returns domain.ErrUnavailable, so a server
// started before Kafka is up answers 503 and is not ready, never hangs.
func NewRequester(cfg RequesterConfig) (*Requester, error) {
	if cfg.Logger == nil || cfg.Registerer == nil {
		return nil, errors.New("kafkabroker: logger and registerer are required")
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = instanceID()
	}
	m, err := newRequesterMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Requester{
		cfg: cfg, replyTopic: cfg.ResultsTopic + "." + cfg.InstanceID, metrics: m,
		pending:     map[string]chan outcome{},
		connectDone: make(chan struct{}), replyDone: make(chan struct{}), deliveryDone: make(chan struct{}),
	}
	r.lifetime, r.cancel = context.WithCancel(context.Background())
	pconf, err := apply(producerSettings(cfg.Bootstrap), cfg.Settings)
	if err != nil {
		return nil, err
	}
	if r.producer, err = kafka.NewProducer(pconf); err != nil {
		return nil, fmt.Errorf("kafkabroker: producer: %w", err)
	}
	if r.admin, err = kafka.NewAdminClientFromProducer(r.producer); err != nil {
		r.producer.Close()
		return nil, fmt.Errorf("kafkabroker: admin: %w", err)
	}
	go r.deliveryLoop()
	go r.connectLoop()
	return r, nil
}

// connectLoop retries connect with growing pauses until it succeeds or Close.
func (r *Requester) connectLoop() {
	defer close(r.connectDone)
	wait := firstRetry
	for {
		err := r.connect()
		if err == nil {
			r.ready.Store(true)
			r.cfg.Logger.Info("kafka requester ready", "reply_topic", r.replyTopic, "tasks_topic", r.cfg.TasksTopic)
			return
		}
		if r.lifetime.Err() != nil {
			return
		}
		r.cfg.Logger.Warn("kafka not reachable yet; retrying", "in", wait.String(), "err", err)
		select {
		case <-time.After(wait):
		case <-r.lifetime.Done():
			return
		}
		wait = min(2*wait, maxRetry)
	}
}

func (r *Requester) connect() error {
	if err := ensureTopic(r.lifetime, r.admin, r.cfg.TasksTopic, r.cfg.TasksPartitions, nil); err != nil {
		return fmt.Errorf("kafkabroker: %w", err)
	}
	if err := ensureTopic(r.lifetime, r.admin, r.replyTopic, 1, map[string]string{"retention.ms": replyRetention}); err != nil {
		return fmt.Errorf("kafkabroker: %w", err)
	}
	if r.consumer == nil {
		if err := r.openConsumer(); err != nil {
			return err
		}
		go r.replyLoop()
	}
	return r.probe()
}

func (r *Requester) openConsumer() error {
	cconf, err := apply(consumerSettings(r.cfg.Bootstrap, r.replyTopic), r.cfg.Settings)
	if err != nil {
		return err
	}
	_ = cconf.SetKey("enable.auto.commit", false) // assigned, not grouped: nothing to commit
	consumer, err := kafka.NewConsumer(cconf)
	if err != nil {
		return fmt.Errorf("kafkabroker: reply consumer: %w", err)
	}
	// From the beginning of a topic made for us: no reply can slip past.
	if err := consumer.Assign([]kafka.TopicPartition{{Topic: &r.replyTopic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
		_ = consumer.Close()
		return fmt.Errorf("kafkabroker: assign reply topic: %w", err)
	}
	r.consumer = consumer
	return nil
}

// probe sends a reply to ourselves and waits for it: proof that the whole
// reply path (produce, fetch, dispatch) works before we call ourselves ready.
func (r *Requester) probe() error {
	ctx, cancel := context.WithTimeout(r.lifetime, probeTimeout)
	defer cancel()
	id := "probe-" + randomHex(8)
	ch := r.register(id)
	defer r.unregister(id)
	msg, err := encodeReply(domain.Result{TaskID: id, Value: "probe"}, r.replyTopic)
	if err != nil {
		return err
	}
	msg.Opaque = id
	if err := r.producer.Produce(msg, nil); err != nil {
		return fmt.Errorf("kafkabroker: probe: %w: %w", domain.ErrUnavailable, err)
	}
	select {
	case o := <-ch:
		return o.err
	case <-ctx.Done():
		return fmt.Errorf("kafkabroker: probe: no reply within %s: %w", probeTimeout, domain.ErrUnavailable)
	}
}

// Request implements ports.TaskBroker.
func (r *Requester) Request(ctx context.Context, task domain.Task) (domain.Result, error) {
	if err := task.Validate(); err != nil {
		return domain.Result{}, err
	}
	if !r.ready.Load() {
		return domain.Result{}, fmt.Errorf("kafkabroker: not connected to Kafka yet: %w", domain.ErrUnavailable)
	}
	msg, err := encodeTask(task, r.cfg.TasksTopic, r.replyTopic)
	if err != nil {
		return domain.Result{}, err
	}
	msg.Opaque = task.ID
	start := time.Now()
	ch := r.register(task.ID)
	defer r.unregister(task.ID)
	if err := r.producer.Produce(msg, nil); err != nil {
		r.metrics.produceErrors.Inc()
		if isQueueFull(err) {
			return domain.Result{}, fmt.Errorf("kafkabroker: send task: local queue full: %w", domain.ErrUnavailable)
		}
		return domain.Result{}, fmt.Errorf("kafkabroker: send task: %w: %w", domain.ErrUnavailable, err)
	}
	select {
	case o := <-ch:
		if o.err == nil {
			r.metrics.roundTrip.Observe(time.Since(start).Seconds())
		}
		return o.res, o.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return domain.Result{}, fmt.Errorf("kafkabroker: %w after %s", domain.ErrTimedOut, time.Since(start).Round(time.Millisecond))
		}
		return domain.Result{}, ctx.Err()
	}
}

func (r *Requester) register(id string) chan outcome {
	ch := make(chan outcome, 1) // one answer, never blocks the loops
	r.mu.Lock()
	r.pending[id] = ch
	r.mu.Unlock()
	r.metrics.pending.Inc()
	return ch
}

func (r *Requester) unregister(id string) {
	r.mu.Lock()
	delete(r.pending, id)
	r.mu.Unlock()
	r.metrics.pending.Dec()
}

// complete hands o to the request waiting for id, if any.
func (r *Requester) complete(id string, o outcome) bool {
	r.mu.Lock()
	ch, ok := r.pending[id]
	r.mu.Unlock()
	if ok {
		select {
		case ch <- o:
		default: // already answered (a duplicate reply)
		}
	}
	return ok
}

// deliveryLoop drains delivery reports, so the producer never blocks, and
// fails the request of any task that could not be delivered.
func (r *Requester) deliveryLoop() {
	defer close(r.deliveryDone)
	for ev := range r.producer.Events() {
		switch e := ev.(type) {
		case *kafka.Message:
			if e.TopicPartition.Error == nil {
				r.brokersDown.Store(false)
				continue
			}
			r.metrics.produceErrors.Inc()
			if id, ok := e.Opaque.(string); ok {
				r.complete(id, outcome{err: fmt.Errorf("kafkabroker: deliver task: %w: %w", domain.ErrUnavailable, e.TopicPartition.Error)})
			}
		case kafka.Error:
			r.noteError(e)
		}
	}
}

// replyLoop reads this instance's reply topic and wakes the waiting requests.
func (r *Requester) replyLoop() {
	defer close(r.replyDone)
	for r.lifetime.Err() == nil {
		switch e := r.consumer.Poll(100).(type) {
		case *kafka.Message:
			r.brokersDown.Store(false)
			res, err := decodeReply(e)
			if err != nil {
				r.cfg.Logger.Warn("undecodable reply dropped", "topic", r.replyTopic, "offset", e.TopicPartition.Offset, "err", err)
				continue
			}
			if !r.complete(res.TaskID, outcome{res: res}) {
				r.metrics.lateReplies.Inc()
				r.cfg.Logger.Debug("late or unknown reply dropped", "correlation_id", res.TaskID)
			}
		case kafka.Error:
			r.noteError(e)
		}
	}
}

func (r *Requester) noteError(e kafka.Error) {
	if e.Code() == kafka.ErrAllBrokersDown {
		r.brokersDown.Store(true)
	}
	r.cfg.Logger.Warn("kafka client error", "code", e.Code().String(), "err", e)
}

// Ready implements ports.TaskBroker.
func (r *Requester) Ready(context.Context) error {
	switch {
	case !r.ready.Load():
		return errors.New("reply path not proven yet")
	case r.brokersDown.Load():
		return fmt.Errorf("all brokers down: %w", domain.ErrUnavailable)
	}
	return nil
}

// Close flushes tasks still queued, stops reading replies and deletes this
// instance's reply topic; requests still waiting time out on their own.
func (r *Requester) Close(ctx context.Context) error {
	var err error
	r.closeOnce.Do(func() {
		r.ready.Store(false)
		if left := r.producer.Flush(flushMillis(ctx)); left > 0 {
			err = fmt.Errorf("kafkabroker: %d messages not flushed", left)
		}
		r.cancel()
		<-r.connectDone
		if r.consumer != nil {
			<-r.replyDone // the consumer must not be polled while it closes
			_ = r.consumer.Close()
			if derr := deleteTopic(ctx, r.admin, r.replyTopic); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		r.admin.Close()
		r.producer.Close() // closes its events channel, which ends deliveryLoop
		<-r.deliveryDone
	})
	return err
}

func flushMillis(ctx context.Context) int {
	if deadline, ok := ctx.Deadline(); ok {
		return max(0, int(time.Until(deadline).Milliseconds()))
	}
	return 10_000
}

func instanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "instance"
	}
	return sanitizeTopicPart(host) + "-" + strconv.Itoa(os.Getpid()) + "-" + randomHex(3)
}

// sanitizeTopicPart keeps the characters Kafka allows in topic names.
func sanitizeTopicPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
