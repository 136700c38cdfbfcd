package redisgate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/leases"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/pool"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/refusals"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// contentionTicks is how many sync intervals a refusal keeps the gate
// marked contended, and an instance counted as active after its last call:
// long enough that a holder syncing every interval never misses either.
const contentionTicks = 5

// BlockConfig sets up a BlockGate: the gate's settings and the block's.
type BlockConfig struct {
	Config
	// Size is how many slots this instance leases from Redis in one call
	// and hands out locally: at least 2 (one slot per call is the
	// PerRequestGate).
	Size int
	// Idle is how long a leased slot may sit unused here before it goes
	// back to Redis, and the interval of the sync with Redis (give back,
	// renew, learn the contention): 1ms to a quarter of the lease, and of
	// what the lease leaves beyond the hold (ValidateTiming).
	Idle time.Duration
}

func (cfg BlockConfig) validate() error {
	if err := cfg.Config.validate(); err != nil {
		return err
	}
	if cfg.Size < 2 {
		return fmt.Errorf("redis gate: block size must be at least 2; 1 is the per-request gate (got %d)", cfg.Size)
	}
	if err := ValidateTiming(Timing{Lease: cfg.Lease, Hold: cfg.Hold, BlockSize: cfg.Size, BlockIdle: cfg.Idle}); err != nil {
		return fmt.Errorf("redis gate: %w", err)
	}
	return nil
}

// BlockGate is the block-leased gate: this instance leases slots from Redis
// a block at a time (take.lua), hands them to requests from a local pool
// without a round trip, and syncs with Redis once per interval (sync.lua)
// to give back what it does not need and renew the rest. A request that
// finds the pool empty makes one take, and is refused at once when Redis
// grants nothing: no request waits for another's slot. It is safe for
// concurrent use.
type BlockGate struct {
	*core
	pool       *pool.Pool
	calls      *leases.Calls
	interval   time.Duration
	registered bool // the last sync left this instance in the active set (sync loop only)
	fair       blockShare
	// memory answers acquires like the refusal Redis gave a moment ago
	// without asking again, so a flood of refusals costs Redis nothing.
	memory *refusals.Memory
	// life ends at Close (stop), which also cuts a sync call short: Close
	// must not wait out a stalled Redis.
	life context.Context
	stop context.CancelFunc
	done chan struct{}
}

// NewBlockGate returns the block-leased gate on client, which the caller
// closes after the gate, once it checked that Redis answers, and starts its
// sync loop (Close stops it). It fails when Redis cannot be reached,
// whatever FailOpen says.
func NewBlockGate(ctx context.Context, client rueidis.Client, cfg BlockConfig) (*BlockGate, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c, err := newCore(ctx, client, cfg.Config)
	if err != nil {
		return nil, err
	}
	reserve := 0 // the pool's takes never reach into the critical reserve: critical clients take it by fair.lua
	if cfg.Share.Enabled {
		reserve = cfg.Share.CriticalReserve
	}
	life, stop := context.WithCancel(context.Background())
	g := &BlockGate{
		core: c,
		pool: pool.New(pool.Config{
			Capacity: cfg.Capacity, BlockSize: cfg.Size, Idle: cfg.Idle, Lease: cfg.Lease,
			Hold: cfg.Hold + DriftAllowance(cfg.Lease),
		}),
		calls: leases.New(leases.Config{
			Client: client, Take: c.scripts.take, Sync: c.scripts.sync,
			Key: cfg.Key, Undone: undoneKey(cfg.Key), Instances: siblingKey(cfg.Key, ":instances"),
			ContentionFlag: c.flagKey, Share: shareKey(cfg.Key), Levels: levelsKey(cfg.Key), Active: c.activeKey, Weight: weightKey(cfg.Key),
			Capacity: cfg.Capacity - reserve, Lease: cfg.Lease,
			Window: contentionTicks * cfg.Idle, ClientWindow: cfg.Share.Window(),
		}),
		interval: cfg.Idle, life: life, stop: stop, done: make(chan struct{}),
		fair:   blockShare{seen: map[string]bool{}},
		memory: refusals.New(cfg.Idle),
	}
	c.flagWindowArg = strconv.FormatInt((contentionTicks * cfg.Idle).Milliseconds(), 10)
	go g.syncLoop()
	c.logReady(cfg.Config, "blocks", "block_size", cfg.Size, "block_idle", cfg.Idle)
	return g, nil
}

