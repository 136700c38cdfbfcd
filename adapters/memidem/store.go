// Package memidem is an in-memory IdempotencyStore: the embedded mode's, and
// the reference the Redis store is tested against. It remembers only within
// one process: instances that share traffic use redisidem.
//
// It holds at most Config.Capacity keys. Keys leave in the order they expire
// (a heap by expiry, so a call pops only what has expired, never sweeps the
// whole store); when the store is full, a new key pushes out the key that
// would expire first, which is the oldest.
package memidem

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Config sets up the store.
type Config struct {
	// TTL is how long a key and its outcome are kept.
	TTL time.Duration
	// Capacity is the most keys kept at once; more pushes out the oldest,
	// whose retry then runs as a new request.
	Capacity int
}

// Store keeps each key for a TTL, and at most Capacity keys.
type Store struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	keys     map[digest]*record
	byExpiry expiryHeap
}

// digest names a client key by a fixed-size hash of it, so a key costs the
// same whatever its length.
type digest [16]byte

type record struct {
	key         digest
	index       int // in byExpiry
	expires     time.Time
	fingerprint string
	taskID      string
	token       string    // the holder's; "" when nobody holds the key
	leaseEnd    time.Time // when the holder's claim lapses
	// fresh: the record was made by the run holding it, which has sent
	// nothing yet; Forget then deletes it.
	fresh   bool
	outcome *domain.Outcome
}

// New returns an empty store.
func New(cfg Config) (*Store, error) {
	if cfg.TTL <= 0 || cfg.Capacity < 1 {
		return nil, errors.New("memidem: ttl and capacity must be positive")
	}
	return &Store{cfg: cfg, now: time.Now, keys: map[digest]*record{}}, nil
}

// Len is how many keys the store holds, expired ones not yet dropped included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// Begin implements ports.IdempotencyStore.
func (s *Store) Begin(_ context.Context, key string, claim ports.Claim) (ports.Entry, error) {
	if err := claim.Validate(); err != nil {
		return ports.Entry{}, fmt.Errorf("memidem: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	d := digestOf(key)
	r, ok := s.keys[d]
	if !ok {
		if len(s.keys) >= s.cfg.Capacity {
			s.drop(s.byExpiry[0])
		}
		r = &record{
			key: d, expires: now.Add(s.cfg.TTL), fingerprint: claim.Fingerprint, taskID: claim.TaskID,
			token: claim.Token, leaseEnd: now.Add(claim.Lease), fresh: true,
		}
		s.keys[d] = r
		heap.Push(&s.byExpiry, r)
		return ports.Entry{State: ports.Claimed, TaskID: r.taskID, Token: r.token, Expires: r.expires}, nil
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
	// Free, or its holder's lease passed: claim it again, as the same task.
	// A holder that died may have sent the task, so the record is not fresh.
	r.token, r.leaseEnd, r.fresh = claim.Token, now.Add(claim.Lease), false
	return ports.Entry{State: ports.Claimed, TaskID: r.taskID, Token: claim.Token, Expires: r.expires}, nil
}

// Complete implements ports.IdempotencyStore.
func (s *Store) Complete(ctx context.Context, key string, entry ports.Entry, outcome domain.Outcome) error {
	if err := ports.ValidateOutcome(outcome); err != nil {
		return errors.Join(fmt.Errorf("memidem: %w", err), s.Abandon(ctx, key, entry))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(key, entry)
	if r == nil || r.outcome != nil {
		return nil // forgotten meanwhile, or the first outcome is stored already
	}
	outcome.Replayed = false
	r.outcome, r.token = &outcome, ""
	return nil
}

// Abandon implements ports.IdempotencyStore.
func (s *Store) Abandon(_ context.Context, key string, entry ports.Entry) error {
	s.end(key, entry, false)
	return nil
}

// Forget implements ports.IdempotencyStore.
func (s *Store) Forget(_ context.Context, key string, entry ports.Entry) error {
	s.end(key, entry, true)
	return nil
}

// end ends the run holding entry's key, if it still does: a fresh record is
// dropped when forget is set; otherwise the key is freed and keeps its task.
func (s *Store) end(key string, entry ports.Entry, forget bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(key, entry)
	if r == nil || r.outcome != nil || r.token != entry.Token {
		return
	}
	if forget && r.fresh {
		s.drop(r)
		return
	}
	r.token, r.fresh = "", false
}

// live is the unexpired record of entry's task under key, or nil. Call it
// under mu.
func (s *Store) live(key string, entry ports.Entry) *record {
	r, ok := s.keys[digestOf(key)]
	if !ok || !s.now().Before(r.expires) || r.taskID != entry.TaskID {
		return nil
	}
	return r
}

// expire drops the records expired at now: the heap's first ones, so it
// never looks at a record that is still live. Call it under mu.
func (s *Store) expire(now time.Time) {
	for len(s.byExpiry) > 0 && !now.Before(s.byExpiry[0].expires) {
		s.drop(s.byExpiry[0])
	}
}

// drop forgets r. Call it under mu.
func (s *Store) drop(r *record) {
	heap.Remove(&s.byExpiry, r.index)
	delete(s.keys, r.key)
}

func digestOf(key string) digest {
	sum := sha256.Sum256([]byte(key))
	return digest(sum[:16])
}

// expiryHeap orders records by expiry, the earliest first (container/heap).
type expiryHeap []*record

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *expiryHeap) Push(x any) {
	r, _ := x.(*record)
	r.index = len(*h)
	*h = append(*h, r)
}

func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
