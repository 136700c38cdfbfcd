package requester

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

type metrics struct {
	roundTrip     prometheus.Histogram
	pending       prometheus.Gauge
	lateReplies   prometheus.Counter
	badReplies    prometheus.Counter
	produceErrors prometheus.Counter
	shared        *prometheus.CounterVec
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
	}
	m.shared.WithLabelValues(sharedTaken)
	m.shared.WithLabelValues(sharedIgnored)
	return m, kafkabroker.Register(reg, m.roundTrip, m.pending, m.lateReplies, m.badReplies, m.produceErrors, m.shared)
}
