package requester

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replies"
	"github.com/1000x-rps-server/rps-server/observability"
)

type metrics struct {
	roundTrip     prometheus.Histogram
	replies       replies.Metrics
	produceErrors prometheus.Counter
	// workersAvailable is 1 while a worker consumes the tasks topic.
	workersAvailable prometheus.Gauge
	// The janitor's figures (package replytopics).
	replyTopicsDeleted prometheus.Counter
	replyTopics        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		roundTrip: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_broker_round_trip_seconds", Help: "Time from sending a task to receiving its reply.", Buckets: kafkabroker.RoundTripBuckets,
		}),
		replies: replies.NewMetrics(),
		produceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_broker_produce_errors_total", Help: "Tasks (and probes) that could not be sent or delivered.",
		}),
		workersAvailable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_kafka_workers_available", Help: "1 while a worker consumes the tasks topic (a watched consumer group, polled every second; one in a rebalance counts for worker.rebalance_grace), else 0: POST /queue then answers 503 at once.",
		}),
		replyTopicsDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_kafka_reply_topics_deleted_total", Help: "Reply topics of gone server instances (silent for kafka.reply_topic_grace) deleted by this instance's janitor.",
		}),
		replyTopics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_kafka_reply_topics", Help: "Reply topics of this deployment (kafka.results_topic) left after the janitor's last pass, this instance's own included; 0 while no janitor runs.",
		}),
	}
	return m, observability.RegisterAll(reg, m.roundTrip, m.replies.Pending, m.replies.Late, m.replies.Bad, m.produceErrors, m.replies.Shared, m.workersAvailable,
		m.replyTopicsDeleted, m.replyTopics)
}
