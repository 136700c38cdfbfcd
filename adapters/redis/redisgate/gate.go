// Package redisgate is the cluster-wide ConcurrencyGate: slots with expiring
// leases in one Redis sorted set, taken and given back by atomic Lua scripts
// (scripts.go) through rueidis. Every instance that shares the key shares the
// capacity. It comes in two modes, two types chosen once at wiring:
// PerRequestGate makes one Redis call per acquire and per release;
// BlockGate leases slots a block at a time and hands them out locally. Both
// share the scripts, the metrics, the outage log and the undo of calls
// abandoned in a stall (core).
//
// With a share policy (Config.Share) the gate also shares the capacity
// between clients, cluster-wide: fair.lua applies domain.SharePolicy.Admit
// (and the class's rate, GCRA) over counts kept beside the leases under the
// same hash tag: a hash of each slot's client and each client's count, a
// sorted set of the clients active lately and the sum of their weights, and
// a rate key per client. Every script that frees or prunes a slot keeps the
// counts, so a crashed holder stops counting when its leases end. Per
// request it is still one call to acquire and one to release: fair.lua runs
// about 17 commands (acquire.lua 7), each O(1) or O(log n), their count
// independent of the number of clients; leases and clients that ended are
// pruned once each, amortized. Block mode keeps the pool's speed while one
// client is active or nobody is refused, and decides each acquire by
// fair.lua once both change (blockShare). docs/fair-share-algorithm.md says
// why the rule is what it is.
package redisgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/undo"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Config sets up a gate of either mode. Every field is required (FailOpen
// may be false): the defaults live in configs, and the constructors refuse a
// missing setting rather than guess one.
type Config struct {
	// Key is the sorted set of leases. Instances that share a gate share
	// the key; keep a {hash tag} in it for Redis Cluster.
	Key string
	// Capacity is the most slots held at once by all instances together.
	Capacity int
	// Lease bounds how long a slot may be held: longer than the longest
	// request lives (reply timeout plus a margin), so only crashes hit it.
	Lease time.Duration
	// Hold is the longest a request holds its slot, from the acquire's
	// return to the end of its release (the reply timeout plus the release
	// timeout). The lease must cover it (ValidateTiming); a block-mode
	// instance hands a leased slot out only while the lease left covers it.
	Hold time.Duration
	// FailOpen admits requests when Redis cannot be asked. The default,
	// fail closed, refuses them with domain.ErrUnavailable.
	FailOpen bool
	// CommandTimeout bounds each call, so an outage fails fast.
	CommandTimeout time.Duration
	// Share is how the capacity is shared between clients (fair.lua); the
	// zero policy caps the total alone, as acquire.lua does.
	Share domain.SharePolicy
	// Logger and Registerer are required; metrics never go to a global registry.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// validate refuses a missing or impossible setting with one line naming it.
func (cfg Config) validate() error {
	switch {
	case cfg.Key == "":
		return errors.New("redis gate: key must be set")
	case cfg.Capacity < 1:
		return fmt.Errorf("redis gate: capacity must be at least 1 (got %d)", cfg.Capacity)
	case cfg.Lease < time.Millisecond:
		return fmt.Errorf("redis gate: lease must be at least 1ms (got %s)", cfg.Lease)
	case cfg.CommandTimeout <= 0:
		return fmt.Errorf("redis gate: command timeout must be positive (got %s)", cfg.CommandTimeout)
	case cfg.Logger == nil || cfg.Registerer == nil:
		return errors.New("redis gate: logger and registerer are required")
	}
	if err := ValidateTiming(Timing{Lease: cfg.Lease, Hold: cfg.Hold, BlockSize: 1}); err != nil {
		return fmt.Errorf("redis gate: %w", err)
	}
	if err := cfg.Share.Validate(cfg.Capacity); err != nil {
		return fmt.Errorf("redis gate: %w", err)
	}
	return nil
}

// core is what both modes share: the client (the caller's), the scripts and
// their keys, the metrics, the outage log and the undoer. Ready is the
// same in both modes.
type core struct {
	client      rueidis.Client
	scripts     scripts
	keys        []string // the gate key, its undone ids, the share hash and its levels (undo.lua)
	releaseKeys []string // the gate key, the share hash and its levels (release.lua)
	capacity    int
	capacityArg string
	leaseArg    string
	// The fair share (fair.lua): the policy, its arguments and keys.
	share                              domain.SharePolicy
	headroomArg, reserveArg, windowArg string
	flagWindowArg                      string // block mode: how long a refusal marks the gate contended; "0" per request
	activeKey, flagKey                 string
	failOpen                           bool
	timeout                            time.Duration
	metrics                            *gatemetrics.Metrics
	outage                             *observability.Outage // logs each Redis outage once at each end
	undos                              *undo.Undoer          // gives back what abandoned calls took
}

// newCore checks cfg and that Redis answers on client, registers the
// metrics and starts the undoer (the caller's to close).
func newCore(ctx context.Context, client rueidis.Client, cfg Config) (*core, error) {
	if client == nil {
		return nil, errors.New("redis gate: client must be set")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &core{
		client: client, scripts: newScripts(), keys: []string{cfg.Key, undoneKey(cfg.Key), shareKey(cfg.Key), levelsKey(cfg.Key)},
		releaseKeys: []string{cfg.Key, shareKey(cfg.Key), levelsKey(cfg.Key)},
		capacity:    cfg.Capacity, capacityArg: strconv.Itoa(cfg.Capacity),
		leaseArg: strconv.FormatInt(cfg.Lease.Milliseconds(), 10),
		share:    cfg.Share, headroomArg: strconv.Itoa(cfg.Share.Headroom), reserveArg: strconv.Itoa(cfg.Share.CriticalReserve),
		windowArg: strconv.FormatInt(cfg.Share.Window().Milliseconds(), 10), flagWindowArg: "0",
		activeKey: activeKey(cfg.Key), flagKey: siblingKey(cfg.Key, ":contended"),
		failOpen: cfg.FailOpen, timeout: cfg.CommandTimeout,
		outage: observability.NewOutage(cfg.Logger.With("on_redis_error", "fail closed"), "redis gate", "refused"),
	}
	if cfg.FailOpen {
		c.outage = observability.NewOutage(cfg.Logger.With("on_redis_error", "fail open"), "redis gate", "admitted_without_slot")
	}
	if err := c.ping(ctx); err != nil {
		return nil, err
	}
	var err error
	if c.metrics, err = gatemetrics.New(cfg.Registerer, cfg.Capacity); err != nil {
		return nil, err
	}
	c.undos = undo.New(undo.Config{
		Client: client, Script: c.scripts.undo, Keys: c.keys, Lease: cfg.Lease, LeaseMs: c.leaseArg,
		Timeout: cfg.CommandTimeout, OnDrop: c.metrics.UndosDropped.Inc,
	})
	return c, nil
}

// logReady logs the gate's settings once it is up, the mode's among them.
func (c *core) logReady(cfg Config, mode string, attrs ...any) {
	onError := "fail closed: a Redis error refuses requests (503)"
	if cfg.FailOpen {
		onError = "fail open: a Redis error admits requests without a slot, and readiness ignores Redis"
	}
	cfg.Logger.Info("redis gate ready", append([]any{"mode", mode, "key", cfg.Key, "capacity", cfg.Capacity,
		"lease", cfg.Lease, "hold", cfg.Hold, "on_redis_error", onError}, attrs...)...)
}

// acquireFailed answers an acquire whose call to Redis, started at start,
// failed with err: the caller's own error when it went away, else a refusal
// (fail closed) or admit (fail open), when the mode holds the slot without
// Redis.
func (c *core) acquireFailed(ctx context.Context, start time.Time, err error) (admit bool, _ error) {
	dl, hasDeadline := ctx.Deadline()
	callerBound := hasDeadline && dl.Before(start.Add(c.timeout)) // the caller's deadline came first
	switch {
	case ctx.Err() != nil || callerBound && errors.Is(err, context.DeadlineExceeded):
		// The caller went away or its deadline passed mid-call (rueidis may
		// notice through the socket's deadline a hair before ctx does); Redis
		// did not fail.
		return false, fmt.Errorf("redis gate: %w", err)
	case c.failOpen:
		c.metrics.Acquires[gatemetrics.FailOpen].Inc()
		c.outage.Down(start, err, true)
		return true, nil
	default:
		c.metrics.Acquires[gatemetrics.Error].Inc()
		c.outage.Down(start, err, true)
		return false, fmt.Errorf("redis gate: %w: %w", domain.ErrUnavailable, err)
	}
}

// free removes members from the gate in one call (release.lua), and returns
// when the call started and how it failed.
func (c *core) free(ctx context.Context, members []string) (start time.Time, err error) {
	start = time.Now()
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	err = c.scripts.release.Exec(callCtx, c.client, c.releaseKeys, members).Error()
	cancel()
	c.metrics.ReleaseSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		c.metrics.ReleaseErrors.Inc()
		c.outage.Down(start, err, false)
	}
	return start, err
}

// Ready implements ports.ConcurrencyGate by pinging Redis. A gate that fails
// open can serve without Redis, so it stays ready when Redis is down (the
// outage is logged): otherwise every instance would leave the load balancer
// at once.
func (c *core) Ready(ctx context.Context) error {
	start := time.Now()
	err := c.ping(ctx)
	if err != nil && ctx.Err() == nil {
		c.outage.Down(start, err, false)
	} else if err == nil {
		c.outage.Up()
	}
	if err != nil && c.failOpen {
		return nil
	}
	return err
}

// ping asks the node that holds the gate key whether it answers: a keyed
// read (EXISTS), because a Redis Cluster client sends a bare PING to any
// node, and a dead master that holds none of the gate's slots must not make
// the gate look down (nor a live one hide the gate's master being down).
func (c *core) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.client.Do(ctx, c.client.B().Exists().Key(c.keys[0]).Build()).Error(); err != nil {
		return fmt.Errorf("redis gate: ping: %w: %w", domain.ErrUnavailable, err)
	}
	return nil
}
