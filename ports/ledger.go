package ports

import "context"

// IssuanceLedger remembers what was issued for each task. Kafka redelivers a
// task after a worker crash or a rebalance; the ledger makes the redelivered
// task answer with what was issued the first time, never a second value.
type IssuanceLedger interface {
	// Record stores value for taskID unless a value is already stored, and
	// returns the stored one: value itself when this call won, the earlier
	// value otherwise. It is atomic across every process sharing the ledger.
	// A record is kept while its task can run again: a keyed task's
	// (domain.IsKeyedTask) as long as its idempotency key, any other's
	// through its redeliveries.
	// A failure wraps domain.ErrUnavailable.
	Record(ctx context.Context, taskID, value string) (stored string, err error)
}
