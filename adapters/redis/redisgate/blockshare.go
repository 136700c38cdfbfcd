package redisgate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// maxSeen bounds the clients a block-mode instance reports as active per
// sync: beyond it the share counts at least that many anyway.
const maxSeen = 256

// blockShare is how a block-mode instance applies the fair share. Its pool
// serves from local leases while one client is active or nobody is
// refused, at the pool's speed. Once a refusal was seen within the share's
// active window and more than one client is active cluster-wide (every
// instance reports the clients it served at its sync; the count comes
// back), every acquire goes through fair.lua, attributed to its client, and
// the pool's slots go back to Redis as they are released. Clients of a
// class with a rate, a ceiling or the critical reserve always go through
// fair.lua.
//
// The cap is exact either way (every slot is a lease). What is
// approximate, and bounded: the counts lag by one sync interval (clients
// served here since the last sync are passed along with the next fair
// call), and the slots the pool handed out before the switch count against
// their clients from the first fair call on, so for one request's hold at
// most a client keeps what it took at the pool's pace.
type blockShare struct {
	contendedAt atomic.Int64 // unix ns of the last refusal seen; 0: none
	clients     atomic.Int64 // active clients cluster-wide, from the last sync

	mu   sync.Mutex
	seen map[string]bool // active member (weight|client) → reported to Redis already
	held sync.Map        // slot id → hold: slots taken by fair.lua, released straight to Redis
}

// shared reports whether acquires are decided in Redis now.
func (g *BlockGate) shared(now time.Time) bool {
	at := g.fair.contendedAt.Load()
	if at == 0 || now.Sub(time.Unix(0, at)) > g.share.Window() {
		return false
	}
	if g.fair.clients.Load() > 1 {
		return true
	}
	g.fair.mu.Lock()
	defer g.fair.mu.Unlock()
	return len(g.fair.seen) > 1
}

// contended records a refusal seen at now, and switches the pool when more
// than one client is active.
func (g *BlockGate) contended(now time.Time) {
	g.fair.contendedAt.Store(now.UnixNano())
	g.pool.SetShared(g.shared(now))
}

// saw records that this instance served (or refused) who, to report it.
func (g *BlockGate) saw(limits domain.ClassLimits, who domain.Client) {
	m := activeMember(limits.WeightOrOne(), who.Key)
	g.fair.mu.Lock()
	defer g.fair.mu.Unlock()
	if _, ok := g.fair.seen[m]; !ok && len(g.fair.seen) < maxSeen {
		g.fair.seen[m] = false
	}
}

// unreported returns the clients seen and not yet reported, marking them
// reported; at a sync (clear) it also forgets them all, since Redis counts
// them from then on.
func (g *BlockGate) unreported(clear bool) []string {
	g.fair.mu.Lock()
	defer g.fair.mu.Unlock()
	var out []string
	for m, done := range g.fair.seen {
		if !done {
			out = append(out, m)
			g.fair.seen[m] = true
		}
	}
	if clear {
		g.fair.seen = make(map[string]bool)
	}
	return out
}

// direct reports whether an acquire of a client of limits must be decided
// by fair.lua: its class has a limit only Redis can count (those clients
// are marked active by fair.lua itself, as they pass their rate), or the
// gate is shared now.
func (g *BlockGate) direct(limits domain.ClassLimits, now time.Time) bool {
	return limits.Rate > 0 || limits.Ceiling > 0 || limits.Critical || g.shared(now)
}

// acquireFair takes slot id for who by fair.lua, passing the clients and
// pool slots Redis does not know of yet.
func (g *BlockGate) acquireFair(ctx context.Context, id string, who domain.Client, start time.Time) (ports.Slot, error) {
	if _, ok := g.fair.held.Load(id); ok {
		return ports.Slot{ID: id}, nil
	}
	if r, ok := g.memory.Recall(who.Key, start); ok {
		g.metrics.Recalled.Inc()
		return ports.Slot{}, g.fairRefused(r, start)
	}
	mark := g.memory.Mark()
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	reply, refusal, err := g.fairAcquire(callCtx, id, who, claims{clients: g.unreported(false), owned: g.pool.Unowned()})
	cancel()
	g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
	switch {
	case err == nil && reply == replyUndone:
		g.metrics.Acquires[gatemetrics.Error].Inc()
		return ports.Slot{}, fmt.Errorf("redis gate: acquire: slot id %q was undone; a slot id names one attempt and is never reused", id)
	case err != nil && undo.MayHaveRun(err):
		g.undos.Add(id, 0, start)
	case err == nil:
		g.outage.Up()
	}
	switch {
	case err == nil && reply == replyFull:
		now := time.Now()
		if remembered(refusal) {
			g.memory.Remember(who.Key, refusal, now, mark)
		} else {
			g.memory.Forget(who.Key)
		}
		return ports.Slot{}, g.fairRefused(refusal, now)
	case err == nil:
		g.memory.Forget(who.Key)
		g.metrics.Acquires[gatemetrics.OK].Inc()
		if _, loaded := g.fair.held.LoadOrStore(id, inRedis); !loaded {
			g.metrics.InUse.Inc()
		}
		return ports.Slot{ID: id}, nil
	}
	g.memory.Forget(who.Key)
	admit, err := g.acquireFailed(ctx, start, err)
	if !admit {
		return ports.Slot{}, err
	}
	g.pool.HoldWithout(id)
	return ports.Slot{ID: id}, nil
}

// remembered reports whether a refusal by fair.lua is kept for the next
// acquires of its client (refusals.Memory): a full gate, or a rate (only
// time lifts it). A share or ceiling refusal is not: it depends on what the
// client holds, which its requests free on every instance, so remembered
// for a span it kept the client from slots it had just freed elsewhere
// (bench:fair with the slots binding: ~2 points of them idle). A client
// over its share while slots are free asks Redis each time; the server's
// hold on a connection that ignores Retry-After keeps that rate down.
func remembered(r *domain.Refusal) bool {
	return r.Limit == domain.LimitCapacity || r.Limit == domain.LimitRate
}

// fairRefused counts and returns a refusal by fair.lua (heard at now, or
// recalled): a refusal by the capacity or the share marks the gate
// contended; a client's own rate or ceiling does not.
func (g *BlockGate) fairRefused(r *domain.Refusal, now time.Time) error {
	if r.Limit != domain.LimitRate && r.Limit != domain.LimitCeiling {
		g.contended(now)
	}
	return g.refused(r)
}

// releaseFair gives back a slot fair.lua took, and reports whether id was one.
func (g *BlockGate) releaseFair(ctx context.Context, id string) (bool, error) {
	if _, ok := g.fair.held.LoadAndDelete(id); !ok {
		return false, nil
	}
	g.metrics.InUse.Dec()
	g.memory.Freed(1) // before the call: an acquire sent after it is answered after it
	if _, err := g.free(ctx, []string{id}); err != nil {
		return true, fmt.Errorf("redis gate: %w: %w (the lease frees the slot)", domain.ErrUnavailable, err)
	}
	return true, nil
}
