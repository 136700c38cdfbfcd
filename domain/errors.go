package domain

import (
	"errors"
	"fmt"
)

// The errors the core speaks in. Adapters translate driver errors into these,
// and the HTTP adapter maps each to one status code in a single table.
var (
	// ErrAtCapacity means the concurrency gate is full: try again later.
	ErrAtCapacity = errors.New("at capacity")
	// ErrTimedOut means no reply arrived before the request's deadline.
	ErrTimedOut = errors.New("timed out waiting for reply")
	// ErrUnavailable means a dependency (gate store, broker) could not be reached.
	ErrUnavailable = errors.New("dependency unavailable")
	// ErrNoWorkers means no worker consumes tasks right now: a task sent
	// would only wait out its deadline. It wraps ErrUnavailable (503), so
	// callers that do not care why still see an unavailable dependency.
	ErrNoWorkers = fmt.Errorf("no worker consumes tasks: %w", ErrUnavailable)
	// ErrStarting means a port of this instance has not started yet (the
	// Kafka broker has not proven its reply path): unlike a dependency every
	// instance shares being down, it makes this instance unready. It wraps
	// ErrUnavailable (503).
	ErrStarting = fmt.Errorf("starting: %w", ErrUnavailable)
	// ErrInvalidTask means the task is malformed and can never succeed.
	ErrInvalidTask = errors.New("invalid task")
	// ErrUnknownKind means no handler is registered for the task's kind.
	ErrUnknownKind = errors.New("unknown task kind")
	// ErrTaskFailed means a worker ran the task and its handler returned an error.
	ErrTaskFailed = errors.New("task failed")
)
