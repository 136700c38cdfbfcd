package ports

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
)

// IdempotencyStore remembers, per client idempotency key, the task a key runs
// as, whether a request with that key is in flight, and its final outcome. It
// is shared by every server instance, so a retry that lands on another
// instance is answered the same way.
//
// What one key may cost is bounded: a store keeps digests of client keys,
// never the keys, and refuses a claim or an outcome over the limits of
// Claim.Validate and ValidateOutcome.
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
	// the key expires. An outcome ValidateOutcome refuses is not stored:
	// the key is left as Abandon leaves it, and the error says why.
	Complete(ctx context.Context, key string, entry Entry, outcome domain.Outcome) error
	// Abandon ends the run that claimed entry without an outcome, after its
	// task may have been sent: the key keeps its task id, so the next
	// request with the key runs again as the same task.
	Abandon(ctx context.Context, key string, entry Entry) error
	// Forget ends the run that claimed entry, which sent no task (the gate
	// was full, no worker consumed). A key this run recorded is forgotten
	// at once, so the refused request leaves nothing behind and a retry is
	// a new request; a key an earlier run may have sent is left as Abandon
	// leaves it.
	Forget(ctx context.Context, key string, entry Entry) error
}

// Claim is what a request brings to Begin.
type Claim struct {
	// Fingerprint identifies the request (a digest of what must match on a
	// retry); the same key with another fingerprint is a client's mistake
	// (domain.ErrKeyReused).
	Fingerprint string
	// TaskID is the task a new key runs as; a key seen before keeps its own.
	TaskID string
	// Token names this run; only its holder may complete or abandon it.
	Token string
	// Lease bounds the run: if its holder dies, the key can be claimed again
	// after it. It must outlast the run until its outcome is stored.
	Lease time.Duration
}

// MaxClaimField bounds each of a claim's strings, in bytes.
const MaxClaimField = 64

// Validate refuses a claim a store would not keep: Fingerprint, TaskID and
// Token must each be 1 to MaxClaimField visible ASCII characters (so a
// store may use a space to separate them), and Lease positive.
func (c Claim) Validate() error {
	for _, f := range []struct{ name, v string }{{"fingerprint", c.Fingerprint}, {"task id", c.TaskID}, {"token", c.Token}} {
		if !visibleASCII(f.v, MaxClaimField) {
			return fmt.Errorf("claim: %s must be 1 to %d visible ASCII characters", f.name, MaxClaimField)
		}
	}
	if c.Lease <= 0 {
		return errors.New("claim: lease must be positive")
	}
	return nil
}

// MaxOutcomeBytes bounds an outcome's request id, kind and value together,
// so a kept outcome costs a store at most this much beside its own fields.
const MaxOutcomeBytes = 512

// ValidateOutcome refuses an outcome larger than MaxOutcomeBytes.
func ValidateOutcome(o domain.Outcome) error {
	if n := len(o.RequestID) + len(o.Kind) + len(o.Value); n > MaxOutcomeBytes {
		return fmt.Errorf("outcome of %d bytes is over the %d an idempotency store keeps", n, MaxOutcomeBytes)
	}
	return nil
}

func visibleASCII(s string, maxLen int) bool {
	return s != "" && len(s) <= maxLen && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' })
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

// Entry is Begin's answer. Complete, Abandon and Forget take it back.
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
