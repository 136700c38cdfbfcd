package startup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
)

// OpenRedis builds the process's one Redis client from cfg, which every
// Redis adapter of the process shares; its connections are named
// rps-<binary> unless cfg names them. The caller closes it, after the
// adapters that use it.
func OpenRedis(ctx context.Context, cfg configs.RedisConfig, binary string, log *slog.Logger) (rueidis.Client, error) {
	name := cfg.ClientName
	if name == "" {
		name = "rps-" + binary
	}
	var seeds []string
	for a := range strings.SplitSeq(cfg.Cluster.Addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			seeds = append(seeds, a)
		}
	}
	client, err := redisclient.New(ctx, redisclient.Config{
		URL:        cfg.URL,
		Username:   cfg.Username,
		Password:   cfg.Password,
		ClientName: name,
		TLS: redisclient.TLS{
			CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			ServerName: cfg.TLS.ServerName, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify,
		},
		Sentinel: redisclient.Sentinel{
			MasterSet: cfg.Sentinel.MasterSet, Username: cfg.Sentinel.Username, Password: cfg.Sentinel.Password,
		},
		ClusterAddrs:   seeds,
		DialTimeout:    cfg.DialTimeout,
		CommandTimeout: cfg.CommandTimeout,
		MaxFlushDelay:  cfg.MaxFlushDelay,
	})
	if err != nil {
		return nil, err // "redis client: …" says what failed
	}
	if err := checkEviction(ctx, client, cfg.CommandTimeout, log); err != nil {
		client.Close()
		return nil, err
	}
	log.Info("redis client ready", "tls", strings.HasPrefix(cfg.URL, "rediss://"), "sentinel_master_set", cfg.Sentinel.MasterSet,
		"cluster_seeds", len(seeds), "max_flush_delay", cfg.MaxFlushDelay, "command_timeout", cfg.CommandTimeout)
	return client, nil
}

// checkEviction refuses a Redis that may evict the service's keys (see
// redisclient.CheckEviction): it would break the cap and exactly-once
// issuance silently, under load, long after start. A Redis that will not
// say (CONFIG GET refused, as managed services often do) is trusted, and
// the log says once what to check by hand.
func checkEviction(ctx context.Context, client rueidis.Client, timeout time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := redisclient.CheckEviction(ctx, client)
	var evicting *redisclient.EvictionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &evicting):
		return err
	case errors.Is(err, redisclient.ErrConfigHidden):
		log.Warn("cannot check Redis's maxmemory-policy: make sure it is noeviction (on a managed Redis, in its "+
			"parameter settings), or Redis may evict gate leases, idempotency keys and ledger records", "err", err)
	default:
		log.Warn("could not check Redis's maxmemory-policy: make sure it is noeviction", "err", err)
	}
	return nil
}

// How often a process whose Redis did not answer at start tries again:
// soon after the start, then backing off, so that a Redis that comes up is
// in use within a couple of seconds and one that stays down costs a dial
// every few. The server serves meanwhile; the worker waits to consume.
const (
	FirstRedisReach = 100 * time.Millisecond
	MaxRedisReach   = 2 * time.Second
)

// ErrRedisNotReached is what a process answers for Redis while it has not
// reached it since the start: an outage, as the Redis adapters report one.
var ErrRedisNotReached = fmt.Errorf("redis: %w: not reached since the start", domain.ErrUnavailable)
