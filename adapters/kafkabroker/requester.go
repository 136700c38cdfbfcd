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

// RequesterConfig sets up the server side. Zero values take the defaults
// named beside each field.
type RequesterConfig struct {
	// Bootstrap lists the brokers, "host:port[,host:port]". Required.
	Bootstrap string
	// TasksTopic is where tasks go; default "tasks".
	TasksTopic string
	// ResultsTopic prefixes this instance's reply topic,
	// "<ResultsTopic>.<InstanceID>"; default "results".
	ResultsTopic string
	// TasksPartitions is used only when the tasks topic must be created;
	// zero means the broker's num.partitions.
	TasksPartitions int
	// InstanceID names the reply topic; default hostname-pid-random, so a
	// restarted instance never reads its predecessor's topic.
	InstanceID string
	// Settings are raw librdkafka properties applied over the tuned
	// defaults of settings.go. A key prefixed "producer." or "consumer."
	// applies to that kind of client only (prefix removed); others to both.
	Settings map[string]string
	// Logger and Registerer are required.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (c *RequesterConfig) setDefaults() error {
	if c.Bootstrap == "" {
		return errors.New("kafkabroker: no bootstrap servers")
	}
	if c.Logger == nil || c.Registerer == nil {
		return errors.New("kafkabroker: logger and registerer are required")
	}
	if c.TasksTopic == "" {
		c.TasksTopic = "tasks"
	}
	if c.ResultsTopic == "" {
		c.ResultsTopic = "results"
	}
	if c.InstanceID == "" {
		c.InstanceID = instanceID()
	}
	if err := validTopic(c.TasksTopic); err != nil {
		return fmt.Errorf("kafkabroker: tasks topic: %w", err)
	}
	if err := validTopic(c.ResultsTopic + "." + c.InstanceID); err != nil {
		return fmt.Errorf("kafkabroker: reply topic: %w", err)
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

// probePrefix starts the correlation id of a probe. A probe that comes back
// after its deadline (sent while Kafka was down) is not a late reply.
const probePrefix = "probe-"

// replyRetention is how long replies live in a reply topic; only replies to
// a crashed instance are ever left unread, and nobody needs those.
const replyRetention = "3600000"

// outcome is what a waiting request receives: a reply or a send failure.
type outcome struct {
	res domain.Result
	err error
}

// Requester is the server side of request-reply (ports.TaskBroker). It is
// safe for concurrent use. Create it with NewRequester and end it with Close.
type Requester struct {
	cfg        RequesterConfig
	replyTopic string
	producer   *kafka.Producer
	admin      *kafka.AdminClient
	logs       *clientLogs
	errs       *errorLog
	metrics    *requesterMetrics

	consumer *kafka.Consumer
	// assigned and replyTopicMade are written by supervise only and read by
	// Close after supervise ended.
	assigned       bool
	replyTopicMade bool

	// pending maps a correlation id to the channel its reply is handed to.
	// A sync.Map (a concurrent hash trie): a mutex map was the top entry of
	// the mutex profile at 100 outstanding on 2 CPUs.
	pending sync.Map

	// sendMu keeps Produce and the producer's Close apart.
	sendMu sync.RWMutex
	closed bool

	ready       atomic.Bool
	brokersDown atomic.Bool
	wentDown    chan struct{} // signalled when all brokers are reported down

	// lifetime is cancelled by Close; it ends supervise and replyLoop.
	lifetime      context.Context
	cancel        context.CancelFunc
	superviseDone chan struct{}
	replyDone     chan struct{} // closed when replyLoop ends
	deliveryDone  chan struct{} // closed when the producer's events end
	closeOnce     sync.Once
}

// NewRequester returns at once and connects in the background: it creates
// the tasks topic if needed and this instance's reply topic, starts reading
// replies and proves the path with a probe, retrying until it works. Until
// then Ready fails and Request returns domain.ErrUnavailable, so a server
// started before Kafka answers 503 and is not ready, and never hangs.
// It fails only on a bad config.
func NewRequester(cfg RequesterConfig) (*Requester, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	pconf, err := apply(producerSettings(cfg.Bootstrap), producerPrefix, cfg.Settings)
	if err != nil {
		return nil, err
	}
	cconf, err := apply(consumerSettings(cfg.Bootstrap, cfg.ResultsTopic+"."+cfg.InstanceID), consumerPrefix, cfg.Settings)
	if err != nil {
		return nil, err
	}
	r := &Requester{
		cfg: cfg, replyTopic: cfg.ResultsTopic + "." + cfg.InstanceID,
		logs: newClientLogs(cfg.Logger), errs: newErrorLog(cfg.Logger), wentDown: make(chan struct{}, 1),
		superviseDone: make(chan struct{}), replyDone: make(chan struct{}), deliveryDone: make(chan struct{}),
	}
	r.logs.attach(pconf)
	if r.producer, err = kafka.NewProducer(pconf); err != nil {
		r.logs.close()
		return nil, fmt.Errorf("kafkabroker: producer: %w", err)
	}
	if r.admin, err = kafka.NewAdminClientFromProducer(r.producer); err != nil {
		r.producer.Close()
		r.logs.close()
		return nil, fmt.Errorf("kafkabroker: admin: %w", err)
	}
	r.logs.attach(cconf)
	_ = cconf.SetKey("enable.auto.commit", false) // assigned, not grouped: nothing to commit
	// Offset 0 of a topic made for us is its beginning, and naming it saves
	// the offset lookup that OffsetBeginning needs, which librdkafka retries
	// only every 500 ms while the fresh topic's leader is not known yet:
	// ready in ~0.1 s rather than 0.6-1.6 s. Should 0 be gone already,
	// auto.offset.reset takes the earliest offset instead.
	_ = cconf.SetKey("auto.offset.reset", "earliest")
	if r.consumer, err = kafka.NewConsumer(cconf); err != nil {
		err = fmt.Errorf("kafkabroker: reply consumer: %w", err)
	} else {
		r.metrics, err = newRequesterMetrics(cfg.Registerer)
	}
	if err != nil {
		if r.consumer != nil {
			_ = r.consumer.Close()
		}
		r.admin.Close()
		r.producer.Close()
		r.logs.close()
		return nil, err
	}
	r.lifetime, r.cancel = context.WithCancel(context.Background())
	go r.deliveryLoop()
	go r.supervise()
	return r, nil
}

// ReplyTopic names the topic this instance reads its replies from.
func (r *Requester) ReplyTopic() string { return r.replyTopic }

// Ready implements ports.TaskBroker: nil once a probe has come back through
// the reply topic, and while no "all brokers down" is outstanding.
func (r *Requester) Ready(context.Context) error {
	switch {
	case !r.ready.Load():
		return fmt.Errorf("kafkabroker: reply path not proven yet: %w", domain.ErrUnavailable)
	case r.brokersDown.Load():
		return fmt.Errorf("kafkabroker: all brokers down: %w", domain.ErrUnavailable)
	}
	return nil
}

// Close flushes tasks still queued (bounded by ctx, else 10 s), stops
// reading replies, fails requests still waiting with domain.ErrUnavailable,
// deletes this instance's reply topic and closes the clients. When Kafka is
// not reachable it neither flushes nor deletes, so it returns at once. Call
// it after the HTTP server has drained; it is safe to call twice.
func (r *Requester) Close(ctx context.Context) error {
	var err error
	r.closeOnce.Do(func() {
		reachable := r.Ready(ctx) == nil
		r.ready.Store(false)
		r.sendMu.Lock()
		r.closed = true
		r.sendMu.Unlock()
		if !reachable { // nothing queued can be delivered: do not wait for it
			_ = r.producer.Purge(kafka.PurgeQueue | kafka.PurgeInFlight | kafka.PurgeNonBlocking)
		}
		if left := r.producer.Flush(flushMillis(ctx)); left > 0 {
			err = fmt.Errorf("kafkabroker: %d messages not flushed", left)
		}
		r.cancel()
		<-r.superviseDone
		if r.assigned {
			<-r.replyDone // the consumer must not be polled while it closes
		}
		_ = r.consumer.Close()
		r.failPending(fmt.Errorf("kafkabroker: requester closed: %w", domain.ErrUnavailable))
		if r.replyTopicMade && reachable { // else it stays an orphan and expires
			dctx, cancel := context.WithTimeout(ctx, adminTimeout)
			if derr := deleteTopic(dctx, r.admin, r.replyTopic); derr != nil {
				err = errors.Join(err, derr)
			}
			cancel()
		}
		r.admin.Close()
		r.producer.Close() // closes its events channel, which ends deliveryLoop
		<-r.deliveryDone
		r.logs.close()
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
		if !isTopicChar(c) || c == '.' {
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
