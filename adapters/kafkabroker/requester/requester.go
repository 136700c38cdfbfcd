// Package requester is the server side of the Kafka task broker: Broker
// (a ports.TaskBroker) sends each task to the tasks topic and waits for its
// reply on a reply topic of this instance's own, "<ResultsTopic>.<InstanceID>",
// created at start, read by Assign from offset 0, marked alive by a probe
// every heartbeat and deleted on Close; the janitor of package replytopics
// deletes those of instances that never reached Close.
//
// The files follow a request's path: requester.go builds and closes the
// Broker, request.go sends a task and waits for its reply, replypath.go
// connects and re-proves the reply path after an outage, keepalive.go sends
// the heartbeats and makes the reply topic again if it was deleted; package
// replies reads the replies, hands each to its request and sends the probes,
// package workerwatch tells whether any worker consumes the tasks.
package requester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replies"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/workerwatch"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Config sets up the server side. Every field is required unless it says
// otherwise; the defaults live in package configs.
type Config struct {
	// Bootstrap lists the brokers, "host:port[,host:port]".
	Bootstrap string
	// TasksTopic is where tasks go.
	TasksTopic string
	// ResultsTopic prefixes this instance's reply topic,
	// "<ResultsTopic>.<InstanceID>".
	ResultsTopic string
	// SharedReplies also reads ResultsTopic itself, every partition by
	// Assign from its end at start (no group), and takes the replies to this
	// instance's pending requests there: the Python original's workers reply
	// only there. Optional; off reads the own reply topic only.
	SharedReplies bool
	// TasksPartitions is used only when the tasks topic must be created;
	// zero means the broker's num.partitions.
	TasksPartitions int
	// ReplyTimeout is how long a request waits for its reply; client
	// timeouts are derived from it (kafkabroker.MessageTimeout).
	ReplyTimeout time.Duration
	// InstanceID names the reply topic. Optional: empty makes a fresh
	// hostname-pid-random one (replytopics.NewInstanceID), so a restarted
	// instance never reads its predecessor's topic; only such names are
	// ever deleted by a janitor.
	InstanceID string
	// Heartbeat is how often a probe goes through the reply topic: the
	// record the janitors of the other instances take for a sign of life,
	// and a check that the topic is still there. Optional: zero sends none
	// (then run no janitor anywhere in the deployment).
	Heartbeat time.Duration
	// Grace is how long this instance's janitor lets another instance's
	// reply topic stand still before deleting it, and how long this
	// instance may go without a probe through its own topic before it makes
	// sure that topic still exists. At least three heartbeats
	// (replytopics.CheckTiming). Optional: zero runs no janitor.
	Grace time.Duration
	// Workers names the workers' consumer groups. While no member of any
	// consumes the tasks topic, Ready and Request fail at once with
	// domain.ErrNoWorkers (package workerwatch). Optional: no group turns
	// the check off.
	Workers workerwatch.Settings
	// Settings are raw librdkafka properties set over the tuned ones; see
	// kafkabroker.Clients.Overrides. Optional.
	Settings   map[string]string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Tracing traces each task's send, its reply wait and its reply's
	// arrival. Optional: the zero value records nothing but still passes a
	// caller's traceparent to the worker.
	Tracing observability.Tracing
}

func (c *Config) check() error {
	switch {
	case c.TasksTopic == "":
		return errors.New("requester: no tasks topic")
	case c.ResultsTopic == "":
		return errors.New("requester: no results topic")
	case c.Logger == nil || c.Registerer == nil:
		return errors.New("requester: logger and registerer are required")
	}
	if c.InstanceID == "" {
		c.InstanceID = replytopics.NewInstanceID()
	}
	if err := c.checkTiming(); err != nil {
		return fmt.Errorf("requester: %w", err)
	}
	if err := topics.Valid(c.TasksTopic); err != nil {
		return fmt.Errorf("requester: tasks topic: %w", err)
	}
	if err := topics.Valid(replytopics.Name(c.ResultsTopic, c.InstanceID)); err != nil {
		return fmt.Errorf("requester: reply topic: %w", err)
	}
	if c.SharedReplies {
		if err := topics.Valid(c.ResultsTopic); err != nil {
			return fmt.Errorf("requester: results topic: %w", err)
		}
	}
	return nil
}

// checkTiming checks the heartbeat against the grace, or, with no janitor,
// the heartbeat alone.
func (c *Config) checkTiming() error {
	switch {
	case c.Grace > 0:
		return replytopics.CheckTiming(c.Heartbeat, c.Grace)
	case c.Heartbeat > 0:
		return replytopics.CheckTiming(c.Heartbeat, 3*c.Heartbeat)
	}
	return nil
}

