// Package taskworker is the worker side of the Kafka task broker: Runner reads
// the tasks topic in a consumer group, runs each task on a
// ports.TaskProcessor and replies to the topic its task names in reply_to,
// or, for a task of the Python original (no reply_to), to the shared results
// topic in the original's shape (package replyroute).
//
// Delivery is at-least-once: a task's offset is stored only once its reply
// was delivered, and only for the contiguous prefix of answered tasks per
// partition (package offsets); auto-commit sends stored offsets every 200 ms, on
// revoke and on close. A reply that fails transiently is produced again (the
// task is not rerun) for up to the reply timeout, after which no request
// waits for it; a reply whose topic is gone, or that the broker refuses for
// good (too large, not authorised, an invalid topic), is given up at once.
// A task given up is settled: counted by reason, logged once per reason,
// and its offset may be committed, so one bad reply never stalls its
// partition. At most twice Concurrency tasks are held unsettled. Poison
// tasks (undecodable, unroutable, of an unknown kind) are counted, copied to
// the dead-letter topic when one is set, and count as answered; so does a
// task older than MaxTaskAge, skipped unrun (its request is long gone, and
// the issuance ledger may have forgotten it). A fatal
// client error (the producer's idempotence lost, the brokers refusing the
// consumer group protocol) ends Run with an error: what is unanswered is
// redelivered.
//
// The consumer uses KIP-848's consumer group protocol when the brokers
// offer it and the settings choose no protocol, else the classic one
// (kafkabroker.ConsumerProtocolOffered, asked once at start).
package taskworker

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

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker/offsets"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker/replyroute"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Config sets up the worker side. Every field is required unless it says
// otherwise; the defaults live in package configs.
type Config struct {
	// Bootstrap lists the brokers, "host:port[,host:port]".
	Bootstrap string
	// TasksTopic is read by the group.
	TasksTopic string
	// TasksPartitions is used only when the tasks topic must be created;
	// zero means the broker's num.partitions.
	TasksPartitions int
	// ResultsTopic is the Python original's shared results topic: a task
	// without reply_to (sent by the original's server) is answered there in
	// the original's shape. Optional: empty makes such tasks poison.
	ResultsTopic string
	// Group is the consumer group shared by all workers.
	Group string
	// Concurrency bounds the tasks processed at once.
	Concurrency int
	// DrainTimeout bounds Run's drain after its ctx is cancelled. Tasks
	// still unanswered then are left uncommitted and redelivered.
	DrainTimeout time.Duration
	// ReplyTimeout is how long a server waits for a reply; client timeouts
	// are derived from it (kafkabroker.SessionTimeout, MessageTimeout).
	ReplyTimeout time.Duration
	// Settings are raw librdkafka properties set over the tuned ones; see
	// kafkabroker.Clients.Overrides. Optional.
	Settings   map[string]string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Tracing traces each task's queue wait, its processing and its reply's
	// send, in the trace its headers carry. Optional: the zero value records
	// nothing but still passes the traceparent on to the reply.
	Tracing observability.Tracing
	// DeadLetterTopic receives a copy of each poison task, with why and
	// where from in headers (deadletter.go); it is created at start if
	// missing. Optional: empty only counts and logs poison tasks.
	DeadLetterTopic string
	// MaxTaskAge is the oldest task run, by its message's timestamp: an
	// older one (redelivered after a long outage of the group) is settled
	// unrun, as its request stopped waiting long before and the issuance
	// ledger may have forgotten what was issued for it. Optional: zero runs
	// every task. CheckMaxTaskAge says what is valid.
	MaxTaskAge time.Duration
	// Kinds lists the task kinds the processor runs: a task of another kind
	// is poison (answered with an error without running it, and
	// dead-lettered). Optional: empty hands every kind to the processor.
	Kinds []domain.Kind
}

