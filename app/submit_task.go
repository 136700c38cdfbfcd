package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// SubmitTaskConfig tunes SubmitTask.
type SubmitTaskConfig struct {
	// Kinds are the task kinds a worker can run; others are refused up front.
	Kinds []domain.Kind
	// ReplyTimeout bounds how long one request waits for its reply.
	ReplyTimeout time.Duration
	// ReleaseTimeout bounds the slot release, which runs detached from the
	// request so a cancelled request still gives its slot back.
	ReleaseTimeout time.Duration
	// NewID makes correlation ids, and the slot ids of attempts that run a
	// task whose id the caller chose (Run).
	NewID func() string
	// Logger receives the failures nobody else can report (a failed release).
	Logger *slog.Logger
}

// SubmitTask admits one request through the gate, sends its task and waits for
// the result. The slot is released on every path: success, error, timeout,
// cancellation and a panic in a port.
type SubmitTask struct {
	gate   ports.ConcurrencyGate
	broker ports.TaskBroker
	cfg    SubmitTaskConfig
}

// NewSubmitTask refuses missing dependencies and nonsensical settings.
func NewSubmitTask(gate ports.ConcurrencyGate, broker ports.TaskBroker, cfg SubmitTaskConfig) (*SubmitTask, error) {
	switch {
	case gate == nil:
		return nil, errors.New("submit task: nil gate")
	case broker == nil:
		return nil, errors.New("submit task: nil broker")
	case len(cfg.Kinds) == 0:
		return nil, errors.New("submit task: no task kinds")
	case cfg.ReplyTimeout <= 0:
		return nil, errors.New("submit task: reply timeout must be positive")
	case cfg.ReleaseTimeout <= 0:
		return nil, errors.New("submit task: release timeout must be positive")
	case cfg.NewID == nil:
		return nil, errors.New("submit task: nil id generator")
	case cfg.Logger == nil:
		return nil, errors.New("submit task: nil logger")
	}
	return &SubmitTask{gate: gate, broker: broker, cfg: cfg}, nil
}

// Submit runs one task of the given kind for the HTTP request requestID.
// Errors wrap the sentinels of package domain, or ctx's error when the caller
// went away.
func (s *SubmitTask) Submit(ctx context.Context, client domain.Client, kind domain.Kind, requestID string) (domain.Result, error) {
	if err := s.Validate(kind); err != nil {
		return domain.Result{}, err
	}
	// A fresh task is this attempt's own: its id names the slot too.
	id := s.cfg.NewID()
	return s.run(ctx, client, domain.Task{ID: id, Kind: kind, RequestID: requestID}, id)
}

// Run is Submit for a task whose id the caller chose: SubmitOnce runs every
// attempt of one idempotency key as the same task, so the worker's issuance
// ledger answers a re-run with what it already issued. The slot is the
// attempt's, under an id of its own: an attempt the gate undid (its acquire
// abandoned in a stall) must not make the next attempt of the task take
// nothing.
func (s *SubmitTask) Run(ctx context.Context, client domain.Client, task domain.Task) (domain.Result, error) {
	if err := s.Validate(task.Kind); err != nil {
		return domain.Result{}, err
	}
	return s.run(ctx, client, task, s.cfg.NewID())
}

// run takes a slot named slotID for client's task, sends it and waits for its result.
func (s *SubmitTask) run(ctx context.Context, client domain.Client, task domain.Task, slotID string) (result domain.Result, err error) {
	// Registered first, so it runs last: a panic in a port becomes an error
	// after the slot has been released, and never crosses into the caller.
	defer func() {
		if r := recover(); r != nil {
			result, err = domain.Result{}, fmt.Errorf("task %s: panic: %v", task.ID, r)
		}
	}()

	// A broker that cannot serve (no worker, Kafka down) is refused before
	// the gate: a slot held for a task nobody runs would only wait out its
	// deadline (504) and crowd out requests that could be served (429).
	if err := s.broker.Ready(ctx); err != nil {
		return domain.Result{}, fmt.Errorf("broker not ready: %w", err)
	}
	slot, err := s.gate.Acquire(ctx, slotID, client)
	if err != nil {
		return domain.Result{}, fmt.Errorf("acquire slot: %w", err)
	}
	defer s.release(ctx, slot)

	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.ReplyTimeout)
	defer cancel()
	result, err = s.broker.Request(waitCtx, task)
	switch {
	case err == nil:
		return result, result.Err()
	case ctx.Err() != nil: // the caller went away or its own deadline passed
		return domain.Result{}, fmt.Errorf("request task: %w", context.Cause(ctx))
	case errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, domain.ErrTimedOut):
		return domain.Result{}, fmt.Errorf("request task: %w: %w", domain.ErrTimedOut, err)
	default:
		return domain.Result{}, fmt.Errorf("request task: %w", err)
	}
}

// Validate refuses a kind no worker can run (domain.ErrInvalidTask or
// domain.ErrUnknownKind), before any port is asked.
func (s *SubmitTask) Validate(kind domain.Kind) error {
	if err := kind.Validate(); err != nil {
		return err
	}
	if !slices.Contains(s.cfg.Kinds, kind) {
		return fmt.Errorf("%w: %q", domain.ErrUnknownKind, kind)
	}
	return nil
}

// release frees slot on a context detached from the request's, bounded by its
// own timeout. A failure is logged: the gate's lease frees the slot later.
func (s *SubmitTask) release(ctx context.Context, slot ports.Slot) {
	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ReleaseTimeout)
	defer cancel()
	if err := s.gate.Release(relCtx, slot); err != nil {
		s.cfg.Logger.WarnContext(ctx, "release slot failed; its lease will expire", "slot", slot.ID, "err", err)
	}
}

// Ready reports whether every port the use case needs can serve.
func (s *SubmitTask) Ready(ctx context.Context) error {
	if err := s.gate.Ready(ctx); err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	if err := s.broker.Ready(ctx); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}
