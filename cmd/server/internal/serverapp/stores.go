package serverapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// openStores opens the gate and the idempotency store cfg names: in
// memory, or on the process's one Redis client, which closes after them.
// A Redis that does not answer at start does not stop the server: the
// stores stand in for the Redis ones (failing open or closed as the gate
// is set to) until a background loop reaches it (lateRedis). A Redis that
// answers but refuses the client (a password, a certificate) is a setting
// to fix, and stops the start.
func (p *serverPorts) openStores(ctx context.Context, cfg configs.Config, log *slog.Logger, reg prometheus.Registerer) error {
	if !cfg.UsesRedis() {
		return p.openMemoryStores(cfg, log)
	}
	client, err := startup.OpenRedis(ctx, cfg.Redis, "server", log)
	switch {
	case errors.Is(err, domain.ErrUnavailable):
		late := startLateRedis(cfg, p.share, log, reg, err)
		p.closers.Add(late.close)
		p.gate, p.idem = p.traceGate(late.gate(), "redis"), late.store()
		return nil
	case err != nil:
		return err
	}
	p.closers.AddFunc(client.Close)
	s, err := openRedisStores(ctx, client, cfg, p.share, log, reg)
	if err != nil {
		return err
	}
	p.closers.AddFunc(s.closeGate)
	p.gate, p.idem = p.traceGate(s.gate, "redis"), s.idem
	return nil
}

// openMemoryStores opens the in-memory gate and idempotency store.
func (p *serverPorts) openMemoryStores(cfg configs.Config, log *slog.Logger) error {
	g, err := memgate.New(cfg.Gate.Capacity, p.share)
	if err != nil {
		return fmt.Errorf("memory gate: %w", err)
	}
	if cfg.UsesKafka() {
		log.Warn("gate is in memory: the capacity applies per instance, not cluster-wide; set REDIS_URL to share it")
	}
	log.Info("gate: in memory", "capacity", cfg.Gate.Capacity)
	p.gate = p.traceGate(g, "memory")
	p.idem, err = newMemoryIdempotency(cfg, log)
	return err
}

// redisStores are the gate and the idempotency store on Redis; closeGate
// stops the gate, before the client closes.
type redisStores struct {
	gate      ports.ConcurrencyGate
	idem      ports.IdempotencyStore
	closeGate func()
}

// openRedisStores opens the Redis gate and idempotency store on client. The
// store first: it has nothing to undo when the gate then fails.
func openRedisStores(ctx context.Context, client rueidis.Client, cfg configs.Config, share domain.SharePolicy, log *slog.Logger, reg prometheus.Registerer) (*redisStores, error) {
	idem, err := newRedisIdempotency(client, cfg, log)
	if err != nil {
		return nil, err
	}
	gc := redisgate.Config{
		Share:          share,
		Key:            cfg.Gate.Key,
		Capacity:       cfg.Gate.Capacity,
		Lease:          cfg.GateLease(),
		Hold:           cfg.GateHold(),
		FailOpen:       cfg.Gate.FailOpen,
		CommandTimeout: cfg.Redis.CommandTimeout,
		Logger:         log,
		Registerer:     reg,
	}
	// The mode is chosen here, once: blocks of gate.block_size, or one Redis
	// call per acquire and per release when it is 1.
	var g interface {
		ports.ConcurrencyGate
		Close()
	}
	if cfg.Gate.BlockSize > 1 {
		g, err = redisgate.NewBlockGate(ctx, client, redisgate.BlockConfig{Config: gc, Size: cfg.Gate.BlockSize, Idle: cfg.Gate.BlockIdle})
	} else {
		g, err = redisgate.NewPerRequestGate(ctx, client, gc)
	}
	if err != nil {
		return nil, fmt.Errorf("redis gate: %w", err)
	}
	return &redisStores{gate: g, idem: idem, closeGate: g.Close}, nil
}
