// Package redisgate is the cluster-wide ConcurrencyGate: slots with expiring
// leases in one Redis sorted set, taken and given back by atomic Lua scripts
// through rueidis. Every instance that shares the key shares the capacity.
package redisgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

// maxRetries and retryStep bound how rueidis retries a call that failed on
// the connection (both scripts are idempotent per slot id, so a retry is
// safe): enough to ride out a dropped connection or a failover, not so much
// that every request waits out the whole CommandTimeout while Redis is down.
const (
	maxRetries = 3
	retryStep  = 10 * time.Millisecond // waits 10, 20, 30 ms
)

// Config sets up the gate. Every field is required (MaxFlushDelay and
// FailOpen may be zero, and BlockIdle when BlockSize is 1): the defaults
// live in configs, and New refuses a missing setting rather than guess one.
type Config struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://… (TLS).
	URL string
	// Key is the sorted set of leases. Instances that share a gate share
	// the key; keep a {hash tag} in it for Redis Cluster.
	Key string
	// Capacity is the most slots held at once by all instances together.
	Capacity int
	// Lease bounds how long a slot may be held: longer than the longest
	// request lives (reply timeout plus a margin), so only crashes hit it.
	Lease time.Duration
	// FailOpen admits requests when Redis cannot be asked. The default,
	// fail closed, refuses them with domain.ErrUnavailable.
	FailOpen bool
	// MaxFlushDelay lets rueidis gather concurrent commands into one write
	// (0: flush at once).
	MaxFlushDelay time.Duration
	// DialTimeout bounds a connection attempt.
	DialTimeout time.Duration
	// CommandTimeout bounds each call, so an outage fails fast; required.
	CommandTimeout time.Duration
	// BlockSize is how many slots this instance leases from Redis in one
	// call and hands out locally (block mode); 1 is one acquire and one
	// release per request.
	BlockSize int
	// BlockIdle is how long a leased slot may sit unused here before it goes
	// back to Redis, and the interval of the block mode's sync with Redis
	// (give back, renew, learn the contention). Block mode only.
	BlockIdle time.Duration
	// Logger and Registerer are required; metrics never go to a global registry.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// hold is how this instance holds a slot id.
type hold uint8

const (
	inRedis  hold = iota + 1 // a lease in the sorted set
	failOpen                 // admitted without Redis: nothing to give back
)

// Gate is a ConcurrencyGate on Redis. It is safe for concurrent use.
type Gate struct {
	client           rueidis.Client
	acquire, release *rueidis.Lua
	keys             []string // the gate key and its undone ids (undo.lua)
	capacityArg      string
	leaseArg         string
	failOpen         bool
	timeout          time.Duration
	metrics          *gatemetrics.Metrics
	held             sync.Map              // slot id → hold: the slots taken here and not yet released
	outage           *observability.Outage // logs each Redis outage once at each end
	undos            *undo.Undoer          // gives back what abandoned acquires took
	blocks           *blocks               // block mode; nil: one acquire and one release per request
}

