// Package replies is the receiving half of the Kafka requester: the table of
// requests waiting for a reply, the loop that reads the reply topics and
// hands each reply to its request, and the probes that prove the path.
package replies

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
	"github.com/1000x-rps-server/rps-server/domain"
)

// Outcome is what a waiting request receives: a reply or a send failure.
type Outcome struct {
	Res domain.Result
	Err error
}

// Metrics are the requester's figures about replies.
type Metrics struct {
	Pending prometheus.Gauge       // requests waiting for their reply
	Late    prometheus.Counter     // replies nobody waited for
	Bad     prometheus.Counter     // replies that did not decode
	Shared  *prometheus.CounterVec // replies read from the shared topic, by outcome
}

// NewMetrics makes the figures, to be registered by the caller.
func NewMetrics() Metrics {
	m := Metrics{
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_broker_pending_replies", Help: "Requests waiting for their reply.",
		}),
		Late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_broker_late_replies_total", Help: "Replies that found no waiting request (late or unknown), dropped.",
		}),
		Bad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_broker_bad_replies_total", Help: "Replies that could not be decoded, dropped.",
		}),
		Shared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_broker_shared_replies_total",
			Help: "Replies read from the shared results topic (kafka.reply_mode: shared), by outcome: taken (a request of this instance) or ignored (another's, late, or undecodable).",
		}, []string{"outcome"}),
	}
	m.Shared.WithLabelValues(SharedTaken)
	m.Shared.WithLabelValues(SharedIgnored)
	return m
}

// Config sets up a Router.
type Config struct {
	Consumer *kafka.Consumer // assigned the reply topics by the caller
	OwnTopic string          // this instance's reply topic
	// SharedTopic is the shared results topic, read too in shared mode;
	// empty otherwise.
	SharedTopic string
	Logger      *slog.Logger
	Tracer      kafkatrace.Tracer
	Metrics     Metrics
}

// Router hands each reply to the request waiting for it. It is safe for
// concurrent use.
type Router struct {
	cfg Config
	// sharedPartitions is how many partitions of the shared results topic
	// are assigned (shared mode); written before the reply loop starts.
	sharedPartitions int

	// pending maps a correlation id to the channel its reply is handed to.
	// A sync.Map (a concurrent hash trie): a mutex map was the top entry of
	// the mutex profile at 100 outstanding on 2 CPUs.
	pending sync.Map
}

// New returns a router with no request waiting.
func New(cfg Config) *Router { return &Router{cfg: cfg} }

// Register makes the slot a reply for id is handed to; an id already
// waiting is refused, since its reply could not tell the two apart.
func (r *Router) Register(id string) (chan Outcome, error) {
	ch, err := r.slot(id)
	if err == nil {
		r.cfg.Metrics.Pending.Inc()
	}
	return ch, err
}

// Unregister frees id's slot.
func (r *Router) Unregister(id string) {
	r.pending.Delete(id)
	r.cfg.Metrics.Pending.Dec()
}

// slot makes the slot of id without counting it: probes are not requests.
func (r *Router) slot(id string) (chan Outcome, error) {
	ch := make(chan Outcome, 1) // one answer, never blocks the loops
	if _, dup := r.pending.LoadOrStore(id, ch); dup {
		return nil, fmt.Errorf("%w: task id %q is already waiting for a reply", domain.ErrInvalidTask, id)
	}
	return ch, nil
}

// Complete hands o to the request waiting for id, if any.
func (r *Router) Complete(id string, o Outcome) bool {
	v, ok := r.pending.Load(id)
	if ok {
		select {
		case v.(chan Outcome) <- o:
		default: // already answered (a duplicate reply)
		}
	}
	return ok
}

// FailAll ends every waiting request with err.
func (r *Router) FailAll(err error) {
	r.pending.Range(func(_, v any) bool {
		select {
		case v.(chan Outcome) <- Outcome{Err: err}:
		default:
		}
		return true
	})
}
