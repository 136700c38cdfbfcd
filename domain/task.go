package domain

import (
	"fmt"
	"regexp"
)

// Kind names what a task asks for. It travels in the task message as the
// original's "action" field.
type Kind string

// KindGiftCode asks a worker for a fresh gift code; it is the default kind.
const KindGiftCode Kind = "get_gift_code"

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate reports ErrInvalidTask when the kind cannot be a task name at all.
// Whether a worker knows the kind is a separate question (ErrUnknownKind).
func (k Kind) Validate() error {
	if !kindPattern.MatchString(string(k)) {
		return fmt.Errorf("%w: kind %q must match %s", ErrInvalidTask, k, kindPattern)
	}
	return nil
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