// New connects to Redis, checks that it answers and returns the gate. It
// fails when Redis cannot be reached, whatever FailOpen says.
func New(ctx context.Context, cfg Config) (*Gate, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opt, err := rueidis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis gate: parse url: %w", err)
	}
	opt.DisableCache = true // every instance writes the key: nothing to cache client-side
	opt.MaxFlushDelay = cfg.MaxFlushDelay
	opt.Dialer.Timeout = cfg.DialTimeout
	if opt.ConnWriteTimeout == 0 { // a hung Redis drops the connection after this
		opt.ConnWriteTimeout = cfg.CommandTimeout
	}
	opt.RetryDelay = retryDelay
	if opt.ClientName == "" {
		opt.ClientName = "rps-gate"
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redis gate: connect: %w: %w", domain.ErrUnavailable, err)
	}
	g := &Gate{
		client: client, keys: []string{cfg.Key, undoneKey(cfg.Key)},
		capacityArg: strconv.Itoa(cfg.Capacity),
		leaseArg:    strconv.FormatInt(cfg.Lease.Milliseconds(), 10),
		failOpen:    cfg.FailOpen, timeout: cfg.CommandTimeout,
		outage: observability.NewOutage(cfg.Logger.With("on_redis_error", "fail closed"), "redis gate", "refused"),
	}
	if cfg.FailOpen {
		g.outage = observability.NewOutage(cfg.Logger.With("on_redis_error", "fail open"), "redis gate", "admitted_without_slot")
	}
	scripts := newScripts()
	g.acquire, g.release = scripts.acquire, scripts.release
	if err := g.ping(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if g.metrics, err = gatemetrics.New(cfg.Registerer, cfg.Capacity); err != nil {
		client.Close()
		return nil, err
	}
	g.undos = undo.New(undo.Config{
		Client: client, Script: scripts.undo, Keys: g.keys, Lease: cfg.Lease, LeaseMs: g.leaseArg,
		Timeout: cfg.CommandTimeout, OnDrop: g.metrics.UndosDropped.Inc,
	})
	if cfg.BlockSize > 1 {
		g.blocks = newBlocks(cfg, client, scripts)
		go g.syncLoop()
	}
	onError := "fail closed: a Redis error refuses requests (503)"
	if cfg.FailOpen {
		onError = "fail open: a Redis error admits requests without a slot, and readiness ignores Redis"
	}
	cfg.Logger.Info("redis gate ready", "key", cfg.Key, "capacity", cfg.Capacity,
		"lease", cfg.Lease, "max_flush_delay", cfg.MaxFlushDelay, "block_size", cfg.BlockSize, "block_idle", cfg.BlockIdle,
		"on_redis_error", onError)
	return g, nil
}

// validate refuses a missing or impossible setting with one line naming it.
func (cfg Config) validate() error {
	switch {
	case cfg.URL == "":
		return errors.New("redis gate: url must be set")
	case cfg.Key == "":
		return errors.New("redis gate: key must be set")
	case cfg.Capacity < 1:
		return fmt.Errorf("redis gate: capacity must be at least 1 (got %d)", cfg.Capacity)
	case cfg.Lease < time.Millisecond:
		return fmt.Errorf("redis gate: lease must be at least 1ms (got %s)", cfg.Lease)
	case cfg.CommandTimeout <= 0:
		return fmt.Errorf("redis gate: command timeout must be positive (got %s)", cfg.CommandTimeout)
	case cfg.MaxFlushDelay < 0:
		return fmt.Errorf("redis gate: max flush delay must not be negative (got %s)", cfg.MaxFlushDelay)
	case cfg.DialTimeout <= 0:
		return fmt.Errorf("redis gate: dial timeout must be positive (got %s)", cfg.DialTimeout)
	case cfg.BlockSize < 1:
		return fmt.Errorf("redis gate: block size must be at least 1 (got %d)", cfg.BlockSize)
	case cfg.BlockSize > 1 && (cfg.BlockIdle < time.Millisecond || cfg.BlockIdle > cfg.Lease/4):
		return fmt.Errorf("redis gate: block idle must be between 1ms and a quarter of the lease (got %s)", cfg.BlockIdle)
	case cfg.Logger == nil || cfg.Registerer == nil:
		return errors.New("redis gate: logger and registerer are required")
	}
	return nil
}

// Acquire implements ports.ConcurrencyGate.
func (g *Gate) Acquire(ctx context.Context, id string) (ports.Slot, error) {
	if err := ctx.Err(); err != nil {
		return ports.Slot{}, fmt.Errorf("redis gate: %w", err)
	}
	start := time.Now()
	if g.blocks != nil {
		return g.acquireBlock(ctx, id, start)
	}
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	reply, err := g.acquire.Exec(callCtx, g.client, g.keys, []string{id, g.capacityArg, g.leaseArg}).AsInt64()
	cancel()
	g.metrics.AcquireSeconds.Observe(time.Since(start).Seconds())
	if err == nil && reply == replyUndone { // only a reused id after its undo; never in this service
		err = errors.New("acquire: slot id was undone")
	}
	if err != nil && undo.MayHaveRun(err) {
		// Whatever the reason, the script may have run, or may still run when
		// a stalled Redis resumes: give back what it took, in the background.
		g.undo(id, start)
	}
	if err == nil {
		g.outage.Up()
	}
	switch {
	case err == nil && reply == replyFull:
		g.metrics.Acquires[gatemetrics.AtCapacity].Inc()
		return ports.Slot{}, domain.ErrAtCapacity
	case err == nil:
		g.metrics.Acquires[gatemetrics.OK].Inc()
		if prev, loaded := g.held.Swap(id, inRedis); !loaded || prev != inRedis {
			g.metrics.InUse.Inc()
		}
		return ports.Slot{ID: id}, nil
	default:
		return g.acquireFailed(ctx, id, start, err)
	}
}

