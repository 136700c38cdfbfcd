package redisgate

import (
	"fmt"
	"time"
)

// Timing is what the gate's timing rules judge: how long a slot is leased,
// how long a request may hold one, and the block mode's settings.
type Timing struct {
	// Lease is how long a lease lasts in Redis from its take or renewal.
	Lease time.Duration
	// Hold is the longest a request holds its slot, from the acquire's
	// return to the end of its release: the reply timeout plus the release
	// timeout.
	Hold time.Duration
	// BlockSize and BlockIdle are the block mode's (BlockConfig's Size and
	// Idle); a BlockSize of 1 is the per-request mode, which has no idle.
	BlockSize int
	BlockIdle time.Duration
}

// TimingField names a Timing field in a TimingError, as the gate's users
// would say it.
type TimingField string

// The fields of a Timing.
const (
	FieldLease     TimingField = "lease"
	FieldHold      TimingField = "hold"
	FieldBlockSize TimingField = "block size"
	FieldBlockIdle TimingField = "block idle"
)

// TimingError is a Timing with which the gate could not keep its cap.
// Fields are the settings the broken rule reads, the one at fault first.
// Problem says what that one must be and why; it names the others as
// "the lease", "the hold" and "the block size", so that a caller can name
// them as its users know them (config keys).
type TimingError struct {
	Fields  []TimingField
	Problem string
}

func (e *TimingError) Error() string { return string(e.Fields[0]) + " " + e.Problem }

// DriftAllowance is how much of a lease the gate keeps unused against the
// drift between this instance's clock, which times the requests and the
// leases it holds, and Redis's clock, which ends the leases: 0.1 % of the
// lease (1,000 ppm), at least 1ms. NTP slews a clock by at most 500 ppm, so
// it covers both clocks slewing at their most in opposite directions.
func DriftAllowance(lease time.Duration) time.Duration {
	return max(lease/1000, time.Millisecond)
}

// minLease is the shortest lease that covers hold and its own drift
// allowance, rounded up to the millisecond.
func minLease(hold time.Duration) time.Duration {
	need := max(hold+time.Millisecond, hold+(hold+998)/999) // hold + need/1000 ≤ need
	return (need + time.Millisecond - 1).Truncate(time.Millisecond)
}

// ValidateTiming checks t before any gate is made: the lease must outlive
// the longest request holding its slot, with the drift allowance to spare,
// or Redis frees a slot still in use and the cap breaks; in block mode the
// sync must come often enough to renew the leases before they get too
// short to hand out. It returns the first rule broken as a *TimingError.
func ValidateTiming(t Timing) error {
	lease, drift := t.Lease, DriftAllowance(t.Lease)
	block := t.BlockSize > 1
	switch {
	case block && t.BlockIdle < time.Millisecond:
		return &TimingError{Fields: []TimingField{FieldBlockIdle, FieldBlockSize},
			Problem: fmt.Sprintf("must be at least 1ms when the block size is over 1 (got %s)", t.BlockIdle)}
	case block && t.BlockIdle > lease/4:
		// Leases are renewed every quarter lease at the latest, at a sync.
		return &TimingError{Fields: []TimingField{FieldBlockIdle, FieldLease},
			Problem: fmt.Sprintf("must be at most a quarter of the lease (got %s, lease %s)", t.BlockIdle, lease)}
	case t.Hold <= 0:
		return &TimingError{Fields: []TimingField{FieldHold}, Problem: fmt.Sprintf("must be positive (got %s)", t.Hold)}
	case lease < t.Hold+drift:
		return &TimingError{Fields: []TimingField{FieldLease, FieldHold},
			Problem: fmt.Sprintf("must cover the hold and 0.1%% of itself for clock drift, so that no slot's lease ends while a request holds it (got %s, hold %s: at least %s)",
				lease, t.Hold, minLease(t.Hold))}
	case block && t.BlockIdle > (lease-t.Hold-drift)/4:
		// A slot is handed out only while its lease covers the hold and the
		// drift; what the lease has beyond them is the time between
		// renewals, which come at a sync (pool.Config.Hold).
		return &TimingError{Fields: []TimingField{FieldBlockIdle, FieldLease, FieldHold},
			Problem: fmt.Sprintf("must be at most a quarter of what the lease leaves beyond the hold and 0.1%% of itself for clock drift (got %s, lease %s, hold %s: at most %s)",
				t.BlockIdle, lease, t.Hold, (lease-t.Hold-drift)/4)}
	}
	return nil
}
