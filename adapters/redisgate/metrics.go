package redisgate

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an acquire, as the acquires counter's label.
const (
	outcomeOK         = "ok"
	outcomeAtCapacity = "at_capacity"
	outcomeError      = "error"
	outcomeFailOpen   = "fail_open"
)

type metrics struct {
	inUse          prometheus.Gauge
	acquires       *prometheus.CounterVec
	releaseErrors  prometheus.Counter
	acquireSeconds prometheus.Histogram
	releaseSeconds prometheus.Histogram
}

// latencyBuckets span a pipelined round trip on loopback (~100µs) to a slow
// network (100 ms).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		inUse: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_slots_in_use", Help: "Gate slots held by this instance.",
		}),
		acquires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_gate_acquires_total", Help: "Gate acquires by outcome (ok, at_capacity, error, fail_open).",
		}, []string{"outcome"}),
		releaseErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_gate_release_errors_total", Help: "Releases that failed; their leases free the slots.",
		}),
		acquireSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_gate_acquire_duration_seconds", Help: "Latency of a gate acquire.", Buckets: latencyBuckets,
		}),
		releaseSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_gate_release_duration_seconds", Help: "Latency of a gate release.", Buckets: latencyBuckets,
		}),
	}
	for _, c := range []prometheus.Collector{m.inUse, m.acquires, m.releaseErrors, m.acquireSeconds, m.releaseSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("redisgate: register metrics: %w", err)
		}
	}
	for _, o := range []string{outcomeOK, outcomeAtCapacity, outcomeError, outcomeFailOpen} {
		m.acquires.WithLabelValues(o)
	}
	return m, nil
}
