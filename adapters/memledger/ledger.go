// Package memledger is an in-memory IssuanceLedger for tests. It remembers
// only within one process, so it cannot make issuance exactly-once across
// workers or restarts: production workers use redisledger.
package memledger

import (
	"context"
	"sync"
	"time"
)

// Ledger keeps each task's value for a TTL.
type Ledger struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	value   string
	expires time.Time
}

// New returns an empty ledger whose records live for ttl.
func New(ttl time.Duration) *Ledger {
	return &Ledger{ttl: ttl, now: time.Now, entries: map[string]entry{}}
}

// Record implements ports.IssuanceLedger.
func (l *Ledger) Record(_ context.Context, taskID, value string) (string, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[taskID]; ok && now.Before(e.expires) {
		return e.value, nil
	}
	l.entries[taskID] = entry{value: value, expires: now.Add(l.ttl)}
	return value, nil
}
