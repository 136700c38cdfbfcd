package kafkabroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// WorkerConfig sets up the worker side.
type WorkerConfig struct {
	Bootstrap       string
	TasksTopic      string
	TasksPartitions int    // used when the tasks topic must be created
	Group           string // consumer group shared by all workers
	Concurrency     int    // tasks processed at once
	// Settings are raw librdkafka properties applied over the tuned defaults.
	Settings   map[string]string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// drainTimeout bounds the flush of the last replies at shutdown.
const drainTimeout = 10 * time.Second

// inFlight identifies the task a reply answers, for its delivery report.
type inFlight struct {
	partition int32
	offset    int64
}

// Worker consumes tasks, runs them on a ports.TaskProcessor and replies to
// the instance that asked. See the package doc for its delivery guarantee.
type Worker struct {
	cfg      WorkerConfig
	proc     ports.TaskProcessor
	consumer *kafka.Consumer
	producer *kafka.Producer
	offsets  *offsetTracker
	metrics  *workerMetrics
	sem      chan struct{}
	tasks    sync.WaitGroup
	joined   atomic.Bool
}

// NewWorker creates the tasks topic if needed and joins the consumer group.
func NewWorker(ctx context.Context, cfg WorkerConfig, proc ports.TaskProcessor) (*Worker, error) {
	switch {
	case proc == nil:
		return nil, errors.New("kafkabroker: nil processor")
	case cfg.Concurrency < 1:
		return nil, fmt.Errorf("kafkabroker: concurrency must be at least 1 (got %d)", cfg.Concurrency)
	case cfg.Logger == nil || cfg.Registerer == nil:
		return nil, errors.New("kafkabroker: logger and registerer are required")
	}
	m, err := newWorkerMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, proc: proc, offsets: newOffsetTracker(), metrics: m, sem: make(chan struct{}, cfg.Concurrency)}
	if err := w.open(ctx); err != nil {
		w.closeClients()
		return nil, err
	}
	return w, nil
}

func (w *Worker) open(ctx context.Context) error {
	pconf, err := apply(producerSettings(w.cfg.Bootstrap), w.cfg.Settings)
	if err != nil {
		return err
	}
	if w.producer, err = kafka.NewProducer(pconf); err != nil {
		return fmt.Errorf("kafkabroker: producer: %w", err)
	}
	admin, err := kafka.NewAdminClientFromProducer(w.producer)
	if err != nil {
		return fmt.Errorf("kafkabroker: admin: %w", err)
	}
	defer admin.Close()
	if err := ensureTopic(ctx, admin, w.cfg.TasksTopic, w.cfg.TasksPartitions, nil); err != nil {
		return fmt.Errorf("kafkabroker: %w", err)
	}
	base := consumerSettings(w.cfg.Bootstrap, w.cfg.Group)
	for k, v := range map[string]any{
		"auto.commit.interval.ms": 200,
		// A new group starts from the oldest task, not the newest: no task
		// produced before the first worker joined is lost.
		"auto.offset.reset": "earliest",
		// A killed worker's partitions move to the others after this long
		// (librdkafka's default is 45 s, far past the 10 s reply timeout).
		"session.timeout.ms":    10000,
		"heartbeat.interval.ms": 1000,
	} {
		base[k] = v
	}
	cconf, err := apply(base, w.cfg.Settings)
	if err != nil {
		return err
	}
	// Not overridable: offsets are stored by us once a reply is delivered and
	// committed in the background, so the committed offset never passes an
	// unanswered task.
	_ = cconf.SetKey("enable.auto.commit", true)
	_ = cconf.SetKey("enable.auto.offset.store", false)
	if w.consumer, err = kafka.NewConsumer(cconf); err != nil {
		return fmt.Errorf("kafkabroker: consumer: %w", err)
	}
	if err := w.consumer.Subscribe(w.cfg.TasksTopic, w.rebalanced); err != nil {
		return fmt.Errorf("kafkabroker: subscribe %s: %w", w.cfg.TasksTopic, err)
	}
	return nil
}

// rebalanced forgets revoked partitions: tasks of theirs still running may be
// redone by the new owner (at-least-once); the finished prefix is committed.
func (w *Worker) rebalanced(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		w.joined.Store(true)
		w.cfg.Logger.Info("partitions assigned", "partitions", partitionList(e.Partitions))
	case kafka.RevokedPartitions:
		if _, err := c.Commit(); err != nil && !isNoOffset(err) {
			w.cfg.Logger.Warn("commit on revoke", "err", err)
		}
		for _, tp := range e.Partitions {
			w.offsets.forget(tp.Partition)
		}
		w.cfg.Logger.Info("partitions revoked", "partitions", partitionList(e.Partitions))
	}
	return nil
}

