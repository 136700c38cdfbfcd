package redisgate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redisgate/internal/metrics"
	"github.com/1000x-rps-server/rps-server/adapters/redisgate/internal/pool"
	"github.com/1000x-rps-server/rps-server/adapters/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// contentionTicks is how many sync intervals a refusal keeps the gate
// marked contended, and an instance counted as active after its last call:
// long enough that a holder syncing every interval never misses either.
const contentionTicks = 5

// blocks is the block-leased mode: this instance leases slots from Redis a
// block at a time (takeScript), hands them to requests from a local pool
// without a round trip, and syncs with Redis once per interval (syncScript)
// to give back what it does not need and renew the rest. A request that
// finds the pool empty makes one take, and is refused at once when Redis
// grants nothing: no request waits for another's slot.
type blocks struct {
	pool       *pool.Pool
	take, sync *rueidis.Lua
	takeKeys   []string // gate key, undone ids, active instances, contention flag
	syncKeys   []string // gate key, active instances, contention flag
	instance   string   // this instance's id in the active set and in its call ids
	calls      atomic.Uint64
	windowArg  string
	interval   time.Duration
	registered bool // the last sync left this instance in the active set (sync loop only)
	stop, done chan struct{}
}

func newBlocks(cfg Config) *blocks {
	b := &blocks{
		pool:     pool.New(pool.Config{Capacity: cfg.Capacity, BlockSize: cfg.BlockSize, Idle: cfg.BlockIdle, Lease: cfg.Lease}),
		takeKeys: []string{cfg.Key, undoneKey(cfg.Key), siblingKey(cfg.Key, ":instances"), siblingKey(cfg.Key, ":contended")},
		instance: uuid.NewString(), windowArg: strconv.FormatInt((contentionTicks * cfg.BlockIdle).Milliseconds(), 10),
		interval: cfg.BlockIdle, stop: make(chan struct{}), done: make(chan struct{}),
	}
	b.syncKeys = []string{b.takeKeys[0], b.takeKeys[2], b.takeKeys[3]}
	b.take, b.sync = newBlockScripts()
	return b
}

// acquireBlock is Acquire in block mode.
func (g *Gate) acquireBlock(ctx context.Context, id string, start time.Time) (ports.Slot, error) {
	b := g.blocks
	if dup, ok := b.pool.Get(id, start); ok {
		if !dup {
			g.metrics.InUse.Inc()
		}
		g.metrics.Acquires[metrics.OK].Inc()
		return ports.Slot{ID: id}, nil
	}
	want, ticket := b.pool.Want()
	call := b.instance + ":" + strconv.FormatUint(b.calls.Add(1), 36)
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	reply, err := b.take.Exec(callCtx, g.client, b.takeKeys,
		[]string{call, strconv.Itoa(want), g.capacityArg, g.leaseArg, b.instance, b.windowArg}).AsIntSlice()
	cancel()
	g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
	if err == nil && (len(reply) != 3 || reply[0] < 0) { // an undone call id: never in this service
		err = fmt.Errorf("take: unexpected reply %v", reply)
	}
	if err != nil {
		b.pool.Failed(ticket)
		if undo.MayHaveRun(err) { // it may still run when a stalled Redis resumes
			g.undos.Add(call, want, start)
		}
		return g.acquireFailed(ctx, id, start, err)
	}
	g.outage.Up()
	members := make([]string, reply[0])
	for i := range members {
		members[i] = call + ":" + strconv.Itoa(i+1)
	}
	held, dup := b.pool.Took(ticket, id, members, start, time.Now(), reply[1] == 1, int(reply[2]))
	if !held && g.awaitEarlier(ctx, ticket) {
		dup, held = b.pool.Get(id, time.Now())
	}
	if !held {
		g.metrics.Acquires[metrics.AtCapacity].Inc()
		return ports.Slot{}, domain.ErrAtCapacity
	}
	if !dup {
		g.metrics.InUse.Inc()
	}
	g.metrics.Acquires[metrics.OK].Inc()
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
		case <-b.stop:
			return
		case <-tick.C:
			g.syncBlocks()
		}
	}
}

// syncBlocks gives back the leases the pool does not need, renews the
// others when due (else probes one), and learns the contention, in one call. An instance that
// holds nothing and said so already makes no call.
func (g *Gate) syncBlocks() {
	b := g.blocks
	start := time.Now()
	give, renew, full := b.pool.Sweep(start)
	_, leased := b.pool.Counts()
	g.metrics.Leased.Set(float64(leased))
	if len(give) == 0 && len(renew) == 0 && leased == 0 && !b.registered {
		return
	}
	args := make([]string, 0, 5+len(give)+len(renew))
	args = append(args, g.leaseArg, b.instance, b.windowArg, strconv.Itoa(leased), strconv.Itoa(len(give)))
	args = append(append(args, give...), renew...)
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	go func() { // Close must not wait out a stalled Redis
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	reply, err := b.sync.Exec(ctx, g.client, b.syncKeys, args).ToArray()
	cancel()
	if err == nil && len(reply) < 2 {
		err = fmt.Errorf("sync: unexpected reply of %d values", len(reply))
	}
	if err != nil {
		g.outage.Down(start, err, false)
		for _, m := range give {
			g.undos.Add(m, 0, start)
		}
		return
	}
	g.outage.Up()
	contended, errC := reply[0].AsInt64()
	instances, errI := reply[1].AsInt64()
	lost := make([]string, 0, len(reply)-2)
	for _, m := range reply[2:] {
		if s, err := m.ToString(); err == nil {
			lost = append(lost, s)
		}
	}
	if err := errors.Join(errC, errI); err != nil {
		return
	}
	b.registered = leased > 0
	b.pool.Synced(renew, lost, full, start, contended == 1, int(instances))
}

// closeBlocks stops the sync loop and gives back every lease this instance
// holds, in one call.
func (g *Gate) closeBlocks() {
	b := g.blocks
	close(b.stop)
	<-b.done
	if members := b.pool.Drain(); len(members) > 0 {
		_ = g.giveBack(context.Background(), members) // on failure the leases expire
	}
	g.metrics.Leased.Set(0)
}