func (c *Config) check() error {
	switch {
	case c.TasksTopic == "":
		return errors.New("worker: no tasks topic")
	case c.Group == "":
		return errors.New("worker: no consumer group")
	case c.Concurrency < 1:
		return fmt.Errorf("worker: concurrency must be at least 1 (got %d)", c.Concurrency)
	case c.DrainTimeout <= 0:
		return fmt.Errorf("worker: drain timeout must be positive (got %s)", c.DrainTimeout)
	case c.MaxTaskAge < 0:
		return fmt.Errorf("worker: max task age must not be negative (got %s)", c.MaxTaskAge)
	case c.Logger == nil || c.Registerer == nil:
		return errors.New("worker: logger and registerer are required")
	}
	if err := topics.Valid(c.TasksTopic); err != nil {
		return fmt.Errorf("worker: tasks topic: %w", err)
	}
	if c.ResultsTopic != "" {
		if err := topics.Valid(c.ResultsTopic); err != nil {
			return fmt.Errorf("worker: results topic: %w", err)
		}
	}
	if c.DeadLetterTopic != "" {
		if err := topics.Valid(c.DeadLetterTopic); err != nil {
			return fmt.Errorf("worker: dead-letter topic: %w", err)
		}
		if c.DeadLetterTopic == c.TasksTopic {
			return errors.New("worker: the dead-letter topic must not be the tasks topic")
		}
	}
	return nil
}

// Runner consumes tasks, runs them on a ports.TaskProcessor and replies to
// the server instance that asked. See the package doc for its guarantees.
type Runner struct {
	cfg      Config
	proc     ports.TaskProcessor
	consumer *kafka.Consumer
	producer *kafka.Producer
	logs     *kafkabroker.ClientLogs
	errs     *kafkabroker.ErrorLog
	outage   *observability.Outage // one WARN line at each end of an outage
	offsets  *offsets.Tracker
	metrics  *metrics
	route    replyroute.Route
	tracer   kafkatrace.Tracer
	failures *onceLog
	kinds    map[domain.Kind]bool // nil: every kind goes to the processor
	protocol string               // the consumer's group.protocol
	sem      chan struct{}        // tasks being processed
	slots    chan struct{}        // tasks taken and not settled: processed or awaiting their reply's delivery
	next     chan func()          // hands a task to a task goroutine waiting for one (spawn)
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
	// broken is cancelled, with the error as its cause, when a client
	// reports a fatal error: Run stops consuming and returns it.
	broken   context.Context
	breakNow context.CancelCauseFunc
}

