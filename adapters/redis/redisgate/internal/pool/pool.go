// Package pool is the local half of the block-leased gate: the slots one
// instance has leased from Redis, which requests hold them, and which are
// free to hand out without a round trip. It decides what to give back and
// when; it never talks to Redis itself, so it is tested without one.
package pool

import (
	"sync"
	"time"
)

// Config sets up a pool.
type Config struct {
	// Capacity is the gate's cluster-wide capacity: the ceiling of a block
	// and the base of the fair share under contention.
	Capacity int
	// BlockSize is how many slots one take asks Redis for.
	BlockSize int
	// Idle is how long a free slot may sit unused before it goes back.
	Idle time.Duration
	// Lease is how long a lease lasts from its take or renewal.
	Lease time.Duration
	// Hold is the least lease a slot must have left to be handed out: the
	// longest a request holds a slot, and the allowance for the drift
	// between the local clock and Redis's. So a request always ends before
	// its lease does, also when this instance is cut off from Redis and can
	// renew nothing. The leases are renewed every half of what the lease
	// leaves beyond Hold (every quarter lease at most), so while Redis
	// answers they stay long enough to hand out.
	Hold time.Duration
}

// slot is one lease in Redis: its member in the gate's sorted set.
type slot struct {
	member string
	// expires is when the lease ends by the local clock, counted from the
	// start of the call that set it: never later than Redis ends it (but for
	// the drift). Only an answered take or renewal sets it.
	expires time.Time
	freed   time.Time // when it last went back to the free list
	lost    bool      // Redis no longer has it: dropped when released
	// client is who holds it (fair share on), as the share knows it
	// (weight|client); owned: Redis counts it against that client, so it
	// goes back to Redis when released.
	client string
	owned  bool
}

// Pool is safe for concurrent use. Its lock is held only for map and slice
// operations, never across a call to Redis.
type Pool struct {
	cfg Config

	mu        sync.Mutex
	free      []*slot                  // LIFO: the slots freed last are reused first, the rest idle out
	stale     []*slot                  // found short of lease by Get: the next sweep gives them back
	held      map[string]*slot         // request id → its slot; nil: admitted without one (fail open)
	leased    map[string]*slot         // member → slot: every lease this instance holds, free or held
	taking    map[uint64]chan struct{} // takes in flight by ticket, each closed when answered
	tickets   uint64
	contended bool      // a take was refused lately, by any instance (from Redis's last answer)
	shared    bool      // the fair share decides each acquire in Redis: nothing stays here
	unowned   bool      // shared, and some held slots are not yet counted against their clients
	instances int       // instances active lately (from Redis's last answer), at least 1
	renewed   time.Time // start of the last renewal that succeeded
}

// New returns an empty pool.
func New(cfg Config) *Pool {
	return &Pool{
		cfg: cfg, held: map[string]*slot{}, leased: map[string]*slot{}, taking: map[uint64]chan struct{}{},
		instances: 1, renewed: time.Now(),
	}
}

// Get hands request id a slot: the one it holds already (dup true), or a
// free one. ok false: nothing is free here, ask Redis.
func (p *Pool) Get(id string, now time.Time) (dup, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, held := p.held[id]; held {
		return true, true
	}
	for n := len(p.free); n > 0; n = len(p.free) {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		switch {
		case s.lost: // Redis no longer has it
		case p.fresh(s, now):
			p.held[id] = s
			return false, true
		default:
			p.stale = append(p.stale, s)
		}
	}
	return false, false
}

// Want is how many slots the next take should ask for: a block when no
// other take is in flight and this instance is within its fair share, else
// one, so that a burst of requests finding the pool empty at once does not
// take capacity.BlockSize times over. The ticket names the take: the caller
// must pass it to Took or Failed.
func (p *Pool) Want() (n int, ticket uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickets++
	ticket = p.tickets
	p.taking[ticket] = make(chan struct{})
	if len(p.taking) > 1 || p.othersRefused() && len(p.leased) >= p.share() {
		return 1, ticket
	}
	return min(p.cfg.BlockSize, p.cfg.Capacity), ticket
}

// Took records the take of ticket that started at start and leased
// members; the first goes to request id unless id already holds one (a
// concurrent acquire of the same id), the rest are free. It reports whether
// id holds a slot, and whether it held one before.
func (p *Pool) Took(ticket uint64, id string, members []string, start, now time.Time, contended bool, instances int) (held, dup bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answered(ticket)
	p.learn(contended, instances)
	_, dup = p.held[id]
	for i, m := range members {
		s := &slot{member: m, expires: start.Add(p.cfg.Lease), freed: now}
		p.leased[m] = s
		switch {
		case !p.fresh(s, now): // the take was so slow that its leases are already short
			p.stale = append(p.stale, s)
		case i == 0 && !dup:
			p.held[id] = s
		default:
			p.free = append(p.free, s)
		}
	}
	_, held = p.held[id]
	return held, dup
}

// Failed records that the take of ticket did not answer.
func (p *Pool) Failed(ticket uint64) {
	p.mu.Lock()
	p.answered(ticket)
	p.mu.Unlock()
}