// acquireFailed answers an acquire of id whose call to Redis, started at
// start, failed with err.
func (g *Gate) acquireFailed(ctx context.Context, id string, start time.Time, err error) (ports.Slot, error) {
	dl, hasDeadline := ctx.Deadline()
	callerBound := hasDeadline && dl.Before(start.Add(g.timeout)) // the caller's deadline came first
	switch {
	case ctx.Err() != nil || callerBound && errors.Is(err, context.DeadlineExceeded):
		// The caller went away or its deadline passed mid-call (rueidis may
		// notice through the socket's deadline a hair before ctx does); Redis
		// did not fail.
		return ports.Slot{}, fmt.Errorf("redis gate: %w", err)
	case g.failOpen:
		g.metrics.Acquires[gatemetrics.FailOpen].Inc()
		g.outage.Down(start, err, true)
		if g.blocks != nil {
			g.blocks.pool.HoldWithout(id)
		} else {
			g.held.LoadOrStore(id, failOpen) // a slot still leased in Redis stays inRedis
		}
		return ports.Slot{ID: id}, nil
	default:
		g.metrics.Acquires[gatemetrics.Error].Inc()
		g.outage.Down(start, err, true)
		return ports.Slot{}, fmt.Errorf("redis gate: %w: %w", domain.ErrUnavailable, err)
	}
}

// Release implements ports.ConcurrencyGate. Releasing a slot that was
// admitted by failing open does not touch Redis: it holds nothing there.
func (g *Gate) Release(ctx context.Context, slot ports.Slot) error {
	if g.blocks != nil {
		return g.releaseBlock(ctx, slot)
	}
	if h, ok := g.held.LoadAndDelete(slot.ID); ok {
		if h == failOpen {
			return nil
		}
		g.metrics.InUse.Dec()
	}
	start := time.Now()
	callCtx, cancel := context.WithTimeout(ctx, g.timeout)
	err := g.release.Exec(callCtx, g.client, g.keys[:1], []string{slot.ID}).Error()
	cancel()
	g.metrics.ReleaseSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		g.metrics.ReleaseErrors.Inc()
		g.outage.Down(start, err, false)
		return fmt.Errorf("redis gate: %w: %w (the lease frees the slot)", domain.ErrUnavailable, err)
	}
	return nil
}

// Ready implements ports.ConcurrencyGate by pinging Redis. A gate that fails
// open can serve without Redis, so it stays ready when Redis is down (the
// outage is logged): otherwise every instance would leave the load balancer
// at once.
func (g *Gate) Ready(ctx context.Context) error {
	start := time.Now()
	err := g.ping(ctx)
	if err != nil && ctx.Err() == nil {
		g.outage.Down(start, err, false)
	} else if err == nil {
		g.outage.Up()
	}
	if err != nil && g.failOpen {
		return nil
	}
	return err
}

// Close stops the undos and closes the connections. In block mode it first
// gives back every lease this instance holds. Slots still held in per-request
// mode, and undos not yet done, expire with their leases.
func (g *Gate) Close() {
	if g.blocks != nil {
		g.closeBlocks()
	}
	g.undos.Close()
	g.client.Close()
}

func (g *Gate) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	if err := g.client.Do(ctx, g.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("redis gate: ping: %w: %w", domain.ErrUnavailable, err)
	}
	return nil
}

// undo queues the undo of an acquire of id that started at start and
// failed, unless the id is held here already (then its caller owns it).
func (g *Gate) undo(id string, start time.Time) {
	if h, ok := g.held.Load(id); ok && h == inRedis {
		return
	}
	g.undos.Add(id, 0, start)
}

// retryDelay is rueidis's RetryDelayFn: a short linear backoff, then give up.
func retryDelay(attempts int, _ rueidis.Completed, _ error) time.Duration {
	if attempts > maxRetries {
		return -1
	}
	return time.Duration(attempts) * retryStep
}
