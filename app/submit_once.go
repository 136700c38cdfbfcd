package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// SubmitOnceConfig tunes SubmitOnce.
type SubmitOnceConfig struct {
	// RunTimeout bounds a run: the runner gets a context with this deadline
	// (the caller's, when sooner, wins).
	RunTimeout time.Duration
	// RunnerGrace is how long the runner may still work after its context
	// ends: SubmitTask's slot release, detached and bounded by its
	// ReleaseTimeout.
	RunnerGrace time.Duration
	// StoreTimeout bounds ending a run in the store (the outcome, or the
	// abandoned key), which runs detached from the request so a client that
	// leaves still gets its answer on retry.
	StoreTimeout time.Duration
	// NewID makes the task id (marked as keyed, domain.KeyedTaskID) and the
	// claim token a key gets on its first run.
	NewID func() string
	// Logger receives the failures nobody else can report (an outcome that
	// could not be stored).
	Logger *slog.Logger
}

// leaseAllowance is added to a key's lease beyond the run's bounds: the last
// store call may reach Redis a little after its timeout fired here, and
// Redis counts the lease on its own clock.
const leaseAllowance = time.Second

// Lease is how long a run holds its key: the run's deadline, the runner's
// grace after it and the store call that ends the run, plus an allowance.
// A shorter lease would let a retry claim the key while the first run is
// still storing its outcome, and run beside it.
func (c SubmitOnceConfig) Lease() time.Duration {
	return c.RunTimeout + c.RunnerGrace + c.StoreTimeout + leaseAllowance
}

// TaskRunner is the use case SubmitOnce decorates (SubmitTask), seen through
// its public methods only.
type TaskRunner interface {
	// Submit runs one task of kind under a fresh id.
	Submit(ctx context.Context, client domain.Client, kind domain.Kind, requestID string) (domain.Result, error)
	// Run runs task under the id it carries, refusing a kind no worker runs
	// before any port is asked.
	Run(ctx context.Context, client domain.Client, task domain.Task) (domain.Result, error)
	// Validate refuses a kind Run would refuse, without running anything.
	Validate(kind domain.Kind) error
	// Ready reports whether every port behind the use case can serve.
	Ready(ctx context.Context) error
}

// SubmitOnce decorates a TaskRunner with the client's idempotency key: the
// first request with a key runs; a retry gets the stored outcome (same code,
// same request id) without taking a slot or sending a task. Only a result is
// stored. A request refused before the gate (a bad or unknown kind) is
// refused before its key is stored, and one that sent no task (a full gate,
// no worker) forgets its key: neither leaves anything behind. After a 5xx or
// a 504 the key runs again, as the same task id the key was first given, so
// the worker's issuance ledger answers the re-run with the code it may
// already have issued, never a second one; that id is marked as keyed
// (domain.KeyedTaskID), so the ledger keeps its record as long as the key. Requests without a key pass
// through to the runner unchanged.
type SubmitOnce struct {
	runner TaskRunner
	store  ports.IdempotencyStore
	cfg    SubmitOnceConfig
	lease  time.Duration
}

// NewSubmitOnce refuses missing dependencies and nonsensical settings.
func NewSubmitOnce(runner TaskRunner, store ports.IdempotencyStore, cfg SubmitOnceConfig) (*SubmitOnce, error) {
	switch {
	case runner == nil || store == nil:
		return nil, errors.New("submit once: nil task runner or store")
	case cfg.RunTimeout <= 0 || cfg.StoreTimeout <= 0:
		return nil, errors.New("submit once: run timeout and store timeout must be positive")
	case cfg.RunnerGrace < 0:
		return nil, errors.New("submit once: runner grace must not be negative")
	case cfg.NewID == nil:
		return nil, errors.New("submit once: nil id generator")
	case cfg.Logger == nil:
		return nil, errors.New("submit once: nil logger")
	}
	return &SubmitOnce{runner: runner, store: store, cfg: cfg, lease: cfg.Lease()}, nil
}