// Run consumes until ctx is cancelled, then drains: running tasks finish,
// their replies are flushed and their offsets committed, and the clients close.
func (w *Worker) Run(ctx context.Context) error {
	deliveries := make(chan struct{})
	go func() {
		defer close(deliveries)
		w.deliveryLoop()
	}()
	w.cfg.Logger.Info("worker consuming", "topic", w.cfg.TasksTopic, "group", w.cfg.Group, "concurrency", w.cfg.Concurrency)
	for ctx.Err() == nil {
		switch e := w.consumer.Poll(100).(type) {
		case *kafka.Message:
			w.dispatch(ctx, e)
		case kafka.Error:
			w.cfg.Logger.Warn("kafka consumer error", "code", e.Code().String(), "err", e)
		}
	}
	w.cfg.Logger.Info("worker draining")
	w.tasks.Wait()
	if left := w.producer.Flush(int(drainTimeout.Milliseconds())); left > 0 {
		w.cfg.Logger.Warn("replies not flushed at shutdown; their tasks will be redelivered", "count", left)
	}
	w.producer.Close() // ends deliveryLoop once every report is handled
	<-deliveries
	if _, err := w.consumer.Commit(); err != nil && !isNoOffset(err) {
		w.cfg.Logger.Warn("final commit", "err", err)
	}
	if err := w.consumer.Close(); err != nil {
		return fmt.Errorf("kafkabroker: close consumer: %w", err)
	}
	w.cfg.Logger.Info("worker stopped")
	return nil
}

// dispatch runs one task in its own goroutine, at most Concurrency at once.
func (w *Worker) dispatch(ctx context.Context, m *kafka.Message) {
	tp := m.TopicPartition
	w.offsets.start(tp.Partition, int64(tp.Offset))
	task, replyTo, err := decodeTask(m)
	if err != nil {
		w.metrics.processed.WithLabelValues(outcomePoison).Inc()
		w.cfg.Logger.Warn("poison task skipped", "partition", tp.Partition, "offset", int64(tp.Offset), "err", err)
		w.finish(tp.Partition, int64(tp.Offset))
		return
	}
	w.sem <- struct{}{}
	w.tasks.Add(1)
	w.metrics.inFlight.Inc()
	go func() {
		defer w.tasks.Done()
		defer func() { <-w.sem }()
		started := time.Now()
		// The task runs to completion even during shutdown: its reply is owed.
		res := w.proc.Process(context.WithoutCancel(ctx), task)
		w.metrics.processing.Observe(time.Since(started).Seconds())
		outcome := outcomeOK
		if res.Error != "" {
			outcome = outcomeError
		}
		w.metrics.processed.WithLabelValues(outcome).Inc()
		w.reply(res, replyTo, &inFlight{partition: tp.Partition, offset: int64(tp.Offset)})
	}()
}

// reply produces the result; its delivery report marks the task done.
func (w *Worker) reply(res domain.Result, replyTo string, f *inFlight) {
	msg, err := encodeReply(res, replyTo)
	if err != nil {
		w.cfg.Logger.Error("encode reply", "err", err)
		w.metrics.inFlight.Dec()
		return
	}
	msg.Opaque = f
	for attempt := 0; ; attempt++ {
		err := w.producer.Produce(msg, nil)
		if err == nil {
			return
		}
		if !isQueueFull(err) || attempt == 50 {
			w.metrics.replyErrors.Inc()
			w.metrics.inFlight.Dec()
			w.cfg.Logger.Error("reply not sent; the task will be redelivered", "correlation_id", res.TaskID, "err", err)
			return
		}
		time.Sleep(20 * time.Millisecond) // back-pressure: let the queue drain
	}
}

// deliveryLoop marks a task done once its reply is delivered, and stores the
// offset up to which every task of the partition is answered.
func (w *Worker) deliveryLoop() {
	for ev := range w.producer.Events() {
		m, ok := ev.(*kafka.Message)
		if !ok {
			if e, isErr := ev.(kafka.Error); isErr {
				w.cfg.Logger.Warn("kafka producer error", "code", e.Code().String(), "err", e)
			}
			continue
		}
		f, ok := m.Opaque.(*inFlight)
		if !ok {
			continue
		}
		w.metrics.inFlight.Dec()
		if m.TopicPartition.Error != nil {
			// Not marked done: the offset stays behind it, so the task is
			// redelivered after a restart or rebalance rather than lost.
			w.metrics.replyErrors.Inc()
			w.cfg.Logger.Error("reply not delivered; the task will be redelivered", "partition", f.partition, "offset", f.offset, "err", m.TopicPartition.Error)
			continue
		}
		w.finish(f.partition, f.offset)
	}
}

func (w *Worker) finish(partition int32, offset int64) {
	next, ok := w.offsets.finish(partition, offset)
	if !ok {
		return
	}
	topic := w.cfg.TasksTopic
	if _, err := w.consumer.StoreOffsets([]kafka.TopicPartition{{Topic: &topic, Partition: partition, Offset: kafka.Offset(next)}}); err != nil {
		w.cfg.Logger.Debug("store offset (partition revoked?)", "partition", partition, "err", err)
		return
	}
	w.metrics.committed.WithLabelValues(strconv.Itoa(int(partition))).Set(float64(next))
}

// Ready reports whether the worker has joined its group.
func (w *Worker) Ready(context.Context) error {
	if !w.joined.Load() {
		return errors.New("not yet joined the consumer group")
	}
	return nil
}

func (w *Worker) closeClients() {
	if w.consumer != nil {
		_ = w.consumer.Close()
	}
	if w.producer != nil {
		w.producer.Close()
	}
}

func isNoOffset(err error) bool {
	var kerr kafka.Error
	return errors.As(err, &kerr) && kerr.Code() == kafka.ErrNoOffset
}

func partitionList(tps []kafka.TopicPartition) []int32 {
	ps := make([]int32, 0, len(tps))
	for _, tp := range tps {
		ps = append(ps, tp.Partition)
	}
	return ps
}
