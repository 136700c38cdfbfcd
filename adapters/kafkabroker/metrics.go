package kafkabroker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// roundTripBuckets span a loopback round trip (~1 ms) to the reply timeout.
var roundTripBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

type requesterMetrics struct {
	roundTrip     prometheus.Histogram
	pending       prometheus.Gauge
	lateReplies   prometheus.Counter
	badReplies    prometheus.Counter
	produceErrors prometheus.Counter
}

func newRequesterMetrics(reg prometheus.Registerer) (*requesterMetrics, error) {
	m := &requesterMetrics{
		roundTrip: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_broker_round_trip_seconds", Help: "Time from sending a task to receiving its reply.", Buckets: roundTripBuckets,
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_broker_pending_replies", Help: "Requests waiting for their reply.",
		}),
		lateReplies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_broker_late_replies_total", Help: "Replies that found no waiting request (late or unknown), dropped.",
		}),
		badReplies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_broker_bad_replies_total", Help: "Replies that could not be decoded, dropped.",
		}),
		produceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_broker_produce_errors_total", Help: "Tasks (and probes) that could not be sent or delivered.",
		}),
	}
	return m, register(reg, m.roundTrip, m.pending, m.lateReplies, m.badReplies, m.produceErrors)
}

// Outcomes of a processed task.
const (
	outcomeOK     = "ok"
	outcomeError  = "error"
	outcomePoison = "poison"
)

type workerMetrics struct {
	processed   *prometheus.CounterVec
	processing  prometheus.Histogram
	inFlight    prometheus.Gauge
	committed   *prometheus.GaugeVec
	replyErrors prometheus.Counter
	orphans     prometheus.Counter
}

func newWorkerMetrics(reg prometheus.Registerer) (*workerMetrics, error) {
	m := &workerMetrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_worker_tasks_total", Help: "Tasks processed, by outcome (ok, error, poison).",
		}, []string{"outcome"}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_worker_processing_seconds", Help: "Time a handler took to run a task.", Buckets: roundTripBuckets,
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_worker_tasks_in_flight", Help: "Tasks being processed or waiting for their reply's delivery.",
		}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rps_worker_stored_offset", Help: "Next offset to commit per assigned partition: every task before it was answered (committed within auto.commit.interval.ms).",
		}, []string{"partition"}),
		replyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_worker_reply_errors_total", Help: "Reply deliveries that failed and were retried.",
		}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_worker_orphan_replies_total", Help: "Replies dropped because their reply topic is gone (the server instance that asked shut down).",
		}),
	}
	for _, o := range []string{outcomeOK, outcomeError, outcomePoison} {
		m.processed.WithLabelValues(o)
	}
	return m, register(reg, m.processed, m.processing, m.inFlight, m.committed, m.replyErrors, m.orphans)
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("kafkabroker: register metrics: %w", err)
		}
	}
	return nil
}