// Time bounds of the reply path's checks.
const (
	// probeTimeout bounds the start-up proof that replies can be received.
	probeTimeout = 30 * time.Second
	// After all brokers were reported down, the reply path is re-proven
	// every reprobeEvery, each probe waiting at most reprobeTimeout, so
	// readiness returns within ~1 s of Kafka, with or without traffic.
	reprobeTimeout = 2 * time.Second
	reprobeEvery   = time.Second
	// Retry pacing while the cluster cannot be reached.
	firstRetry = 500 * time.Millisecond
	maxRetry   = 10 * time.Second
)

// Broker is the server side of request-reply (ports.TaskBroker). It is
// safe for concurrent use. Create it with New and end it with Close.
type Broker struct {
	cfg        Config
	replyTopic string
	producer   *kafka.Producer
	admin      *kafka.AdminClient
	logs       *kafkabroker.ClientLogs
	errs       *kafkabroker.ErrorLog
	outage     *observability.Outage // one WARN line at each end of an outage
	metrics    *metrics
	tracer     kafkatrace.Tracer

	consumer *kafka.Consumer
	// assigned and replyTopicMade are written by supervise only and read by
	// Close after supervise ended.
	assigned       bool
	replyTopicMade bool
	// lastProof is when a probe last came back through the reply topic;
	// written and read by supervise only (keepalive.go).
	lastProof time.Time
	// topicLost is set while the reply topic is known gone or just made
	// again, until a probe comes back through it: Ready fails meanwhile.
	topicLost atomic.Bool
	// replies hands each reply to the request waiting for it.
	replies *replies.Router

	// sendMu keeps Produce and the producer's Close apart.
	sendMu sync.RWMutex
	closed bool

	ready       atomic.Bool
	brokersDown atomic.Bool
	wentDown    chan struct{} // signalled when all brokers are reported down
	// started is set once the reply path was first proven, and stays.
	started atomic.Bool
	// saslUser is the producer's sasl.username, named when a login fails.
	saslUser string
	// failure holds the error that made the broker give up before it ever
	// reached Kafka (access.go); failed hands it to the process, once.
	failure atomic.Pointer[error]
	failed  chan error

	// lifetime is cancelled by Close, or when the broker gives up at
	// start; it ends supervise and replyLoop.
	lifetime      context.Context
	cancel        context.CancelFunc
	superviseDone chan struct{}
	workers       *workerwatch.Watcher
	watchDone     chan struct{} // closed when workers.Run ends
	janitorDone   chan struct{} // closed when the janitor's Run ends
	replyDone     chan struct{} // closed when replyLoop ends
	deliveryDone  chan struct{} // closed when the producer's events end
	closeOnce     sync.Once
}

// New returns at once and connects in the background: it creates
// the tasks topic if needed and this instance's reply topic, starts reading
// replies and proves the path with a probe, retrying until it works. Until
// then Ready fails and Request returns domain.ErrUnavailable, so a server
// started before Kafka answers 503 and is not ready, and never hangs.
// It fails only on a bad config; should Kafka turn its clients away for
// their settings before the path is first proven (a wrong password, an
// untrusted certificate), it gives up and says so on Failed.
func New(cfg Config) (*Broker, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	replyTopic := replytopics.Name(cfg.ResultsTopic, cfg.InstanceID)
	logs := kafkabroker.NewClientLogs(cfg.Logger)
	pconf, cconf, err := kafkabroker.RequesterClients(kafkabroker.Clients{
		Bootstrap: cfg.Bootstrap, ReplyTimeout: cfg.ReplyTimeout, Overrides: cfg.Settings, Logs: logs,
	}, replyTopic)
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("requester: %w", err)
	}
	r := &Broker{
		cfg: cfg, replyTopic: replyTopic, tracer: kafkatrace.New(cfg.Tracing),
		logs: logs, errs: kafkabroker.NewErrorLog(cfg.Logger), wentDown: make(chan struct{}, 1),
		outage:        observability.NewOutage(cfg.Logger, "kafka", "refused"),
		superviseDone: make(chan struct{}), watchDone: make(chan struct{}), janitorDone: make(chan struct{}),
		replyDone: make(chan struct{}), deliveryDone: make(chan struct{}),
		saslUser: kafkabroker.SASLUser(pconf), failed: make(chan error, 1),
	}
	if r.producer, err = kafka.NewProducer(pconf); err != nil {
		r.logs.Close()
		return nil, fmt.Errorf("requester: producer: %w", err)
	}
	if r.admin, err = kafka.NewAdminClientFromProducer(r.producer); err != nil {
		r.producer.Close()
		r.logs.Close()
		return nil, fmt.Errorf("requester: admin: %w", err)
	}
	if r.consumer, err = kafka.NewConsumer(cconf); err != nil {
		err = fmt.Errorf("requester: reply consumer: %w", err)
	} else {
		r.metrics, err = newMetrics(cfg.Registerer)
	}
	if err != nil {
		if r.consumer != nil {
			_ = r.consumer.Close()
		}
		r.admin.Close()
		r.producer.Close()
		r.logs.Close()
		return nil, err
	}
	shared := ""
	if cfg.SharedReplies {
		shared = cfg.ResultsTopic
	}
	r.replies = replies.New(replies.Config{
		Consumer: r.consumer, OwnTopic: replyTopic, SharedTopic: shared, Logger: cfg.Logger, Tracer: r.tracer,
		Metrics: r.metrics.replies,
	})
	r.lifetime, r.cancel = context.WithCancel(context.Background())
	go r.deliveryLoop()
	go r.supervise()
	reachable := func() bool { return r.ready.Load() && !r.brokersDown.Load() }
	r.workers = workerwatch.New(r.admin, cfg.Workers, cfg.TasksTopic, cfg.Logger, r.metrics.workersAvailable)
	go func() {
		defer close(r.watchDone)
		// Never while the cluster is out of reach: see workerwatch.
		r.workers.Run(r.lifetime, reachable)
	}()
	go r.runJanitor(reachable)
	return r, nil
}

