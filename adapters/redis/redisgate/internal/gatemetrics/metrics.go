// Package gatemetrics holds the Redis gate's Prometheus metrics, resolved once
// so the hot path does no label lookup.
package gatemetrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/observability"
)

// Outcome of an acquire, an index into Metrics.Acquires.
type Outcome int

// The outcomes of an acquire: admitted, refused as full (429), refused as
// Redis failed (503), admitted as Redis failed (fail open).
const (
	OK Outcome = iota
	AtCapacity
	Error
	FailOpen
	outcomes // how many there are
)

// outcomeLabels are the values of the acquires counter's "outcome" label.
var outcomeLabels = [outcomes]string{"ok", "at_capacity", "error", "fail_open"}

// latencyBuckets span a pipelined round trip on loopback (~50µs) to a slow
// network or a struggling Redis (100 ms).
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}

// Metrics are one gate's metrics.
type Metrics struct {
	capacity       prometheus.Gauge
	InUse          prometheus.Gauge
	Leased         prometheus.Gauge
	Acquires       [outcomes]prometheus.Counter // resolved once: no label lookup per call
	Recalled       prometheus.Counter
	ReleaseErrors  prometheus.Counter
	UndosDropped   prometheus.Counter
	AcquireSeconds prometheus.Histogram
	ReleaseSeconds prometheus.Histogram
}

// New registers the metrics of a gate of capacity on reg, all or nothing.
func New(reg prometheus.Registerer, capacity int) (*Metrics, error) {
	acquires := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rps_gate_acquires_total",
		Help: "Gate acquires by outcome: ok, at_capacity, error (refused: Redis failed), fail_open (admitted: Redis failed).",
	}, []string{"outcome"})
	m := &Metrics{
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_capacity", Help: "Slots the gate admits at once, cluster-wide (gate.capacity): the ceiling of the sum of rps_gate_slots_in_use.",
		}),
		InUse: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_slots_in_use", Help: "Gate slots held through this instance and not yet released.",
		}),
		Leased: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rps_gate_slots_leased", Help: "Block mode: gate slots this instance leases in Redis, held by requests or free in its pool.",
		}),
		Recalled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_gate_refusals_recalled_total",
			Help: "Block mode: refusals (counted in rps_gate_acquires_total too) answered without a Redis call, because Redis refused the same kind of acquire within block_idle and no slot was freed here since.",
		}),
		ReleaseErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_gate_release_errors_total", Help: "Releases that failed; their leases free the slots.",
		}),
		UndosDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rps_gate_undos_dropped_total",
			Help: "Undos of abandoned acquires given up (Redis unreachable for a whole lease, or too many pending); their leases free the slots.",
		}),
		AcquireSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_gate_acquire_duration_seconds", Help: "Latency of a gate acquire.", Buckets: latencyBuckets,
		}),
		ReleaseSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rps_gate_release_duration_seconds", Help: "Latency of a gate release.", Buckets: latencyBuckets,
		}),
	}
	for o, label := range outcomeLabels {
		m.Acquires[o] = acquires.WithLabelValues(label)
	}
	m.capacity.Set(float64(capacity))
	if err := observability.RegisterAll(reg, m.capacity, m.InUse, m.Leased, acquires, m.Recalled, m.ReleaseErrors, m.UndosDropped, m.AcquireSeconds, m.ReleaseSeconds); err != nil {
		return nil, fmt.Errorf("redis gate: %w", err)
	}
	return m, nil
}
