package redisledger

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/observability"
)

// Outcomes of a Record call, the values of rps_ledger_records_total's label.
const (
	outcomeNew   = "new"   // first run of the task: its value is now the record
	outcomeHit   = "hit"   // a redelivery: answered with the value recorded before
	outcomeError = "error" // Redis failed; the task fails rather than guess
)

// metrics counts Record calls by outcome, resolved once so a call does no
// label lookup. Hits are redeliveries the ledger kept from issuing twice.
type metrics struct {
	fresh, hit, failed prometheus.Counter
	// batch is the number of records per pipeline sent to Redis.
	batch prometheus.Histogram
}

func (m *metrics) observeBatch(n int) { m.batch.Observe(float64(n)) }

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	records := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rps_ledger_records_total",
		Help: "Issuance ledger records by outcome: new (first run), hit (a redelivered task answered from the record), error (Redis failed).",
	}, []string{"outcome"})
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rps_ledger_batch_size",
		Help:    "Issuance ledger records sent to Redis in one pipeline (the records of tasks that arrived during the previous one).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 … 256 (maxBatch)
	})
	if err := observability.RegisterAll(reg, records, batch); err != nil {
		return nil, fmt.Errorf("redisledger: %w", err)
	}
	return &metrics{
		batch:  batch,
		fresh:  records.WithLabelValues(outcomeNew),
		hit:    records.WithLabelValues(outcomeHit),
		failed: records.WithLabelValues(outcomeError),
	}, nil
}
