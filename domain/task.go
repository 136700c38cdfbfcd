package domain

import (
	"fmt"
	"strings"
)

// Kind names what a task asks for. It travels in the task message as the
// original's "action" field.
type Kind string

// KindGiftCode asks a worker for a fresh gift code; it is the default kind.
const KindGiftCode Kind = "get_gift_code"

// maxKindLen bounds a kind's length; kinds are names, not payloads.
const maxKindLen = 64

// Validate reports ErrInvalidTask when the kind cannot be a task name at all:
// a lower-case letter, then up to 63 lower-case letters, digits or
// underscores. Whether a worker knows the kind is a separate question
// (ErrUnknownKind). It runs on every request, so it is a byte loop, not a
// regexp (benchmarks/README.md, "Where the time goes at the knee").
func (k Kind) Validate() error {
	if !validKind(string(k)) {
		return fmt.Errorf("%w: kind %q must be a lower-case letter then up to %d lower-case letters, digits or _",
			ErrInvalidTask, k, maxKindLen-1)
	}
	return nil
}

func validKind(s string) bool {
	if len(s) == 0 || len(s) > maxKindLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Task is one unit of work sent from a server to a worker.
type Task struct {
	// ID is the correlation id: unique per task, it pairs a reply with its request.
	ID string
	// Kind selects the handler that runs the task.
	Kind Kind
	// RequestID is the HTTP request id, carried along so logs can be joined.
	RequestID string
}

// Validate checks the fields every transport relies on.
func (t Task) Validate() error {
	if t.ID == "" {
		return fmt.Errorf("%w: empty task id", ErrInvalidTask)
	}
	return t.Kind.Validate()
}

// Result is a worker's reply to one task.
type Result struct {
	// TaskID is the correlation id of the task this answers.
	TaskID string
	// Value is the handler's output, e.g. a gift code.
	Value string
	// Error is set instead of Value when the handler failed; it is a message
	// meant for operators, never a stack trace.
	Error string
}

// Err turns a failed result into an error wrapping ErrTaskFailed, nil otherwise.
func (r Result) Err() error {
	if r.Error == "" {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrTaskFailed, r.Error)
}

// keyedMark starts the id of a task run under a client's idempotency key.
const keyedMark = "k-"

// KeyedTaskID marks id as the task of an idempotency key. A key's task may
// run again, as the same id, for as long as the key lives, so what a worker
// issued for it must be remembered that long; an unmarked task only needs
// its record through its own redeliveries, a much shorter window.
func KeyedTaskID(id string) string { return keyedMark + id }

// IsKeyedTask reports whether id was made by KeyedTaskID.
func IsKeyedTask(id string) bool { return strings.HasPrefix(id, keyedMark) }
