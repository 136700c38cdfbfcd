package ports

import (
	"context"

	"github.com/1000x-rps-server/rps-server/domain"
)

// TaskBroker carries a task to a worker and its result back (request-reply).
type TaskBroker interface {
	// Request sends task and waits for its result until ctx is done. It returns
	// domain.ErrTimedOut when ctx's deadline passes first, the context's error
	// when ctx is cancelled, and domain.ErrUnavailable when the task could not
	// be sent. A result that arrives after Request returned is dropped.
	// A worker's failure comes back as a Result whose Error is set, not as err.
	Request(ctx context.Context, task domain.Task) (domain.Result, error)
	// Ready returns nil when a task sent now can be served: replies can be
	// received and a worker consumes tasks. Otherwise it says why, wrapping
	// domain.ErrUnavailable, or domain.ErrNoWorkers (which wraps it) while
	// no worker consumes, or domain.ErrStarting (which wraps it too) until
	// the broker has started. It answers from what the broker already knows,
	// without a round trip: the use case asks it before every request, so
	// no gate slot is taken for a task nobody would run.
	Ready(ctx context.Context) error
}

// TaskProcessor runs a task where the work is done (a worker, or the embedded
// broker). Brokers deliver tasks to it; the app implements it.
type TaskProcessor interface {
	// Process runs task and always returns its result: a handler's failure or
	// an unknown kind is reported in Result.Error, never dropped.
	Process(ctx context.Context, task domain.Task) domain.Result
}
