package redisgate

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// outcome of an acquire, an index into metrics.acquires.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeAtCapacity
	outcomeError
	outcomeFailOpen
	outcomes // how many there are
)

// outcomeLabels are the values of the acquires counter's "outcome" label.
var outcomeLabels = [outcomes]string{"ok", "at_capacity", "error", "fail_open"}

// latencyBuckets span a pipelined round trip on loopback (~50µs) to a slow
// network or a struggling Redis (100 ms).
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}

type metrics struct {
	capacity       prometheus.Gauge
	inUse          prometheus.Gauge
	leased         prometheus.Gauge
	acquires       [outcomes]prometheus.Counter // resolved once: no label lookup per call
	releaseErrors  prometheus.Counter
	undosDropped   prometheus.Counter
	acquireSeconds prometheus.Histogram
	releaseSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, capacity int) (*metrics, error) {
	acquires := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rps_gate_acquires_total",
		Help: "Gate acquires by outcome: ok, at_capacity, error (refused: Redis failed), fail_open (admitted: Redis failed).",
	}, []string{"outcome"})
	m := &metrics{
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_capacity", Help: "Slots the gate admits at once, cluster-wide (gate.capacity): the ceiling of the sum of rps_gate_slots_in_use.",
		}),
		inUse: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_slots_in_use", Help: "Gate slots held through this instance and not yet released.",
		}),
		leased: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_slots_leased", Help: "Block mode: gate slots this instance leases in Redis, held by requests or free in its pool.",
		}),
		releaseErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_gate_release_errors_total", Help: "Releases that failed; their leases free the slots.",
		}),
		undosDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_gate_undos_dropped_total",
			Help: "Undos of abandoned acquires given up (Redis unreachable for a whole lease, or too many pending); their leases free the slots.",
		}),
		acquireSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_gate_acquire_duration_seconds", Help: "Latency of a gate acquire.", Buckets: latencyBuckets,
		}),
		releaseSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_gate_release_duration_seconds", Help: "Latency of a gate release.", Buckets: latencyBuckets,
		}),
	}
	for o, label := range outcomeLabels {
		m.acquires[o] = acquires.WithLabelValues(label)
	}
	m.capacity.Set(float64(capacity))
	collectors := []prometheus.Collector{m.capacity, m.inUse, m.leased, acquires, m.releaseErrors, m.undosDropped, m.acquireSeconds, m.releaseSeconds}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] { // all or nothing, so New can be retried
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("redis gate: register metrics: %w", err)
		}
	}
	return m, nil
}
