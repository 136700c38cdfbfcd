package serverapp

import (
	"fmt"
	"log/slog"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/ports"
)

// newMemoryIdempotency is the store of Idempotency-Key outcomes in memory,
// per process, bounded by idempotency.capacity: without Redis.
func newMemoryIdempotency(cfg configs.Config, log *slog.Logger) (ports.IdempotencyStore, error) {
	s, err := memidem.New(memidem.Config{TTL: cfg.Idempotency.TTL, Capacity: cfg.Idempotency.Capacity})
	if err != nil {
		return nil, fmt.Errorf("memory idempotency store: %w", err)
	}
	log.Info("idempotency keys: in memory", "ttl", cfg.Idempotency.TTL.String(), "capacity", cfg.Idempotency.Capacity)
	return s, nil
}

// newRedisIdempotency is the store of Idempotency-Key outcomes on client,
// shared by every instance, as the gate is.
func newRedisIdempotency(client rueidis.Client, cfg configs.Config, log *slog.Logger) (ports.IdempotencyStore, error) {
	s, err := redisidem.New(client, redisidem.Config{
		Prefix:         cfg.Idempotency.Prefix,
		TTL:            cfg.Idempotency.TTL,
		CommandTimeout: cfg.Redis.CommandTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("redis idempotency store: %w", err)
	}
	log.Info("idempotency keys: redis", "ttl", cfg.Idempotency.TTL.String(), "prefix", cfg.Idempotency.Prefix)
	return s, nil
}
