package serverapp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/configs"
)

// openIdempotency opens the store of Idempotency-Key outcomes: in Redis,
// shared by every instance, when the gate is; in memory otherwise.
func (p *serverPorts) openIdempotency(cfg configs.Config, log *slog.Logger) error {
	if !cfg.UsesRedis() {
		s, err := memidem.New(cfg.Idempotency.TTL)
		if err != nil {
			return fmt.Errorf("memory idempotency store: %w", err)
		}
		p.idem = s
		return nil
	}
	s, err := redisidem.New(redisidem.Config{
		URL:            cfg.Redis.URL,
		Prefix:         cfg.Idempotency.Prefix,
		TTL:            cfg.Idempotency.TTL,
		DialTimeout:    cfg.Redis.DialTimeout,
		CommandTimeout: cfg.Redis.CommandTimeout,
		MaxFlushDelay:  cfg.Redis.MaxFlushDelay,
	})
	if err != nil {
		return fmt.Errorf("redis idempotency store: %w", err)
	}
	log.Info("idempotency keys: redis", "ttl", cfg.Idempotency.TTL.String(), "prefix", cfg.Idempotency.Prefix)
	p.idem = s
	p.closers = append(p.closers, func(context.Context) error { s.Close(); return nil })
	return nil
}
