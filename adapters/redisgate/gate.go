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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Config sets up the gate.
type Config struct {
	URL      string // redis:// or rediss://, with password and db
	Key      string // sorted set key; keep a {hash tag} for Redis Cluster
	Capacity int
	// Lease bounds how long a slot may be held: longer than the longest
	// request lives (reply timeout plus a margin), so only crashes hit it.
	Lease time.Duration
	// FailOpen admits requests when Redis cannot be asked. The default,
	// fail closed, refuses them with domain.ErrUnavailable.
	FailOpen bool
	// MaxFlushDelay lets rueidis gather concurrent commands into one write.
	MaxFlushDelay  time.Duration
	DialTimeout    time.Duration
	CommandTimeout time.Duration // bounds each call, so an outage fails fast
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

// Gate is a ConcurrencyGate on Redis.
type Gate struct {
	client           rueidis.Client
	acquire, release *rueidis.Lua
	cfg              Config
	keys             []string
	capacityArg      string
	leaseArg         string
	metrics          *metrics
}

// New connects to Redis and returns the gate.
func New(ctx context.Context, cfg Config) (*Gate, error) {
	switch {
	case cfg.Key == "":
		return nil, errors.New("redisgate: empty key")
	case cfg.Capacity < 1:
		return nil, fmt.Errorf("redisgate: capacity must be at least 1 (got %d)", cfg.Capacity)
	case cfg.Lease < time.Millisecond:
		return nil, fmt.Errorf("redisgate: lease must be at least 1ms (got %s)", cfg.Lease)
	case cfg.CommandTimeout <= 0:
		return nil, errors.New("redisgate: command timeout must be positive")
	case cfg.Logger == nil || cfg.Registerer == nil:
		return nil, errors.New("redisgate: logger and registerer are required")
	}
	opt, err := rueidis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisgate: parse url: %w", err)
	}
	opt.DisableCache = true // the gate is written by every instance: nothing to cache
	opt.MaxFlushDelay = cfg.MaxFlushDelay
	opt.Dialer.Timeout = cfg.DialTimeout
	opt.ConnWriteTimeout = cfg.CommandTimeout
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redisgate: connect: %w: %w", domain.ErrUnavailable, err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		client.Close()
		return nil, err
	}
	acquire, release := newScripts()
	g := &Gate{
		client: client, acquire: acquire, release: release, cfg: cfg,
		keys:        []string{cfg.Key},
		capacityArg: strconv.Itoa(cfg.Capacity),
		leaseArg:    strconv.FormatInt(cfg.Lease.Milliseconds(), 10),
		metrics:     m,
	}
	if err := g.Ready(ctx); err != nil {
		client.Close()
		return nil, err
	}
	mode := "fail closed: a Redis error refuses requests with 503"
	if cfg.FailOpen {
		mode = "fail open: a Redis error admits requests without a slot"
	}
	cfg.Logger.Info("redis gate ready", "key", cfg.Key, "capacity", cfg.Capacity, "lease", cfg.Lease, "on_error", mode)
	return g, nil
}

// Acquire implements ports.ConcurrencyGate.
func (g *Gate) Acquire(ctx context.Context, id string) (ports.Slot, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, g.cfg.CommandTimeout)
	defer cancel()
	ok, err := g.acquire.Exec(ctx, g.client, g.keys, []string{id, g.capacityArg, g.leaseArg}).AsInt64()
	g.metrics.acquireSeconds.Observe(time.Since(start).Seconds())
	switch {
	case err != nil && g.cfg.FailOpen:
		g.metrics.acquires.WithLabelValues(outcomeFailOpen).Inc()
		return ports.Slot{ID: id}, nil
	case err != nil:
		g.metrics.acquires.WithLabelValues(outcomeError).Inc()
		return ports.Slot{}, fmt.Errorf("redisgate: acquire: %w: %w", domain.ErrUnavailable, err)
	case ok == 0:
		g.metrics.acquires.WithLabelValues(outcomeAtCapacity).Inc()
		return ports.Slot{}, domain.ErrAtCapacity
	}
	g.metrics.acquires.WithLabelValues(outcomeOK).Inc()
	g.metrics.inUse.Inc()
	return ports.Slot{ID: id}, nil
}

// Release implements ports.ConcurrencyGate.
func (g *Gate) Release(ctx context.Context, slot ports.Slot) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, g.cfg.CommandTimeout)
	defer cancel()
	removed, err := g.release.Exec(ctx, g.client, g.keys, []string{slot.ID}).AsInt64()
	g.metrics.releaseSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		g.metrics.releaseErrors.Inc()
		return fmt.Errorf("redisgate: release: %w: %w", domain.ErrUnavailable, err)
	}
	if removed > 0 {
		g.metrics.inUse.Dec()
	}
	return nil
}

// Ready implements ports.ConcurrencyGate by pinging Redis.
func (g *Gate) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.CommandTimeout)
	defer cancel()
	if err := g.client.Do(ctx, g.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("redisgate: ping: %w: %w", domain.ErrUnavailable, err)
	}
	return nil
}

// Close closes the connections; held slots expire with their leases.
func (g *Gate) Close() { g.client.Close() }