// Acquire implements ports.ConcurrencyGate: from the pool when it has a
// slot, else with one take from Redis; by fair.lua when the fair share
// needs Redis to decide (blockShare says when). While Redis has just
// refused the same kind of acquire (within a sync interval, and no slot was
// freed here since), the acquire is refused without a call (memory).
func (g *BlockGate) Acquire(ctx context.Context, id string, who domain.Client) (ports.Slot, error) {
	if err := ctx.Err(); err != nil {
		return ports.Slot{}, fmt.Errorf("redis gate: %w", err)
	}
	start := time.Now()
	if g.share.Enabled {
		limits := g.share.LimitsOf(who.ClassOf())
		if g.direct(limits, start) && !g.pool.Holds(id) {
			return g.acquireFair(ctx, id, who, start)
		}
		g.saw(limits, who)
		defer g.pool.Claim(id, activeMember(limits.WeightOrOne(), who.Key))
	}
	if dup, ok := g.pool.Get(id, start); ok {
		if !dup {
			g.metrics.InUse.Inc()
		}
		g.metrics.Acquires[gatemetrics.OK].Inc()
		g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
		return ports.Slot{ID: id}, nil
	}
	if g.memory.RecallFull(start) {
		g.metrics.Recalled.Inc()
		return ports.Slot{}, g.full(start)
	}
	want, ticket := g.pool.Want()
	mark := g.memory.Mark()
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	call, members, st, err := g.calls.Take(callCtx, want)
	cancel()
	g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		g.pool.Failed(ticket)
		g.memory.ForgetFull()
		if undo.MayHaveRun(err) { // it may still run when a stalled Redis resumes
			g.undos.Add(call, want, start)
		}
		admit, err := g.acquireFailed(ctx, start, err)
		if !admit {
			return ports.Slot{}, err
		}
		g.pool.HoldWithout(id)
		return ports.Slot{ID: id}, nil
	}
	g.outage.Up()
	held, dup := g.pool.Took(ticket, id, members, start, time.Now(), st.Contended, st.Instances)
	if !held && g.awaitEarlier(ctx, ticket) {
		dup, held = g.pool.Get(id, time.Now())
	}
	if len(members) > 0 {
		g.memory.ForgetFull()
	}
	if !held {
		now := time.Now()
		if len(members) == 0 {
			g.memory.RememberFull(now, mark)
		}
		return ports.Slot{}, g.full(now)
	}
	if st.Contended && g.share.Enabled {
		g.contended(time.Now())
	}
	if !dup {
		g.metrics.InUse.Inc()
	}
	g.metrics.Acquires[gatemetrics.OK].Inc()
	return ports.Slot{ID: id}, nil
}

// full counts and returns the refusal of a take Redis granted nothing (or
// would not, as it just said), which marks the gate contended for the share.
func (g *BlockGate) full(now time.Time) error {
	if !g.share.Enabled {
		return g.refused(nil)
	}
	g.contended(now)
	return g.refused(&domain.Refusal{Limit: domain.LimitCapacity, Quota: domain.Quota{Limit: g.poolCapacity()}})
}

// awaitEarlier waits until the takes issued before ticket are recorded
// (pool.Earlier says why), and reports whether they all were: then the
// pool holds whatever they were granted beyond their own requests. It gives
// up with ctx or after the command timeout.
func (g *BlockGate) awaitEarlier(ctx context.Context, ticket uint64) bool {
	waits := g.pool.Earlier(ticket)
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

// Release implements ports.ConcurrencyGate: the slot goes back to the pool,
// or to Redis at once when the pool says so. A slot admitted by failing
// open goes nowhere: it holds nothing in Redis.
func (g *BlockGate) Release(ctx context.Context, slot ports.Slot) error {
	if fair, err := g.releaseFair(ctx, slot.ID); fair {
		return err
	}
	member, held := g.pool.Put(slot.ID, time.Now())
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
func (g *BlockGate) giveBack(ctx context.Context, members []string) error {
	g.memory.Freed(len(members)) // before the call: an acquire sent after it is answered after it
	start, err := g.free(ctx, members)
	if err != nil {
		for _, m := range members {
			g.undos.Add(m, 0, start)
		}
		return fmt.Errorf("redis gate: give back: %w: %w (retried in the background; the lease frees the slots)", domain.ErrUnavailable, err)
	}
	return nil
}

// syncLoop syncs with Redis once per interval until Close.
func (g *BlockGate) syncLoop() {
	defer close(g.done)
	tick := time.NewTicker(g.interval)
	defer tick.Stop()
	for {
		select {
		case <-g.life.Done():
			return
		case <-tick.C:
			g.sync()
		}
	}
}

// sync gives back the leases the pool does not need, renews the others
// when due (else probes one), and learns the contention, in one call. An
// instance that holds nothing and said so already makes no call.
func (g *BlockGate) sync() {
	start := time.Now()
	g.memory.Prune(start)
	give, renew, full := g.pool.Sweep(start)
	_, leased := g.pool.Counts()
	g.metrics.Leased.Set(float64(leased))
	var clients []string
	if g.share.Enabled {
		clients = g.unreported(true)
	}
	if len(give) == 0 && len(renew) == 0 && len(clients) == 0 && leased == 0 && !g.registered {
		return
	}
	g.memory.Freed(len(give))
	ctx, cancel := context.WithTimeout(g.life, g.timeout)
	lost, st, err := g.calls.Sync(ctx, leased, give, clients, renew)
	cancel()
	if err != nil {
		g.outage.Down(start, err, false)
		for _, m := range give {
			g.undos.Add(m, 0, start)
		}
		return
	}
	g.outage.Up()
	g.registered = leased > 0
	g.pool.Synced(renew, lost, full, start, st.Contended, st.Instances)
	if g.share.Enabled {
		g.fair.clients.Store(int64(st.Clients))
		if st.Contended {
			g.fair.contendedAt.Store(start.UnixNano())
		}
		g.pool.SetShared(g.shared(time.Now()))
	}
}

// poolCapacity is what the pool's takes may reach: all but the critical
// reserve.
func (g *BlockGate) poolCapacity() int {
	return g.capacity - g.share.CriticalReserve
}

// Close stops the sync loop, gives back every lease this instance holds in
// one call, and stops the undos (those not yet done expire with their
// leases). The client is the caller's to close, after this.
func (g *BlockGate) Close() {
	g.stop()
	<-g.done
	members := g.pool.Drain()
	g.fair.held.Range(func(id, _ any) bool {
		members = append(members, id.(string)) //nolint:forcetypeassert // only string ids are stored
		g.fair.held.Delete(id)
		return true
	})
	if len(members) > 0 {
		_ = g.giveBack(context.Background(), members) // on failure the leases expire
	}
	g.metrics.Leased.Set(0)
	g.undos.Close()
}
