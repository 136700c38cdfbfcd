package serverapp

import (
	"fmt"
	"log/slog"

	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/configs"
)

// openIdempotency opens the store of Idempotency-Key outcomes: in Redis
// (on p's client), shared by every instance, when the gate is; in memory,
// bounded by idempotency.capacity, otherwise.
func (p *serverPorts) openIdempotency(cfg configs.Config, log *slog.Logger) error {
	if !cfg.UsesRedis() {
		s, err := memidem.New(memidem.Config{TTL: cfg.Idempotency.TTL, Capacity: cfg.Idempotency.Capacity})
		if err != nil {
			return fmt.Errorf("memory idempotency store: %w", err)
		}
		log.Info("idempotency keys: in memory", "ttl", cfg.Idempotency.TTL.String(), "capacity", cfg.Idempotency.Capacity)
		p.idem = s
		return nil
	}
	s, err := redisidem.New(p.redis, redisidem.Config{
		Prefix:         cfg.Idempotency.Prefix,
		TTL:            cfg.Idempotency.TTL,
		CommandTimeout: cfg.Redis.CommandTimeout,
	})
	if err != nil {
		return fmt.Errorf("redis idempotency store: %w", err)
	}
	log.Info("idempotency keys: redis", "ttl", cfg.Idempotency.TTL.String(), "prefix", cfg.Idempotency.Prefix)
	p.idem = s
	return nil
}
