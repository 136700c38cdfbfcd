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
	}
	return m, kafkabroker.Register(reg, m.roundTrip, m.pending, m.lateReplies, m.badReplies, m.produceErrors)
}
