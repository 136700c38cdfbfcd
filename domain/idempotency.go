package domain

import (
	"errors"
	"fmt"
)

// Errors of idempotent submissions (a request carrying a client's key).
var (
	// ErrKeyInFlight means a request with the same key is still running:
	// retry later and get its outcome.
	ErrKeyInFlight = errors.New("a request with this idempotency key is still in flight")
	// ErrKeyReused means the key was first used for a different request.
	ErrKeyReused = errors.New("idempotency key reused for a different request")
)

// maxKeyLen bounds a client's idempotency key, as Stripe does.
const maxKeyLen = 255

// ValidIdempotencyKey accepts 1 to 255 visible ASCII characters (0x21–0x7E):
// safe to log, to hash and to compare byte by byte.
func ValidIdempotencyKey(key string) bool {
	if key == "" || len(key) > maxKeyLen {
		return false
	}
	for i := range len(key) {
		if key[i] < '!' || key[i] > '~' {
			return false
		}
	}
	return true
}

// Outcome is the final answer to a submission, kept under its idempotency key
// so that a retry gets it again.
type Outcome struct {
	// RequestID is the id of the request that ran, not of the retry.
	RequestID string
	// Kind is the task kind that was asked for.
	Kind Kind
	// Value is the task's result (a gift code) when it succeeded.
	Value string
	// Refusal is set instead of Value when the request was refused for good
	// (RefusalInvalid or RefusalUnknownKind); Detail is the refusal's text.
	Refusal Refusal
	Detail  string
	// Replayed is true when this outcome was stored by an earlier request.
	Replayed bool
}

// Refusal names a final refusal that is kept and replayed.
type Refusal string

// The refusals that are final: the same request would be refused again.
const (
	RefusalInvalid     Refusal = "invalid_task"
	RefusalUnknownKind Refusal = "unknown_kind"
)

// Err returns the refusal as an error wrapping its sentinel, nil when the
// outcome is a success.
func (o Outcome) Err() error {
	switch o.Refusal {
	case "":
		return nil
	case RefusalInvalid:
		return &refusedError{sentinel: ErrInvalidTask, detail: o.Detail}
	case RefusalUnknownKind:
		return &refusedError{sentinel: ErrUnknownKind, detail: o.Detail}
	default:
		return fmt.Errorf("%w: unknown refusal %q", ErrInvalidTask, o.Refusal)
	}
}

// RefusalOf returns the refusal err stands for, or "" when err is not final.
func RefusalOf(err error) Refusal {
	switch {
	case errors.Is(err, ErrInvalidTask):
		return RefusalInvalid
	case errors.Is(err, ErrUnknownKind):
		return RefusalUnknownKind
	default:
		return ""
	}
}

// refusedError replays a stored refusal with its original text.
type refusedError struct {
	sentinel error
	detail   string
}

func (e *refusedError) Error() string { return e.detail }
func (e *refusedError) Unwrap() error { return e.sentinel }
