package domain

import (
	"fmt"
	"time"
)

// Client is who sent a request, as far as sharing the gate goes: the gate
// gives each client a fair share of the capacity when clients contend.
type Client struct {
	// Key identifies the caller across instances: a hash of its API key or
	// its address, never a raw secret. Empty means anonymous: every request
	// without an identity shares that one client.
	Key string
	// Class is the configured class the caller belongs to; empty is the
	// default class.
	Class string
}

// DefaultClass names the class of clients that no configured key places
// elsewhere.
const DefaultClass = "default"

// ClassOf returns c's class, DefaultClass when none was set.
func (c Client) ClassOf() string {
	if c.Class == "" {
		return DefaultClass
	}
	return c.Class
}

// Limit names which limit refused a request.
type Limit string

// The limits a gate refuses by. Each has its own problem type and its own
// Retry-After in the HTTP API.
const (
	// LimitCapacity is the cluster-wide cap: every slot is held.
	LimitCapacity Limit = "capacity"
	// LimitFairShare means the client holds its fair share or more while
	// others contend for the last free slots.
	LimitFairShare Limit = "fair-share"
	// LimitCeiling is the client's class's hard ceiling of slots.
	LimitCeiling Limit = "client-ceiling"
	// LimitRate is the client's class's request rate.
	LimitRate Limit = "rate"
)

// Quota is what a refusal tells the client about the limit that refused
// it, so it can pace itself (the RateLimit header fields).
type Quota struct {
	// Limit is the quota: slots (for concurrency limits) or requests per
	// Window (for the rate).
	Limit int
	// Remaining is what the client may still use now; 0 when refused.
	Remaining int
	// Window is the rate's time window; zero for concurrency limits.
	Window time.Duration
}

// Refusal is the error a gate returns when a limit refuses a request. It
// wraps ErrAtCapacity, so callers that do not care which limit still see a
// full gate (429).
type Refusal struct { //nolint:errname // the HTTP layer and the gates share this name
	Limit Limit
	// RetryAfter is when trying again may succeed, sized to the limit:
	// a rate limit knows it exactly, concurrency limits estimate it.
	// Zero: the caller's default.
	RetryAfter time.Duration
	Quota      Quota
}

// Error says which limit refused.
func (r *Refusal) Error() string { return fmt.Sprintf("%s: %s limit", ErrAtCapacity, r.Limit) }

// Unwrap makes errors.Is(err, ErrAtCapacity) hold.
func (r *Refusal) Unwrap() error { return ErrAtCapacity }