// Earlier returns the takes issued before ticket and not yet recorded,
// each a channel closed once it is. A request refused by Redis waits for
// them before looking at the pool once more: a block granted just before
// its refusal (the same key goes down the same connection, so its answer
// came first) must not sit idle while the request is turned away. That is
// a wait for answers already on their way, never for a slot to be released.
func (p *Pool) Earlier(ticket uint64) []<-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	var waits []<-chan struct{}
	for t, done := range p.taking {
		if t < ticket {
			waits = append(waits, done)
		}
	}
	return waits
}

func (p *Pool) answered(ticket uint64) {
	if done, ok := p.taking[ticket]; ok {
		close(done)
		delete(p.taking, ticket)
	}
}

// HoldWithout admits request id without a slot (fail open), unless it holds one.
func (p *Pool) HoldWithout(id string) {
	p.mu.Lock()
	if _, ok := p.held[id]; !ok {
		p.held[id] = nil
	}
	p.mu.Unlock()
}

// Put takes request id's slot back. It returns the member to give back to
// Redis at once, or "" when the slot stays here (or there was none): a slot
// goes back when its lease is too short to hand out again, or when another
// instance is refused while this one holds more than its fair share.
// held reports whether id held a slot in Redis.
func (p *Pool) Put(id string, now time.Time) (giveBack string, held bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.held[id]
	delete(p.held, id)
	if !ok || s == nil {
		return "", false
	}
	if s.lost {
		return "", true
	}
	if !p.fresh(s, now) || p.shared || s.owned || p.othersRefused() && len(p.leased) > p.share() {
		p.drop(s)
		return s.member, true
	}
	s.freed = now
	p.free = append(p.free, s)
	return "", true
}

// Sweep picks, for one sync with Redis, the free slots to give back (idle
// longer than Idle, short of lease, or all of them while another instance
// is refused), and the leases to renew: all of them when a renewal is due
// (full), else one as a probe, so that a Redis that restarted empty is
// noticed within a sync, not a renewal interval. It removes the given-back
// slots from the pool.
func (p *Pool) Sweep(now time.Time) (giveBack, renew []string, full bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.stale {
		if !s.lost {
			delete(p.leased, s.member)
			giveBack = append(giveBack, s.member)
		}
	}
	clear(p.stale)
	p.stale = p.stale[:0]
	keep := p.free[:0]
	for _, s := range p.free {
		if s.lost {
			continue
		}
		if p.othersRefused() || p.shared || now.Sub(s.freed) >= p.cfg.Idle || !p.fresh(s, now) {
			delete(p.leased, s.member)
			giveBack = append(giveBack, s.member)
			continue
		}
		keep = append(keep, s)
	}
	clear(p.free[len(keep):])
	p.free = keep
	full = now.Sub(p.renewed) >= p.renewEvery()
	for m := range p.leased {
		renew = append(renew, m)
		if !full {
			break
		}
	}
	return giveBack, renew, full
}

// Synced records Redis's answer to a sync that started at start: the leases
// renewed (all of renew but lost; full as Sweep said), and the contention
// it reported. A probe found lost makes the next sync a full renewal, which
// finds every lease Redis no longer has.
func (p *Pool) Synced(renew, lost []string, full bool, start time.Time, contended bool, instances int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.learn(contended, instances)
	for _, m := range lost {
		if s, ok := p.leased[m]; ok {
			s.lost = true
			p.drop(s)
		}
	}
	switch {
	case full:
		p.renewed = start
	case len(lost) > 0:
		p.renewed = time.Time{}
	}
	for _, m := range renew {
		if s, ok := p.leased[m]; ok && !s.lost {
			s.expires = start.Add(p.cfg.Lease)
		}
	}
}

// Drain empties the pool for Close and returns every lease it held, free
// or held by a request.
func (p *Pool) Drain() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := make([]string, 0, len(p.leased))
	for m := range p.leased {
		members = append(members, m)
	}
	clear(p.leased)
	clear(p.held)
	p.free, p.stale = nil, nil
	return members
}

// Counts returns how many requests hold a slot (fail-open ones included)
// and how many leases this instance holds in Redis.
func (p *Pool) Counts() (inUse, leased int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held), len(p.leased)
}

// fresh reports whether s has enough lease left to be handed out: at
// least Hold.
func (p *Pool) fresh(s *slot, now time.Time) bool {
	return s.expires.Sub(now) >= p.cfg.Hold
}

// renewEvery is how often every lease is renewed: half of what the lease
// leaves beyond Hold, so that a renewal that comes a sync late, or takes a
// while, still finds the leases fresh; every quarter lease at most.
func (p *Pool) renewEvery() time.Duration {
	return min(p.cfg.Lease/4, (p.cfg.Lease-p.cfg.Hold)/2)
}

// drop forgets s's lease here: it was given back, or Redis lost it.
func (p *Pool) drop(s *slot) {
	delete(p.leased, s.member)
}

// share is this instance's fair share of the capacity among the instances
// active lately, rounded up (the sum may exceed the capacity: it is only the
// point above which an instance gives back under contention).
func (p *Pool) share() int {
	return (p.cfg.Capacity + p.instances - 1) / p.instances
}

// othersRefused reports whether a request was refused lately while other
// instances share the gate: alone, an instance keeps what it has.
func (p *Pool) othersRefused() bool {
	return p.contended && p.instances > 1
}

func (p *Pool) learn(contended bool, instances int) {
	p.contended, p.instances = contended, max(instances, 1)
}
