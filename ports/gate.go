package ports

import (
	"context"

	"github.com/1000x-rps-server/rps-server/domain"
)

// Slot is a held place in the gate. It is handed back to Release, so a
// release can only ever free the caller's own slot.
type Slot struct {
	// ID is chosen by the caller and unique per attempt: a request that runs
	// a task again (a retry of the same idempotency key) acquires under a
	// new id, never the task's.
	ID string
}

// ConcurrencyGate bounds how many requests are in flight at once, across every
// instance that shares the gate's store.
type ConcurrencyGate interface {
	// Acquire takes a slot named id. It returns domain.ErrAtCapacity when the
	// gate is full and domain.ErrUnavailable when the store cannot be asked.
	// It is idempotent per id: acquiring the same id twice holds one slot.
	// An id names one attempt: when its acquire fails midway (the caller
	// gave up, the store stalled) the gate may undo it, and an id undone
	// takes nothing ever again, so it must never be reused.
	// client is who asked: a gate with a share policy refuses a client
	// over its share with a *domain.Refusal (which wraps ErrAtCapacity).
	Acquire(ctx context.Context, id string, client domain.Client) (Slot, error)
	// Release gives the slot back. It is idempotent: releasing twice, or a
	// slot that already expired, is not an error. Callers pass a context that
	// is not the (possibly cancelled) request's, so the slot is always freed.
	Release(ctx context.Context, slot Slot) error
	// Ready returns nil when the gate can serve; otherwise why it cannot.
	Ready(ctx context.Context) error
}
