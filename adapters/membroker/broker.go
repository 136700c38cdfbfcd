// Package membroker is an in-process TaskBroker: it hands each task straight
// to a TaskProcessor in the same process. It serves tests and the embedded
// mode, where one process is server and worker at once and nothing is shared.
package membroker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// ProcessorFunc adapts a function to ports.TaskProcessor, e.g. a test double
// that answers after a delay.
type ProcessorFunc func(ctx context.Context, task domain.Task) domain.Result

// Process implements ports.TaskProcessor.
func (f ProcessorFunc) Process(ctx context.Context, task domain.Task) domain.Result {
	return f(ctx, task)
}

// Broker runs tasks on a processor, at most concurrency at once, as a worker
// with WORKER_CONCURRENCY would.
type Broker struct {
	proc ports.TaskProcessor
	sem  chan struct{}

	mu     sync.RWMutex // guards closed against wg.Add after Close
	closed bool
	wg     sync.WaitGroup
}

var errClosed = errors.New("broker closed")

// New returns a broker that runs at most concurrency tasks at once.
func New(proc ports.TaskProcessor, concurrency int) (*Broker, error) {
	if proc == nil {
		return nil, errors.New("membroker: nil processor")
	}
	if concurrency < 1 {
		return nil, fmt.Errorf("membroker: concurrency must be at least 1 (got %d)", concurrency)
	}
	return &Broker{proc: proc, sem: make(chan struct{}, concurrency)}, nil
}

// Request implements ports.TaskBroker. The task runs in its own goroutine so
// the deadline holds even when a handler is slow to notice it.
func (b *Broker) Request(ctx context.Context, task domain.Task) (domain.Result, error) {
	if err := task.Validate(); err != nil {
		return domain.Result{}, err
	}
	if ctx.Err() != nil { // an expired deadline: do not run work nobody waits for
		return domain.Result{}, ctxErr(ctx)
	}
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return domain.Result{}, ctxErr(ctx)
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		<-b.sem
		return domain.Result{}, fmt.Errorf("%w: %w", domain.ErrUnavailable, errClosed)
	}
	b.wg.Add(1)
	b.mu.RUnlock()

	done := make(chan domain.Result, 1) // buffered: a late result never blocks
	go func() {
		defer b.wg.Done()
		defer func() { <-b.sem }()
		done <- b.proc.Process(ctx, task)
	}()
	select {
	case res := <-done:
		// A processor that honours ctx answers as soon as it is cancelled, so
		// both cases can be ready at once; the caller gave up, and says so.
		if ctx.Err() != nil {
			return domain.Result{}, ctxErr(ctx)
		}
		return res, nil
	case <-ctx.Done():
		return domain.Result{}, ctxErr(ctx) // the late result is dropped
	}
}

// Ready implements ports.TaskBroker: ready until closed, since its worker
// runs in this process and never goes missing.
func (b *Broker) Ready(context.Context) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, errClosed)
	}
	return nil
}

// Close refuses new tasks and waits for running ones to finish.
func (b *Broker) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", domain.ErrTimedOut, ctx.Err())
	}
	return ctx.Err()
}
