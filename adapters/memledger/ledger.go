// Package memledger is an in-memory IssuanceLedger for tests. It remembers
// only within one process, so it cannot make issuance exactly-once across
// workers or restarts: production workers use redisledger.
package memledger

import (
	"context"
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
)

// Ledger keeps each task's value for a while: a keyed task's
// (domain.IsKeyedTask) for its keyed TTL, any other's for its window, as
// redisledger does.
type Ledger struct {
	window, keyedTTL time.Duration
	now              func() time.Time

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	value   string
	expires time.Time
}

// New returns an empty ledger whose records all live for ttl.
func New(ttl time.Duration) *Ledger { return NewWindowed(ttl, ttl) }

// NewWindowed returns an empty ledger whose records live for window, those
// of keyed tasks for keyedTTL.
func NewWindowed(window, keyedTTL time.Duration) *Ledger {
	return &Ledger{window: window, keyedTTL: keyedTTL, now: time.Now, entries: map[string]entry{}}
}

// Record implements ports.IssuanceLedger.
func (l *Ledger) Record(_ context.Context, taskID, value string) (string, error) {
	keep := l.window
	if domain.IsKeyedTask(taskID) {
		keep = l.keyedTTL
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[taskID]; ok && now.Before(e.expires) {
		return e.value, nil
	}
	l.entries[taskID] = entry{value: value, expires: now.Add(keep)}
	return value, nil
}
