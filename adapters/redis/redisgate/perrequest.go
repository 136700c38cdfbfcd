package redisgate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// hold is how this instance holds a slot id.
type hold uint8

const (
	inRedis  hold = iota + 1 // a lease in the sorted set
	failOpen                 // admitted without Redis: nothing to give back
)

// PerRequestGate is the gate with one Redis call per acquire (acquire.lua)
// and one per release (release.lua): the slot id is the member in Redis. It
// is safe for concurrent use.
type PerRequestGate struct {
	*core
	held sync.Map // slot id → hold: the slots taken here and not yet released
}

// NewPerRequestGate returns the per-request gate on client, which the caller
// closes after the gate, once it checked that Redis answers. It fails when
// Redis cannot be reached, whatever FailOpen says.
func NewPerRequestGate(ctx context.Context, client rueidis.Client, cfg Config) (*PerRequestGate, error) {
	c, err := newCore(ctx, client, cfg)
	if err != nil {
		return nil, err
	}
	c.logReady(cfg, "per request")
	return &PerRequestGate{core: c}, nil
}

// Acquire implements ports.ConcurrencyGate: acquire.lua without a share
// policy, fair.lua with one (a refusal is then a *domain.Refusal).
func (g *PerRequestGate) Acquire(ctx context.Context, id string, who domain.Client) (ports.Slot, error) {
	if err := ctx.Err(); err != nil {
		return ports.Slot{}, fmt.Errorf("redis gate: %w", err)
	}
	start := time.Now()
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	var reply int64
	var refusal *domain.Refusal
	var err error
	if g.share.Enabled {
		reply, refusal, err = g.fairAcquire(callCtx, id, who, claims{})
	} else {
		reply, err = g.scripts.acquire.Exec(callCtx, g.client, g.keys[:2], []string{id, g.capacityArg, g.leaseArg}).AsInt64()
	}
	cancel()
	g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
	if err == nil && reply == replyUndone {
		// Nothing was taken, so there is nothing to undo: the id's acquire
		// was abandoned and undone before, and ids are per attempt.
		g.metrics.Acquires[gatemetrics.Error].Inc()
		return ports.Slot{}, fmt.Errorf("redis gate: acquire: slot id %q was undone; a slot id names one attempt and is never reused", id)
	}
	if err != nil && undo.MayHaveRun(err) {
		// Whatever the reason, the script may have run, or may still run when
		// a stalled Redis resumes: give back what it took, in the background.
		g.undoAcquire(id, start)
	}
	if err == nil {
		g.outage.Up()
	}
	switch {
	case err == nil && reply == replyFull:
		return ports.Slot{}, g.refused(refusal)
	case err == nil:
		g.metrics.Acquires[gatemetrics.OK].Inc()
		if prev, loaded := g.held.Swap(id, inRedis); !loaded || prev != inRedis {
			g.metrics.InUse.Inc()
		}
		return ports.Slot{ID: id}, nil
	}
	admit, err := g.acquireFailed(ctx, start, err)
	if !admit {
		return ports.Slot{}, err
	}
	g.held.LoadOrStore(id, failOpen) // a slot still leased in Redis stays inRedis
	return ports.Slot{ID: id}, nil
}

// Release implements ports.ConcurrencyGate. Releasing a slot that was
// admitted by failing open does not touch Redis: it holds nothing there.
func (g *PerRequestGate) Release(ctx context.Context, slot ports.Slot) error {
	if h, ok := g.held.LoadAndDelete(slot.ID); ok {
		if h == failOpen {
			return nil
		}
		g.metrics.InUse.Dec()
	}
	if _, err := g.free(ctx, []string{slot.ID}); err != nil {
		return fmt.Errorf("redis gate: %w: %w (the lease frees the slot)", domain.ErrUnavailable, err)
	}
	return nil
}

// Close stops the undos. Slots still held, and undos not yet done, expire
// with their leases. The client is the caller's to close, after this.
func (g *PerRequestGate) Close() { g.undos.Close() }

// undoAcquire queues the undo of an acquire of id that started at start and
// failed, unless the id is held here already (then its caller owns it).
func (g *PerRequestGate) undoAcquire(id string, start time.Time) {
	if h, ok := g.held.Load(id); ok && h == inRedis {
		return
	}
	g.undos.Add(id, 0, start)
}