// Submit runs a task without a key: the runner's Submit.
func (s *SubmitOnce) Submit(ctx context.Context, client domain.Client, kind domain.Kind, requestID string) (domain.Result, error) {
	return s.runner.Submit(ctx, client, kind, requestID)
}

// Ready is the runner's readiness.
func (s *SubmitOnce) Ready(ctx context.Context) error { return s.runner.Ready(ctx) }

// SubmitOnce runs the task of kind for requestID under the client's key, or
// answers with what the key's first run stored (Outcome.Replayed set, with
// that run's request id). A retry while the key runs elsewhere gets
// domain.ErrKeyInFlight; the key used for another kind, domain.ErrKeyReused.
func (s *SubmitOnce) SubmitOnce(ctx context.Context, client domain.Client, key string, kind domain.Kind, requestID string) (domain.Outcome, error) {
	if !domain.ValidIdempotencyKey(key) {
		return domain.Outcome{}, fmt.Errorf("%w: an idempotency key is 1 to 255 visible ASCII characters", domain.ErrInvalidTask)
	}
	if err := s.runner.Validate(kind); err != nil {
		return domain.Outcome{}, err // refused before the key is stored: it costs the store nothing
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RunTimeout) // the lease counts on it
	defer cancel()
	entry, err := s.store.Begin(ctx, key, ports.Claim{
		Fingerprint: fingerprint(kind), TaskID: domain.KeyedTaskID(s.cfg.NewID()), Token: s.cfg.NewID(), Lease: s.lease,
	})
	if err != nil {
		return domain.Outcome{}, fmt.Errorf("idempotency key: %w", err)
	}
	switch entry.State {
	case ports.Done:
		return entry.Outcome, nil
	case ports.InFlight:
		return domain.Outcome{}, domain.ErrKeyInFlight
	case ports.Reused:
		return domain.Outcome{}, fmt.Errorf("%w: the key was first used for another task kind", domain.ErrKeyReused)
	case ports.Claimed:
	default:
		return domain.Outcome{}, fmt.Errorf("idempotency key: unknown state %d", entry.State)
	}

	res, err := s.runner.Run(ctx, client, domain.Task{ID: entry.TaskID, Kind: kind, RequestID: requestID})
	switch {
	case err == nil:
		out := domain.Outcome{RequestID: requestID, Kind: kind, Value: res.Value}
		s.end(ctx, key, func(ctx context.Context) error { return s.store.Complete(ctx, key, entry, out) })
		return out, nil
	case sentNothing(err):
		s.end(ctx, key, func(ctx context.Context) error { return s.store.Forget(ctx, key, entry) })
	default:
		s.end(ctx, key, func(ctx context.Context) error { return s.store.Abandon(ctx, key, entry) })
	}
	return domain.Outcome{}, err
}

// sentNothing reports whether a run failed before its task could reach a
// worker: the gate was full, no worker consumed, or the task was refused.
func sentNothing(err error) bool {
	return errors.Is(err, domain.ErrAtCapacity) || errors.Is(err, domain.ErrNoWorkers) ||
		errors.Is(err, domain.ErrInvalidTask) || errors.Is(err, domain.ErrUnknownKind)
}

// fingerprint is what a retry must match, as a fixed-size digest: the kind
// is all a request asks for.
func fingerprint(kind domain.Kind) string {
	sum := sha256.Sum256([]byte(kind))
	return hex.EncodeToString(sum[:8])
}

// end runs a store call that ends a run, detached from the request and
// bounded. A failure is logged with the key's digest, never the key (it
// redeems the stored outcome): the key's lease frees it later, and a retry
// then runs again as the same task, which the ledger answers consistently.
func (s *SubmitOnce) end(ctx context.Context, key string, call func(context.Context) error) {
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
	defer cancel()
	if err := call(endCtx); err != nil {
		s.cfg.Logger.WarnContext(ctx, "ending an idempotent run in the store failed; a retry will run again",
			"key_digest", domain.KeyDigest(key), "err", err)
	}
}
