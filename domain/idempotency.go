package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// safe to hash and to compare byte by byte.
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

// KeyDigest names a client's idempotency key without revealing it: 32 hex
// digits of its SHA-256. The key redeems the outcome stored under it, so
// logs and store key names carry this instead; it is the same everywhere,
// so a log line leads to the stored record.
func KeyDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// Outcome is the final answer to a submission, kept under its idempotency key
// so that a retry gets it again. Only a result is final: a request refused
// (a bad or unknown kind, a full gate) is refused before its key is kept.
type Outcome struct {
	// RequestID is the id of the request that ran, not of the retry.
	RequestID string
	// Kind is the task kind that was asked for.
	Kind Kind
	// Value is the task's result (a gift code).
	Value string
	// Replayed is true when this outcome was stored by an earlier request.
	Replayed bool
}