// runJanitor deletes the reply topics of gone instances until Close, unless
// no grace is set (package replytopics).
func (r *Broker) runJanitor(reachable func() bool) {
	defer close(r.janitorDone)
	if r.cfg.Grace <= 0 {
		return
	}
	replytopics.NewJanitor(replytopics.NewAdmin(r.admin), replytopics.Config{
		Scheme: replytopics.NewScheme(r.cfg.ResultsTopic), Own: r.replyTopic, Grace: r.cfg.Grace,
		Logger: r.cfg.Logger, Deleted: r.metrics.replyTopicsDeleted, Topics: r.metrics.replyTopics,
	}).Run(r.lifetime, reachable)
}

// ReplyTopic names the topic this instance reads its replies from.
func (r *Broker) ReplyTopic() string { return r.replyTopic }

// Ready implements ports.TaskBroker: nil once a probe has come back through
// the reply topic, while no "all brokers down" is outstanding, while the
// reply topic is not known lost and while a worker consumes the tasks
// topic. It only reads flags: it is asked before every request.
func (r *Broker) Ready(context.Context) error {
	switch {
	case r.failure.Load() != nil:
		return fmt.Errorf("requester: gave up at start: %w: %w", domain.ErrStarting, *r.failure.Load())
	case !r.ready.Load():
		return fmt.Errorf("requester: reply path not proven yet: %w", domain.ErrStarting)
	case r.brokersDown.Load():
		return fmt.Errorf("requester: all brokers down: %w", domain.ErrUnavailable)
	case r.topicLost.Load():
		return fmt.Errorf("requester: reply topic deleted, being made again: %w", domain.ErrUnavailable)
	}
	return r.workers.Ready()
}

// Close flushes tasks still queued (bounded by ctx, else 10 s), stops
// reading replies, fails requests still waiting with domain.ErrUnavailable,
// deletes this instance's reply topic and closes the clients. When Kafka is
// not reachable it neither flushes nor deletes, so it returns at once. Call
// it after the HTTP server has drained; it is safe to call twice.
func (r *Broker) Close(ctx context.Context) error {
	var err error
	r.closeOnce.Do(func() {
		reachable := r.ready.Load() && !r.brokersDown.Load()
		r.ready.Store(false)
		r.sendMu.Lock()
		r.closed = true
		r.sendMu.Unlock()
		if !reachable { // nothing queued can be delivered: do not wait for it
			_ = r.producer.Purge(kafka.PurgeQueue | kafka.PurgeInFlight | kafka.PurgeNonBlocking)
		}
		if left := r.producer.Flush(flushMillis(ctx)); left > 0 {
			err = fmt.Errorf("requester: %d messages not flushed", left)
		}
		r.cancel()
		<-r.superviseDone
		<-r.watchDone
		<-r.janitorDone
		if r.assigned {
			<-r.replyDone // the consumer must not be polled while it closes
		}
		_ = r.consumer.Close()
		r.replies.FailAll(fmt.Errorf("requester: closed: %w", domain.ErrUnavailable))
		if r.replyTopicMade && reachable { // else it stays an orphan and expires
			dctx, cancel := context.WithTimeout(ctx, topics.AdminTimeout)
			if derr := topics.Delete(dctx, r.admin, r.replyTopic); derr != nil {
				err = errors.Join(err, derr)
			}
			cancel()
		}
		r.admin.Close()
		r.producer.Close() // closes its events channel, which ends deliveryLoop
		<-r.deliveryDone
		r.logs.Close()
	})
	return err
}

func flushMillis(ctx context.Context) int {
	if deadline, ok := ctx.Deadline(); ok {
		return max(0, int(time.Until(deadline).Milliseconds()))
	}
	return 10_000
}
