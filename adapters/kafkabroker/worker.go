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

// WorkerConfig sets up the worker side. Zero values take the defaults named
// beside each field.
type WorkerConfig struct {
	// Bootstrap lists the brokers, "host:port[,host:port]". Required.
	Bootstrap string
	// TasksTopic is read by the group; default "tasks".
	TasksTopic string
	// TasksPartitions is used only when the tasks topic must be created;
	// zero means the broker's num.partitions.
	TasksPartitions int
	// Group is the consumer group shared by all workers; default
	// "gift-service-workers", the original's.
	Group string
	// Concurrency bounds the tasks processed at once (the original's
	// WORKER_CONCURRENCY); default 1000.
	Concurrency int
	// DrainTimeout bounds Run's drain after its ctx is cancelled; default
	// 30 s. Tasks still unanswered then are left uncommitted and redelivered.
	DrainTimeout time.Duration
	// Settings are raw librdkafka properties applied over the tuned
	// defaults of settings.go. A key prefixed "producer." or "consumer."
	// applies to that kind of client only (prefix removed); others to both.
	Settings map[string]string
	// Logger and Registerer are required.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Defaults of WorkerConfig.
const (
	DefaultGroup        = "gift-service-workers"
	DefaultConcurrency  = 1000
	DefaultDrainTimeout = 30 * time.Second
)

func (c *WorkerConfig) setDefaults() error {
	switch {
	case c.Bootstrap == "":
		return errors.New("kafkabroker: no bootstrap servers")
	case c.Logger == nil || c.Registerer == nil:
		return errors.New("kafkabroker: logger and registerer are required")
	case c.Concurrency < 0:
		return fmt.Errorf("kafkabroker: concurrency must not be negative (got %d)", c.Concurrency)
	}
	if c.TasksTopic == "" {
		c.TasksTopic = "tasks"
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if err := validTopic(c.TasksTopic); err != nil {
		return fmt.Errorf("kafkabroker: tasks topic: %w", err)
	}
	return nil
}

// Worker consumes tasks, runs them on a ports.TaskProcessor and replies to
// the server instance that asked. See the package doc for its guarantees.
type Worker struct {
	cfg      WorkerConfig
	proc     ports.TaskProcessor
	consumer *kafka.Consumer
	producer *kafka.Producer
	logs     *clientLogs
	errs     *errorLog
	offsets  *offsetTracker
	metrics  *workerMetrics
	sem      chan struct{}
	joined   atomic.Bool

	// unsettled counts the tasks taken whose reply is not yet delivered,
	// dropped or given up; idle is signalled when it drops to zero.
	unsettled atomic.Int64
	idle      chan struct{}
	ran       atomic.Bool

	// storeMu orders finishing a task with storing its partition's offset,
	// so stored offsets only grow, and with forgetting revoked partitions.
	storeMu sync.Mutex
	// closeMu keeps Produce and StoreOffsets apart from closing the clients.
	closeMu sync.RWMutex
	closed  bool

	// abandon is cancelled when the drain deadline passes: handlers see
	// their ctx cancelled and reply retries stop.
	abandon    context.Context
	abandonNow context.CancelFunc
}

// NewWorker creates the tasks topic if needed (bounded by ctx and 15 s) and
// subscribes to it. Call Run to consume; Run also closes the worker (to
// discard a Worker without consuming, call Run with a cancelled ctx).
func NewWorker(ctx context.Context, cfg WorkerConfig, proc ports.TaskProcessor) (*Worker, error) {
	if proc == nil {
		return nil, errors.New("kafkabroker: nil processor")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	w := &Worker{
		cfg: cfg, proc: proc, offsets: newOffsetTracker(),
		sem: make(chan struct{}, cfg.Concurrency), idle: make(chan struct{}, 1), logs: newClientLogs(cfg.Logger), errs: newErrorLog(cfg.Logger),
	}
	w.abandon, w.abandonNow = context.WithCancel(context.Background())
	err := w.open(ctx)
	if err == nil {
		w.metrics, err = newWorkerMetrics(cfg.Registerer)
	}
	if err != nil {
		return nil, errors.Join(err, w.closeClients())
	}
	return w, nil
}

func (w *Worker) open(ctx context.Context) error {
	pconf, cconf, err := w.clientConfigs()
	if err != nil {
		return err
	}
	// Clients first: a bad setting fails here, before any network wait.
	if w.producer, err = kafka.NewProducer(pconf); err != nil {
		return fmt.Errorf("kafkabroker: producer: %w", err)
	}
	if w.consumer, err = kafka.NewConsumer(cconf); err != nil {
		return fmt.Errorf("kafkabroker: consumer: %w", err)
	}
	admin, err := kafka.NewAdminClientFromProducer(w.producer)
	if err != nil {
		return fmt.Errorf("kafkabroker: admin: %w", err)
	}
	err = ensureTopic(ctx, admin, w.cfg.TasksTopic, w.cfg.TasksPartitions, nil)
	admin.Close()
	if err != nil {
		return fmt.Errorf("kafkabroker: %w", err)
	}
	if err := w.consumer.Subscribe(w.cfg.TasksTopic, w.rebalanced); err != nil {
		return fmt.Errorf("kafkabroker: subscribe %s: %w", w.cfg.TasksTopic, err)
	}
	return nil
}

// clientConfigs are the tuned settings plus the worker's own, then Settings.
func (w *Worker) clientConfigs() (producer, consumer *kafka.ConfigMap, err error) {
	pbase := producerSettings(w.cfg.Bootstrap)
	// A reply topic unknown for 2 s is gone (its server shut down): the
	// reply fails then instead of at message.timeout.ms. A live server's
	// topic exists before its first task: its own probe went through it.
	pbase["topic.metadata.propagation.max.ms"] = 2000
	if producer, err = apply(pbase, producerPrefix, w.cfg.Settings); err != nil {
		return nil, nil, err
	}
	cbase := consumerSettings(w.cfg.Bootstrap, w.cfg.Group)
	for k, v := range map[string]any{
		// Stored offsets are committed in the background this often.
		"auto.commit.interval.ms": 200,
		// A new group starts from the oldest task, not the newest: no task
		// produced before the first worker joined is lost.
		"auto.offset.reset": "earliest",
		// A killed worker's partitions move to the others after this long
		// (librdkafka's default is 45 s, far past the 10 s reply timeout).
		"session.timeout.ms":    10000,
		"heartbeat.interval.ms": 1000,
	} {
		cbase[k] = v
	}
	if consumer, err = apply(cbase, consumerPrefix, w.cfg.Settings); err != nil {
		return nil, nil, err
	}
	// Not overridable: offsets are stored by us once a reply is delivered and
	// committed in the background, so the committed offset never passes an
	// unanswered task.
	_ = consumer.SetKey("enable.auto.commit", true)
	_ = consumer.SetKey("enable.auto.offset.store", false)
	w.logs.attach(producer)
	w.logs.attach(consumer)
	return producer, consumer, nil
}

// rebalanced forgets revoked partitions and commits what is answered: tasks
// of theirs still running may be redone by the new owner (at-least-once).
// Assignment itself is left to the client, eager or cooperative alike.
func (w *Worker) rebalanced(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		w.joined.Store(true)
		w.cfg.Logger.Info("partitions assigned", "partitions", partitionList(e.Partitions))
	case kafka.RevokedPartitions:
		w.storeMu.Lock()
		for _, tp := range e.Partitions {
			w.offsets.forget(tp.Partition)
			w.metrics.committed.DeleteLabelValues(strconv.Itoa(int(tp.Partition)))
		}
		w.storeMu.Unlock()
		if c.AssignmentLost() {
			// The group moved on without us (session timed out, e.g. in
			// an outage): the partitions are someone else's to commit.
			w.cfg.Logger.Warn("partitions lost; their unanswered tasks go to the group again", "partitions", partitionList(e.Partitions))
			return nil
		}
		if _, err := c.Commit(); err != nil && !isNoOffset(err) {
			w.cfg.Logger.Warn("commit on revoke", "err", err)
		}
		w.cfg.Logger.Info("partitions revoked", "partitions", partitionList(e.Partitions))
	}
	return nil
}

// Run consumes until ctx is cancelled, then drains: running tasks finish,
// their replies are delivered and their offsets committed, and the clients
// close. The drain takes at most DrainTimeout; what is unanswered then is
// redelivered to the group later. Run may be called once; calling it with a
// cancelled ctx just closes the worker.
func (w *Worker) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("kafkabroker: Run called twice")
	}
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
			w.errs.note("consumer", e)
		}
	}

	w.cfg.Logger.Info("worker draining", "tasks", w.unsettled.Load())
	if !w.awaitSettled(w.cfg.DrainTimeout) {
		w.cfg.Logger.Warn("drain deadline passed; unanswered tasks stay uncommitted and are redelivered",
			"after", w.cfg.DrainTimeout.String(), "tasks", w.unsettled.Load())
	}
	w.abandonNow()
	if _, err := w.consumer.Commit(); err != nil && !isNoOffset(err) {
		w.cfg.Logger.Warn("final commit", "err", err)
	}
	err := w.closeClients()
	<-deliveries
	w.cfg.Logger.Info("worker stopped")
	return err
}

// awaitSettled waits until every task taken is settled, or timeout.
func (w *Worker) awaitSettled(timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for w.unsettled.Load() > 0 {
		select {
		case <-w.idle:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// Ready reports whether the worker has joined its group (it got an
// assignment, possibly empty when there are more workers than partitions).
func (w *Worker) Ready(context.Context) error {
	if !w.joined.Load() {
		return fmt.Errorf("kafkabroker: not yet joined consumer group %q: %w", w.cfg.Group, domain.ErrUnavailable)
	}
	return nil
}

// closeClients closes the consumer (leaving the group, which commits once
// more through rebalanced) and the producer, then the log forwarding.
func (w *Worker) closeClients() error {
	w.closeMu.Lock()
	w.closed = true
	w.closeMu.Unlock()
	var err error
	if w.consumer != nil {
		if cerr := w.consumer.Close(); cerr != nil {
			err = fmt.Errorf("kafkabroker: close consumer: %w", cerr)
		}
	}
	if w.producer != nil {
		w.producer.Close() // closes its events channel, which ends deliveryLoop
	}
	w.abandonNow()
	w.logs.close()
	return err
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
