package ports

import (
	"context"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
)

// IdempotencyStore remembers, per client idempotency key, the task a key runs
// as, whether a request with that key is in flight, and its final outcome. It
// is shared by every server instance, so a retry that lands on another
// instance is answered the same way.
type IdempotencyStore interface {
	// Begin claims key for one run of a request, atomically across every
	// process sharing the store, and reports what it found:
	//   - a new key is recorded with claim's fingerprint and task id for the
	//     store's TTL, and claimed (State Claimed, TaskID = claim.TaskID);
	//   - a key first used with another fingerprint is not touched (Reused);
	//   - a key with a stored outcome returns it (Done);
	//   - a key another run holds is left alone (InFlight);
	//   - otherwise (the last run ended without an outcome, or its holder died
	//     and its lease passed) the key is claimed again with its first task
	//     id, so a re-run asks the worker for the same task.
	// A failure wraps domain.ErrUnavailable.
	Begin(ctx context.Context, key string, claim Claim) (Entry, error)
	// Complete stores the outcome of the run that claimed entry and ends
	// the run. The first outcome stored for a key wins and is kept until
	// the key expires.
	Complete(ctx context.Context, key string, entry Entry, outcome domain.Outcome) error
	// Abandon ends the run that claimed entry without an outcome, so the
	// next request with the key runs again (as the same task).
	Abandon(ctx context.Context, key string, entry Entry) error
}

// Claim is what a request brings to Begin.
type Claim struct {
	// Fingerprint identifies the request; the same key with another
	// fingerprint is a client's mistake (domain.ErrKeyReused).
	Fingerprint string
	// TaskID is the task a new key runs as; a key seen before keeps its own.
	TaskID string
	// Token names this run; only its holder may complete or abandon it.
	Token string
	// Lease bounds the run: if its holder dies, the key can be claimed again
	// after it. It must outlast the request's deadline.
	Lease time.Duration
}

// EntryState says what Begin found.
type EntryState int

// The states Begin reports.
const (
	// Claimed: this call holds the key; run the task as Entry.TaskID.
	Claimed EntryState = iota + 1
	// InFlight: another run holds the key.
	InFlight
	// Done: Entry.Outcome is the stored final outcome.
	Done
	// Reused: the key was first used with another fingerprint.
	Reused
)

// Entry is Begin's answer. Complete and Abandon take it back.
type Entry struct {
	State EntryState
	// TaskID is the task the key runs as (set for Claimed and InFlight).
	TaskID string
	// Outcome is set for Done.
	Outcome domain.Outcome
	// Token is the claim's token (set for Claimed).
	Token string
	// Expires is when the key is forgotten; an outcome is kept until then.
	Expires time.Time
}
