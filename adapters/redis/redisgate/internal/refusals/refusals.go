// Package refusals is a block-mode instance's short memory of Redis's
// refusals. Under a flood most acquires are refused, and each refusal used to
// cost a Redis call that the admitted requests waited behind; while Redis
// has just said the gate is full (for everyone, or for one client under the
// fair share), the next acquires of the same kind would hear the same
// answer, so they hear it here instead, for at most a moment.
//
// It only ever refuses what Redis would have refused a moment ago, never
// admits: the cap is exact whatever it remembers. What it costs is a
// refusal while a slot has just come free elsewhere, for at most the
// memory's span (the block sync interval). A slot freed by this instance
// lets one acquire of each remembered kind ask Redis again at once, so an
// instance that releases keeps refilling its share at Redis's pace. When a
// refusal's span ends, one acquire asks Redis and the others are refused as
// before until it has the answer: under a flood, the end of a span would
// otherwise send every acquire that arrives within one round trip to Redis.
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
	// asking: after until, one acquire is asking Redis (until this time,
	// one span at most), and the refusal stands for the others meanwhile.
	asking time.Time
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
// one was. false: ask Redis, and say what it answered (RememberFull, or
// ForgetFull when it granted a slot or failed).
func (m *Memory) RecallFull(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recall(&m.full, now)
}

// ForgetFull drops the gate-wide refusal: Redis granted a take, or could not
// be asked.
func (m *Memory) ForgetFull() {
	m.mu.Lock()
	m.full = entry{}
	m.mu.Unlock()
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
// false: ask Redis, and say what it answered (Remember, or Forget when it
// admitted or failed).
func (m *Memory) Recall(client string, now time.Time) (*domain.Refusal, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.clients[client]
	if !ok {
		return nil, false
	}
	refused := m.recall(&e, now)
	m.clients[client] = e // a free used, or one acquire asking
	if !refused {
		return nil, false
	}
	r := *e.refusal
	if e.exact {
		r.RetryAfter = max(0, e.until.Sub(now))
	}
	return &r, true
}

// Forget drops client's refusal: Redis admitted it, or could not be asked.
func (m *Memory) Forget(client string) {
	m.mu.Lock()
	delete(m.clients, client)
	m.mu.Unlock()
}

// recall reports whether e still refuses at now. When a free lets one
// acquire through instead, it counts that free as used; when e's span is
// over, it lets one acquire ask Redis and keeps refusing the others until
// that one's answer is remembered (or for one more span).
func (m *Memory) recall(e *entry, now time.Time) bool {
	switch {
	case e.until.IsZero():
		return false
	case now.Before(e.until) && e.exact:
		return true
	case now.Before(e.until) && e.frees < m.frees:
		e.frees++
		return false
	case now.Before(e.until), now.Before(e.asking):
		return true
	}
	e.asking = now.Add(m.span)
	return false
}

// Freed records that this instance freed n slots in Redis: each lets one
// acquire of every remembered refusal (but a rate's) ask Redis again.
func (m *Memory) Freed(n int) {
	m.mu.Lock()
	m.frees += uint64(n)
	m.mu.Unlock()
}

// Prune drops the refusals that ended by now and are not being asked
// about, so clients seen once do not stay: call it now and then (at each
// sync).
func (m *Memory) Prune(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.clients {
		if !now.Before(e.until) && !now.Before(e.asking) {
			delete(m.clients, k)
		}
	}
}
