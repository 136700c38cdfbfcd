package taskworker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Outcomes of a processed task.
const (
	outcomeOK     = "ok"
	outcomeError  = "error"
	outcomePoison = "poison"
)

// Reasons a task is poison (rps_worker_poison_tasks_total).
const (
	poisonUndecodable = "undecodable"  // not a task: bad JSON, no correlation id, a bad reply_to
	poisonUnroutable  = "unroutable"   // no reply_to, and no results topic to answer the original's task on
	poisonUnknownKind = "unknown_kind" // a kind no handler of this worker runs
)

// reasonExpired is a reply given up after failing transiently for the
// whole reply timeout: no request waits for it any more.
const reasonExpired = "expired"

// Outcomes of a dead letter (rps_worker_dead_letters_total).
const (
	deadLetterSent   = "sent"
	deadLetterFailed = "failed"
)

type metrics struct {
	processed   *prometheus.CounterVec
	poison      *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	undelivered *prometheus.CounterVec
	processing  prometheus.Histogram
	queueWait   prometheus.Histogram
	inFlight    prometheus.Gauge
	committed   *prometheus.GaugeVec
	replyErrors prometheus.Counter
	orphans     prometheus.Counter
	legacy      prometheus.Counter
	stale       prometheus.Counter
}

// newMetrics makes the worker's metrics and registers them in reg with lag,
// the consumer lag collector, all or none.
func newMetrics(reg prometheus.Registerer, lag prometheus.Collector) (*metrics, error) {
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_worker_tasks_total", Help: "Tasks processed, by outcome (ok, error, poison).",
		}, []string{"outcome"}),
		poison: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_worker_poison_tasks_total", Help: "Tasks that can never be processed, by reason (undecodable, unroutable, unknown_kind); each is settled, and copied to the dead-letter topic when one is set.",
		}, []string{"reason"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_worker_dead_letters_total", Help: "Poison tasks copied to the dead-letter topic, by outcome (sent, failed).",
		}, []string{"outcome"}),
		undelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_worker_undeliverable_replies_total", Help: "Replies given up, their tasks settled unanswered, by reason: the broker refused them for good (too_large, not_authorized, invalid_topic, invalid_record, refused) or they failed for the whole reply timeout (expired).",
		}, []string{"reason"}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_worker_processing_seconds", Help: "Time a handler took to run a task.", Buckets: kafkabroker.RoundTripBuckets,
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_worker_queue_wait_seconds", Help: "Time a task waited in Kafka: from its producer's timestamp to a worker starting it.", Buckets: kafkabroker.RoundTripBuckets,
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_worker_tasks_in_flight", Help: "Tasks being processed or waiting for their reply's delivery.",
		}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rps_worker_stored_offset", Help: "Next offset to commit per assigned partition: every task before it was answered (committed within auto.commit.interval.ms).",
		}, []string{"partition"}),
		replyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_worker_reply_errors_total", Help: "Reply deliveries that failed transiently and were retried.",
		}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_worker_orphan_replies_total", Help: "Replies dropped because their reply topic is gone (the server instance that asked shut down).",
		}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_worker_stale_tasks_total", Help: "Tasks skipped unrun because they were older than the oldest a worker runs (half worker.ledger_window): their requests stopped waiting long before, and their ledger records may be gone.",
		}),
		legacy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_worker_legacy_tasks_total", Help: "Tasks without reply_to (sent by the Python original's servers), answered on the shared results topic.",
		}),
	}
	for _, o := range []string{outcomeOK, outcomeError, outcomePoison} {
		m.processed.WithLabelValues(o)
	}
	for _, r := range []string{poisonUndecodable, poisonUnroutable, poisonUnknownKind} {
		m.poison.WithLabelValues(r)
	}
	for _, o := range []string{deadLetterSent, deadLetterFailed} {
		m.deadLetters.WithLabelValues(o)
	}
	// Every reason a reply is given up for (the broker's permanent refusals,
	// reasonExpired) is exported at 0 from the start, as the others are, so
	// dashboards and rate() see it before the first one.
	for _, r := range []string{
		kafkabroker.ReasonTooLarge, kafkabroker.ReasonNotAuthorized, kafkabroker.ReasonInvalidTopic,
		kafkabroker.ReasonInvalidRecord, kafkabroker.ReasonRefused, reasonExpired,
	} {
		m.undelivered.WithLabelValues(r)
	}
	return m, observability.RegisterAll(reg, m.processed, m.poison, m.deadLetters, m.undelivered, m.processing, m.queueWait, m.inFlight, m.committed, m.replyErrors, m.orphans, m.legacy, m.stale, lag)
}
