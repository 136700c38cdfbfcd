// Package memidem is an in-memory IdempotencyStore: the embedded mode's, and
// the reference the Redis store is tested against. It remembers only within
// one process: instances that share traffic use redisidem.
package memidem

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Store keeps each key for a TTL.
type Store struct {
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	keys      map[string]*record
	lastSweep time.Time
}

type record struct {
	fingerprint string
	taskID      string
	expires     time.Time
	token       string    // the holder's; "" when nobody holds the key
	leaseEnd    time.Time // when the holder's claim lapses
	outcome     *domain.Outcome
}

// New returns an empty store whose keys live for ttl.
func New(ttl time.Duration) (*Store, error) {
	if ttl <= 0 {
		return nil, errors.New("memidem: ttl must be positive")
	}
	return &Store{ttl: ttl, now: time.Now, keys: map[string]*record{}}, nil
}

// Begin implements ports.IdempotencyStore.
func (s *Store) Begin(_ context.Context, key string, claim ports.Claim) (ports.Entry, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	r, ok := s.keys[key]
	if !ok || !now.Before(r.expires) {
		r = &record{fingerprint: claim.Fingerprint, taskID: claim.TaskID, expires: now.Add(s.ttl)}
		s.keys[key] = r
	}
	switch {
	case r.fingerprint != claim.Fingerprint:
		return ports.Entry{State: ports.Reused, Expires: r.expires}, nil
	case r.outcome != nil:
		out := *r.outcome
		out.Replayed = true
		return ports.Entry{State: ports.Done, Outcome: out, Expires: r.expires}, nil
	case r.token != "" && now.Before(r.leaseEnd):
		return ports.Entry{State: ports.InFlight, TaskID: r.taskID, Expires: r.expires}, nil
	}
	r.token, r.leaseEnd = claim.Token, now.Add(claim.Lease)
	return ports.Entry{State: ports.Claimed, TaskID: r.taskID, Token: claim.Token, Expires: r.expires}, nil
}

// Complete implements ports.IdempotencyStore.
func (s *Store) Complete(_ context.Context, key string, entry ports.Entry, outcome domain.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.keys[key]
	if !ok || !s.now().Before(r.expires) {
		return nil // forgotten meanwhile: nothing to answer retries with
	}
	if r.outcome == nil {
		outcome.Replayed = false
		r.outcome = &outcome
	}
	if r.token == entry.Token {
		r.token = ""
	}
	return nil
}

// Abandon implements ports.IdempotencyStore.
func (s *Store) Abandon(_ context.Context, key string, entry ports.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.keys[key]; ok && r.token == entry.Token {
		r.token = ""
	}
	return nil
}

// sweep forgets expired keys, so memory stays bounded by the keys of one TTL.
// It runs under mu, at most once per second of the store's clock.
func (s *Store) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Second {
		return
	}
	s.lastSweep = now
	for k, r := range s.keys {
		if !now.Before(r.expires) {
			delete(s.keys, k)
		}
	}
}
