package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// SubmitOnceConfig tunes SubmitOnce.
type SubmitOnceConfig struct {
	// Lease bounds a run's hold on its key; if the process dies mid-run the
	// key can be retried after it. It must outlast the request's deadline.
	Lease time.Duration
	// StoreTimeout bounds storing the outcome, which runs detached from the
	// request so a client that leaves still gets its answer on retry.
	StoreTimeout time.Duration
	// NewID makes the task id and the claim token a key gets on its first run.
	NewID func() string
	// Logger receives the failures nobody else can report (an outcome that
	// could not be stored).
	Logger *slog.Logger
}

// TaskRunner is the use case SubmitOnce decorates (SubmitTask), seen through
// its public methods only.
type TaskRunner interface {
	// Submit runs one task of kind under a fresh id.
	Submit(ctx context.Context, kind domain.Kind, requestID string) (domain.Result, error)
	// Run runs task under the id it carries, refusing a kind no worker runs
	// before any port is asked.
	Run(ctx context.Context, task domain.Task) (domain.Result, error)
	// Ready reports whether every port behind the use case can serve.
	Ready(ctx context.Context) error
}

// SubmitOnce decorates a TaskRunner with the client's idempotency key: the
// first request with a key runs; a retry gets the stored outcome (same code,
// same request id) without taking a slot or sending a task. Only final
// outcomes are stored (a result, or a refusal of the request itself); after
// a 5xx or a 504 the key runs again, as the same task id the key was first
// given, so the worker's issuance ledger answers the re-run with the code it
// may already have issued, never a second one. Requests without a key pass
// through to the runner unchanged.
type SubmitOnce struct {
	runner TaskRunner
	store  ports.IdempotencyStore
	cfg    SubmitOnceConfig
}

// NewSubmitOnce refuses missing dependencies and nonsensical settings.
func NewSubmitOnce(runner TaskRunner, store ports.IdempotencyStore, cfg SubmitOnceConfig) (*SubmitOnce, error) {
	switch {
	case runner == nil || store == nil:
		return nil, errors.New("submit once: nil task runner or store")
	case cfg.Lease <= 0 || cfg.StoreTimeout <= 0:
		return nil, errors.New("submit once: lease and store timeout must be positive")
	case cfg.NewID == nil:
		return nil, errors.New("submit once: nil id generator")
	case cfg.Logger == nil:
		return nil, errors.New("submit once: nil logger")
	}
	return &SubmitOnce{runner: runner, store: store, cfg: cfg}, nil
}

// Submit runs a task without a key: the runner's Submit.
func (s *SubmitOnce) Submit(ctx context.Context, kind domain.Kind, requestID string) (domain.Result, error) {
	return s.runner.Submit(ctx, kind, requestID)
}

// Ready is the runner's readiness.
func (s *SubmitOnce) Ready(ctx context.Context) error { return s.runner.Ready(ctx) }

// SubmitOnce runs the task of kind for requestID under the client's key, or
// answers with what the key's first run stored (Outcome.Replayed set, with
// that run's request id, also when the stored outcome is a refusal: err is
// then its error). A retry while the key runs elsewhere gets
// domain.ErrKeyInFlight; the key used for another kind, domain.ErrKeyReused.
func (s *SubmitOnce) SubmitOnce(ctx context.Context, key string, kind domain.Kind, requestID string) (domain.Outcome, error) {
	if !domain.ValidIdempotencyKey(key) {
		return domain.Outcome{}, fmt.Errorf("%w: an idempotency key is 1 to 255 visible ASCII characters", domain.ErrInvalidTask)
	}
	entry, err := s.store.Begin(ctx, key, ports.Claim{
		Fingerprint: string(kind), TaskID: s.cfg.NewID(), Token: s.cfg.NewID(), Lease: s.cfg.Lease,
	})
	if err != nil {
		return domain.Outcome{}, fmt.Errorf("idempotency key: %w", err)
	}
	switch entry.State {
	case ports.Done:
		return entry.Outcome, entry.Outcome.Err()
	case ports.InFlight:
		return domain.Outcome{}, domain.ErrKeyInFlight
	case ports.Reused:
		return domain.Outcome{}, fmt.Errorf("%w: the key was first used for another task kind", domain.ErrKeyReused)
	case ports.Claimed:
	default:
		return domain.Outcome{}, fmt.Errorf("idempotency key: unknown state %d", entry.State)
	}

	res, err := s.runner.Run(ctx, domain.Task{ID: entry.TaskID, Kind: kind, RequestID: requestID})
	out := domain.Outcome{RequestID: requestID, Kind: kind, Value: res.Value}
	if out.Refusal = domain.RefusalOf(err); err != nil && out.Refusal == "" {
		s.end(ctx, key, func(ctx context.Context) error { return s.store.Abandon(ctx, key, entry) })
		return domain.Outcome{}, err
	}
	if err != nil {
		out.Value, out.Detail = "", err.Error()
	}
	s.end(ctx, key, func(ctx context.Context) error { return s.store.Complete(ctx, key, entry, out) })
	return out, err
}

// end runs a store call that ends a run, detached from the request and
// bounded. A failure is logged: the key's lease frees it later, and a retry
// then runs again as the same task, which the ledger answers consistently.
func (s *SubmitOnce) end(ctx context.Context, key string, call func(context.Context) error) {
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
	defer cancel()
	if err := call(endCtx); err != nil {
		s.cfg.Logger.WarnContext(ctx, "store idempotent outcome failed; a retry will run again", "key", key, "err", err)
	}
}
