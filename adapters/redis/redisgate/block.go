package redisgate

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/leases"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/pool"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// contentionTicks is how many sync intervals a refusal keeps the gate
// marked contended, and an instance counted as active after its last call:
// long enough that a holder syncing every interval never misses either.
const contentionTicks = 5

// blocks is the block-leased mode: this instance leases slots from Redis a
// block at a time (leases.Take), hands them to requests from a local pool
// without a round trip, and syncs with Redis once per interval (leases.Sync)
// to give back what it does not need and renew the rest. A request that
// finds the pool empty makes one take, and is refused at once when Redis
// grants nothing: no request waits for another's slot.
type blocks struct {
	pool       *pool.Pool
	calls      *leases.Calls
	interval   time.Duration
	registered bool // the last sync left this instance in the active set (sync loop only)
	// life ends at Close (stop), which also cuts a sync call short: Close
	// must not wait out a stalled Redis.
	life context.Context
	stop context.CancelFunc
	done chan struct{}
}

func newBlocks(cfg Config, client rueidis.Client, s scripts) *blocks {
	life, stop := context.WithCancel(context.Background())
	return &blocks{
		pool: pool.New(pool.Config{Capacity: cfg.Capacity, BlockSize: cfg.BlockSize, Idle: cfg.BlockIdle, Lease: cfg.Lease}),
		calls: leases.New(leases.Config{
			Client: client, Take: s.take, Sync: s.sync, Key: cfg.Key, Undone: undoneKey(cfg.Key), Instances: siblingKey(cfg.Key, ":instances"),
			ContentionFlag: siblingKey(cfg.Key, ":contended"), Capacity: cfg.Capacity, Lease: cfg.Lease,
			Window: contentionTicks * cfg.BlockIdle,
		}),
		interval: cfg.BlockIdle, life: life, stop: stop, done: make(chan struct{}),
	}
}

// acquireBlock is Acquire in block mode.
func (g *Gate) acquireBlock(ctx context.Context, id string, start time.Time) (ports.Slot, error) {
	b := g.blocks
	if dup, ok := b.pool.Get(id, start); ok {
		if !dup {
			g.metrics.InUse.Inc()
		}
		g.metrics.Acquires[gatemetrics.OK].Inc()
		g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
		return ports.Slot{ID: id}, nil
	}
	want, ticket := b.pool.Want()
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	call, members, st, err := b.calls.Take(callCtx, want)
	cancel()
	g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		b.pool.Failed(ticket)
		if undo.MayHaveRun(err) { // it may still run when a stalled Redis resumes
			g.undos.Add(call, want, start)
		}
		return g.acquireFailed(ctx, id, start, err)
	}
	g.outage.Up()
	held, dup := b.pool.Took(ticket, id, members, start, time.Now(), st.Contended, st.Instances)
	if !held && g.awaitEarlier(ctx, ticket) {
		dup, held = b.pool.Get(id, time.Now())
	}
	if !held {
		g.metrics.Acquires[gatemetrics.AtCapacity].Inc()
		return ports.Slot{}, domain.ErrAtCapacity
	}
	if !dup {
		g.metrics.InUse.Inc()
	}
	g.metrics.Acquires[gatemetrics.OK].Inc()
	return ports.Slot{ID: id}, nil
}

// awaitEarlier waits until the takes issued before ticket are recorded
// (pool.Earlier says why), and reports whether they all were: then the
// pool holds whatever they were granted beyond their own requests. It gives
// up with ctx or after the command timeout.
func (g *Gate) awaitEarlier(ctx context.Context, ticket uint64) bool {
	waits := g.blocks.pool.Earlier(ticket)
	if len(waits) == 0 {
		return true
	}
	timeout := time.NewTimer(g.timeout)
	defer timeout.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return false
		case <-timeout.C:
			return false
		}
	}
	return true
}

// releaseBlock is Release in block mode: the slot goes back to the pool,
// or to Redis at once when the pool says so.
func (g *Gate) releaseBlock(ctx context.Context, slot ports.Slot) error {
	member, held := g.blocks.pool.Put(slot.ID, time.Now())
	if held {
		g.metrics.InUse.Dec()
	}
	if member == "" {
		return nil
	}
	return g.giveBack(ctx, []string{member})
}

// giveBack frees members in Redis in one call. When that fails they are
// handed to the undoer, which retries until Redis answers or their leases
// end, so an outage does not keep them from other instances any longer.
func (g *Gate) giveBack(ctx context.Context, members []string) error {
	start := time.Now()
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	err := g.release.Exec(callCtx, g.client, g.keys[:1], members).Error()
	cancel()
	g.metrics.ReleaseSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		g.metrics.ReleaseErrors.Inc()
		g.outage.Down(start, err, false)
		for _, m := range members {
			g.undos.Add(m, 0, start)
		}
		return fmt.Errorf("redis gate: give back: %w: %w (retried in the background; the lease frees the slots)", domain.ErrUnavailable, err)
	}
	return nil
}

// syncLoop syncs with Redis once per interval until Close.
func (g *Gate) syncLoop() {
	b := g.blocks
	defer close(b.done)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	for {
		select {
		case <-b.life.Done():
			return
		case <-tick.C:
			g.syncBlocks()
		}
	}
}

// syncBlocks gives back the leases the pool does not need, renews the
// others when due (else probes one), and learns the contention, in one
// call. An instance that holds nothing and said so already makes no call.
func (g *Gate) syncBlocks() {
	b := g.blocks
	start := time.Now()
	give, renew, full := b.pool.Sweep(start)
	_, leased := b.pool.Counts()
	g.metrics.Leased.Set(float64(leased))
	if len(give) == 0 && len(renew) == 0 && leased == 0 && !b.registered {
		return
	}
	ctx, cancel := context.WithTimeout(b.life, g.timeout)
	lost, st, err := b.calls.Sync(ctx, leased, give, renew)
	cancel()
	if err != nil {
		g.outage.Down(start, err, false)
		for _, m := range give {
			g.undos.Add(m, 0, start)
		}
		return
	}
	g.outage.Up()
	b.registered = leased > 0
	b.pool.Synced(renew, lost, full, start, st.Contended, st.Instances)
}

// closeBlocks stops the sync loop and gives back every lease this instance
// holds, in one call.
func (g *Gate) closeBlocks() {
	b := g.blocks
	b.stop()
	<-b.done
	if members := b.pool.Drain(); len(members) > 0 {
		_ = g.giveBack(context.Background(), members) // on failure the leases expire
	}
	g.metrics.Leased.Set(0)
}