// New creates the tasks topic if needed (bounded by ctx and 15 s) and
// subscribes to it. Call Run to consume; Run also closes the worker (to
// discard a Runner without consuming, call Run with a cancelled ctx).
// Kafka turning the worker away for its settings (a wrong password, an
// untrusted certificate) fails New at once with a kafkabroker.AccessError.
func New(ctx context.Context, cfg Config, proc ports.TaskProcessor) (*Runner, error) {
	if proc == nil {
		return nil, errors.New("worker: nil processor")
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	w := &Runner{
		cfg: cfg, proc: proc, offsets: offsets.NewTracker(), idle: make(chan struct{}, 1),
		sem: make(chan struct{}, cfg.Concurrency), slots: make(chan struct{}, 2*cfg.Concurrency), next: make(chan func()),
		logs: kafkabroker.NewClientLogs(cfg.Logger), errs: kafkabroker.NewErrorLog(cfg.Logger),
		tracer: kafkatrace.New(cfg.Tracing), failures: &onceLog{log: cfg.Logger},
		outage: observability.NewOutage(cfg.Logger, "kafka (worker)", "replies_retried"),
	}
	if len(cfg.Kinds) > 0 {
		w.kinds = make(map[domain.Kind]bool, len(cfg.Kinds))
		for _, k := range cfg.Kinds {
			w.kinds[k] = true
		}
	}
	w.abandon, w.abandonNow = context.WithCancel(context.Background())
	w.broken, w.breakNow = context.WithCancelCause(context.Background())
	err := w.open(ctx)
	if err == nil {
		w.metrics, err = newMetrics(cfg.Registerer, offsets.LagCollector{Topic: cfg.TasksTopic, Lag: w.lag})
	}
	if err != nil {
		return nil, errors.Join(err, w.closeClients())
	}
	w.route = replyroute.New(cfg.ResultsTopic, w.metrics.legacy, cfg.Logger)
	return w, nil
}

func (w *Runner) open(ctx context.Context) error {
	pconf, cconf, err := kafkabroker.WorkerClients(kafkabroker.Clients{
		Bootstrap: w.cfg.Bootstrap, ReplyTimeout: w.cfg.ReplyTimeout, Overrides: w.cfg.Settings, Logs: w.logs,
	}, w.cfg.Group)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	// Clients first: a bad setting fails here, before any network wait.
	if w.producer, err = kafka.NewProducer(pconf); err != nil {
		return fmt.Errorf("worker: producer: %w", err)
	}
	if w.consumer, err = kafka.NewConsumer(cconf); err != nil {
		return fmt.Errorf("worker: consumer: %w", err)
	}
	admin, err := kafka.NewAdminClientFromProducer(w.producer)
	if err != nil {
		return fmt.Errorf("worker: admin: %w", err)
	}
	ctx, refused := w.watchAccess(ctx, kafkabroker.SASLUser(pconf))
	err = topics.Ensure(ctx, admin, w.cfg.TasksTopic, w.cfg.TasksPartitions, nil)
	if err == nil && w.cfg.DeadLetterTopic != "" {
		err = topics.Ensure(ctx, admin, w.cfg.DeadLetterTopic, w.cfg.TasksPartitions, nil)
	}
	if err == nil && !kafkabroker.GroupProtocolChosen(w.cfg.Settings) {
		err = w.fitGroupProtocol(ctx, admin, cconf)
	}
	admin.Close()
	if err = refused(err); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	protocol, _ := cconf.Get("group.protocol", "")
	w.protocol = fmt.Sprint(protocol)
	if err := w.consumer.Subscribe(w.cfg.TasksTopic, w.rebalanced); err != nil {
		return fmt.Errorf("worker: subscribe %s: %w", w.cfg.TasksTopic, err)
	}
	return nil
}

// fitGroupProtocol asks the brokers whether they offer the consumer group
// protocol the worker's consumer was made for; when they do not, it makes
// the consumer again for the classic protocol and says so, once.
func (w *Runner) fitGroupProtocol(ctx context.Context, admin *kafka.AdminClient, cconf *kafka.ConfigMap) error {
	offered, why := kafkabroker.ConsumerProtocolOffered(ctx, admin, topics.AdminTimeout)
	if offered {
		return nil
	}
	w.cfg.Logger.Warn("the Kafka brokers do not offer the consumer group protocol (KIP-848; Kafka 4.0+ by default): "+
		"the worker uses the classic protocol; set this to choose it and skip the check",
		"why", why, "setting", kafkabroker.ClassicProtocolSetting)
	if err := kafkabroker.UseClassicProtocol(cconf, w.cfg.ReplyTimeout); err != nil {
		return err
	}
	// Never subscribed: it closes at once.
	if err := w.consumer.Close(); err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	var err error
	if w.consumer, err = kafka.NewConsumer(cconf); err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	return nil
}

// rebalanced forgets revoked partitions and commits what is answered: tasks
// of theirs still running may be redone by the new owner (at-least-once).
// Assignment itself is left to the client, eager or cooperative alike.
// The revoke of Close commits nothing here: a blocking call from the final
// rebalance callback can wait forever (seen once: Close stuck in Commit for
// 19 minutes; confluent-kafka-go#1016, librdkafka#4041), and librdkafka
// commits the removed partitions' stored offsets itself on unassign
// (enable.auto.commit).
func (w *Runner) rebalanced(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		w.joined.Store(true)
		w.cfg.Logger.Info("partitions assigned", "partitions", partitionList(e.Partitions))
	case kafka.RevokedPartitions:
		w.storeMu.Lock()
		for _, tp := range e.Partitions {
			w.offsets.Forget(tp.Partition)
			w.metrics.committed.DeleteLabelValues(strconv.Itoa(int(tp.Partition)))
		}
		w.storeMu.Unlock()
		if c.AssignmentLost() {
			// The group moved on without us (session timed out, e.g. in
			// an outage): the partitions are someone else's to commit.
			w.cfg.Logger.Warn("partitions lost; their unanswered tasks go to the group again", "partitions", partitionList(e.Partitions))
			return nil
		}
		if !w.closing() {
			if _, err := c.Commit(); err != nil && !isNoOffset(err) {
				w.cfg.Logger.Warn("commit on revoke", "err", err)
			}
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
func (w *Runner) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("worker: Run called twice")
	}
	deliveries := make(chan struct{})
	go func() {
		defer close(deliveries)
		w.deliveryLoop()
	}()
	w.cfg.Logger.Info("worker consuming", "topic", w.cfg.TasksTopic, "group", w.cfg.Group, "group_protocol", w.protocol,
		"concurrency", w.cfg.Concurrency, "dead_letter_topic", w.cfg.DeadLetterTopic)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(w.broken, stop)()
	defer time.AfterFunc(notJoinedWarnAfter, w.warnIfNotJoined).Stop()
	for ctx.Err() == nil {
		switch e := w.consumer.Poll(100).(type) {
		case *kafka.Message:
			w.outage.Up()
			w.dispatch(ctx, e)
		case kafka.Error:
			w.noteError("consumer", e)
		}
	}

	w.cfg.Logger.Info("worker draining", "tasks", w.unsettled.Load())
	if !w.awaitSettled(w.cfg.DrainTimeout) {
		w.cfg.Logger.Warn("drain deadline passed; unanswered tasks stay uncommitted and are redelivered",
			"after", w.cfg.DrainTimeout.String(), "tasks", w.unsettled.Load())
	}
	w.abandonNow()
	// No Commit here: it waits for the group coordinator without a deadline
	// (forever while Kafka is down). Close commits the stored offsets of
	// the partitions it gives up (auto-commit), within its own bounds.
	err := w.closeClients()
	<-deliveries
	if w.broken.Err() != nil {
		w.cfg.Logger.Error("worker stopped: a Kafka client failed for good; unanswered tasks are redelivered", "err", context.Cause(w.broken))
		return errors.Join(fmt.Errorf("worker: %w", context.Cause(w.broken)), err)
	}
	w.cfg.Logger.Info("worker stopped")
	return err
}

// notJoinedWarnAfter is how long a worker of the consumer group protocol
// may take to join its group before it says what may keep it out. Such a
// worker joins within a heartbeat while the brokers answer.
const notJoinedWarnAfter = 15 * time.Second

// warnIfNotJoined says, once, what keeps a worker of the consumer group
// protocol out of its group when the brokers never answer that protocol:
// librdkafka says it only at debug level. The brokers were asked at start
// unless the settings chose the protocol.
func (w *Runner) warnIfNotJoined() {
	if w.joined.Load() || w.protocol != "consumer" {
		return
	}
	w.cfg.Logger.Warn("the worker has not joined its consumer group yet: brokers that do not offer the consumer group "+
		"protocol (KIP-848; Kafka 3.x by default) never let it join; set this for those",
		"group", w.cfg.Group, "after", notJoinedWarnAfter.String(), "setting", kafkabroker.ClassicProtocolSetting)
}

// awaitSettled waits until every task taken is settled, or timeout.
func (w *Runner) awaitSettled(timeout time.Duration) bool {
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
func (w *Runner) Ready(context.Context) error {
	if !w.joined.Load() {
		return fmt.Errorf("worker: not yet joined consumer group %q: %w", w.cfg.Group, domain.ErrUnavailable)
	}
	return nil
}

// closing reports whether closeClients has begun.
func (w *Runner) closing() bool {
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	return w.closed
}

// consumerCloseTimeout bounds the consumer's Close. It leaves the group and
// commits what is stored in well under a second while Kafka answers; with
// the group coordinator out of reach librdkafka would wait out a session
// (45 s), past an orchestrator's stop grace period.
const consumerCloseTimeout = 10 * time.Second

// closeClients closes the consumer (leaving the group; librdkafka commits
// the stored offsets once more) and the producer, then the log forwarding.
// A consumer that does not close within consumerCloseTimeout is left to
// finish on its own: its offsets not yet committed are redelivered
// (at-least-once), and the log forwarding stays open for it.
func (w *Runner) closeClients() error {
	w.closeMu.Lock()
	w.closed = true
	w.closeMu.Unlock()
	var err error
	consumerClosed := true
	if w.consumer != nil {
		closed := make(chan error, 1)
		go func() { closed <- w.consumer.Close() }()
		select {
		case cerr := <-closed:
			if cerr != nil {
				err = fmt.Errorf("worker: close consumer: %w", cerr)
			}
		case <-time.After(consumerCloseTimeout):
			consumerClosed = false
			err = fmt.Errorf("worker: close consumer: gave up after %s (Kafka out of reach?); "+
				"offsets not yet committed are redelivered", consumerCloseTimeout)
		}
	}
	if w.producer != nil {
		w.producer.Close() // closes its events channel, which ends deliveryLoop
	}
	w.abandonNow()
	if consumerClosed {
		w.logs.Close()
	}
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
