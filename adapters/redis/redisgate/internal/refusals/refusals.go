// Package refusals is a block-mode instance's short memory of Redis's
// refusals. Under a flood most acquires are refused, and each refusal used to
// cost a Redis call that the admitted requests waited behind; while Redis
// has just said the gate is full (or a client is over its share), the next
// acquires of the same kind would hear the same answer, so they hear it
// here instead, for at most a moment.
//
// It only ever refuses what Redis would have refused a moment ago, never
// admits: the cap is exact whatever it remembers. What it costs is a
// refusal while a slot has just come free elsewhere, for at most the
// memory's span (the block sync interval). A slot freed by this instance
// lets one acquire of each remembered kind ask Redis again at once, so an
// instance that releases keeps refilling its share at Redis's pace.
package refusals

import (
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
)

// maxClients bounds the clients remembered at once: beyond it a refusal is
// simply not remembered (the next one asks Redis), so memory stays small
// whatever the number of clients.
const maxClients = 1024

// entry is one remembered refusal.
type entry struct {
	refusal *domain.Refusal // nil: the gate is full, without a share policy
	until   time.Time
	// frees is Memory.frees when the refusal was heard or last let
	// through: a slot freed here since lets one acquire ask again.
	frees uint64
	// exact: the refusal stands until `until` whatever is freed (a rate
	// limit: only time lifts it).
	exact bool
}

// Memory is safe for concurrent use. The zero value is not; use New.
type Memory struct {
	span time.Duration

	mu      sync.Mutex
	frees   uint64           // slots this instance freed in Redis, ever
	full    entry            // the gate-wide refusal (no client: the block take)
	clients map[string]entry // client key → its last refusal by fair.lua
}

// New returns an empty memory whose refusals last span (rate refusals last
// until their retry time instead).
func New(span time.Duration) *Memory {
	return &Memory{span: span, clients: map[string]entry{}}
}

// Mark returns the count of slots freed here so far: take it before the
// call whose refusal is remembered, so a slot freed while the call was on
// its way (Redis may not have seen it) still lets one acquire ask again.
func (m *Memory) Mark() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frees
}

// RememberFull records that Redis refused a block take at now, sent at mark:
// the gate is full.
func (m *Memory) RememberFull(now time.Time, mark uint64) {
	m.mu.Lock()
	m.full = entry{until: now.Add(m.span), frees: mark}
	m.mu.Unlock()
}

// RecallFull reports whether a take at now would be refused as the last
// one was.
func (m *Memory) RecallFull(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recall(&m.full, now)
}

// Remember records that Redis refused client with r at now, in a call sent
// at mark. A rate refusal lasts its RetryAfter exactly; any other lasts the
// span.
func (m *Memory) Remember(client string, r *domain.Refusal, now time.Time, mark uint64) {
	e := entry{refusal: r, until: now.Add(m.span), frees: mark}
	if r.Limit == domain.LimitRate {
		e.until, e.exact = now.Add(r.RetryAfter), true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[client]; ok || len(m.clients) < maxClients {
		m.clients[client] = e
	}
}

// Recall returns the refusal client would hear from Redis at now, if one is
// remembered: a copy, with a rate refusal's RetryAfter counted down to now.
func (m *Memory) Recall(client string, now time.Time) (*domain.Refusal, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.clients[client]
	if !ok {
		return nil, false
	}
	if !m.recall(&e, now) {
		if now.Before(e.until) {
			m.clients[client] = e // let through by a free: keep it, counted
		} else {
			delete(m.clients, client)
		}
		return nil, false
	}
	r := *e.refusal
	if e.exact {
		r.RetryAfter = e.until.Sub(now)
	}
	return &r, true
}

// recall reports whether e still refuses at now; when a free lets one
// acquire through instead, it counts that free as used.
func (m *Memory) recall(e *entry, now time.Time) bool {
	switch {
	case !now.Before(e.until):
		return false
	case e.exact:
		return true
	case e.frees < m.frees:
		e.frees++
		return false
	}
	return true
}

// Freed records that this instance freed n slots in Redis: each lets one
// acquire of every remembered refusal (but a rate's) ask Redis again.
func (m *Memory) Freed(n int) {
	m.mu.Lock()
	m.frees += uint64(n)
	m.mu.Unlock()
}

// Prune drops the refusals that ended by now, so clients seen once do not
// stay: call it now and then (at each sync).
func (m *Memory) Prune(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.clients {
		if !now.Before(e.until) {
			delete(m.clients, k)
		}
	}
}
