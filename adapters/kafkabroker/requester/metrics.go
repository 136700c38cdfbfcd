package requester

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replies"
)

type metrics struct {
	roundTrip     prometheus.Histogram
	pending       prometheus.Gauge
	lateReplies   prometheus.Counter
	badReplies    prometheus.Counter
	produceErrors prometheus.Counter
	shared        *prometheus.CounterVec
	// workersAvailable is 1 while a worker consumes the tasks topic.
	workersAvailable prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		roundTrip: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_broker_round_trip_seconds", Help: "Time from sending a task to receiving its reply.", Buckets: kafkabroker.RoundTripBuckets,
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
		shared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_broker_shared_replies_total",
			Help: "Replies read from the shared results topic (kafka.reply_mode: shared), by outcome: taken (a request of this instance) or ignored (another's, late, or undecodable).",
		}, []string{"outcome"}),
		workersAvailable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_kafka_workers_available", Help: "1 while a worker consumes the tasks topic (its consumer group, polled every second), else 0: POST /queue then answers 503 at once.",
		}),
	}
	m.shared.WithLabelValues(replies.SharedTaken)
	m.shared.WithLabelValues(replies.SharedIgnored)
	return m, kafkabroker.Register(reg, m.roundTrip, m.pending, m.lateReplies, m.badReplies, m.produceErrors, m.shared, m.workersAvailable)
}
