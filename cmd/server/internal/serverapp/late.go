package serverapp

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// lateRedis is the server's Redis side when Redis did not answer at start:
// rueidis cannot build a client without a first connection (it has to
// learn whether the server is a cluster, a sentinel's master or a single
// node). It stands in for the gate and the idempotency store, with what
// they do in an outage: the gate admits without a slot when it fails open
// and refuses (503) when it fails closed, the store refuses. A loop keeps
// trying to reach Redis; once it does, the Redis stores are built on the
// client and every call goes to them.
type lateRedis struct {
	stores   atomic.Pointer[redisStores] // nil until Redis answered
	failOpen bool
	// Requests answered by the stand-in gate, for the log line when Redis
	// is reached (the gate's own metrics start with it).
	admitted, refused atomic.Int64
	start             time.Time
	log               *slog.Logger

	stop   context.CancelFunc
	done   chan struct{}
	client rueidis.Client // the loop's, once it reached Redis; read after done
}

// startLateRedis starts reaching for Redis in the background, after the
// first attempt failed with err.
func startLateRedis(cfg configs.Config, share domain.SharePolicy, log *slog.Logger, reg prometheus.Registerer, err error) *lateRedis {
	onError := "fail closed: requests are refused (503)"
	if cfg.Gate.FailOpen {
		onError = "fail open: requests are admitted without a slot (no cluster-wide cap meanwhile)"
	}
	log.Warn("redis unreachable at start: serving without it until it answers; keyed requests are refused (503) meanwhile",
		"on_redis_error", onError, "err", err)
	ctx, stop := context.WithCancel(context.Background())
	l := &lateRedis{failOpen: cfg.Gate.FailOpen, start: time.Now(), log: log, stop: stop, done: make(chan struct{})}
	go l.reach(ctx, cfg, share, reg)
	return l
}

// reach tries to reach Redis until it does or ctx ends, then builds the
// Redis stores on the client and hands them every call.
func (l *lateRedis) reach(ctx context.Context, cfg configs.Config, share domain.SharePolicy, reg prometheus.Registerer) {
	defer close(l.done)
	wait := startup.FirstRedisReach
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait = min(2*wait, startup.MaxRedisReach)
		timer.Reset(wait)
		client, err := startup.OpenRedis(ctx, cfg.Redis, "server", l.log)
		if err != nil {
			l.log.Debug("redis still unreachable", "err", err)
			continue
		}
		s, err := openRedisStores(ctx, client, cfg, share, l.log, reg)
		if err != nil { // Redis went away again between the two, or refuses the gate
			client.Close()
			l.log.Warn("redis reached, but its stores could not be opened; trying again", "err", err)
			continue
		}
		l.client = client
		l.stores.Store(s)
		l.log.Warn("redis reached: the gate and the idempotency store are on it", "after", time.Since(l.start).Round(time.Millisecond),
			"admitted_without_slot", l.admitted.Load(), "refused", l.refused.Load())
		return
	}
}

// close stops the loop, then closes the gate and the client it opened.
func (l *lateRedis) close(context.Context) error {
	l.stop()
	<-l.done
	if s := l.stores.Load(); s != nil {
		s.closeGate()
	}
	if l.client != nil {
		l.client.Close()
	}
	return nil
}

func (l *lateRedis) gate() ports.ConcurrencyGate   { return lateGate{l} }
func (l *lateRedis) store() ports.IdempotencyStore { return lateStore{l} }

// lateGate is the gate until Redis answers, then the Redis gate.
type lateGate struct{ l *lateRedis }

func (g lateGate) Acquire(ctx context.Context, id string, client domain.Client) (ports.Slot, error) {
	if s := g.l.stores.Load(); s != nil {
		return s.gate.Acquire(ctx, id, client)
	}
	if g.l.failOpen {
		g.l.admitted.Add(1)
		return ports.Slot{ID: id}, nil
	}
	g.l.refused.Add(1)
	return ports.Slot{}, fmt.Errorf("redis gate: %w", startup.ErrRedisNotReached)
}

// Release gives a slot back to the Redis gate once there is one: one
// admitted without a slot holds nothing there, and releasing it is harmless.
func (g lateGate) Release(ctx context.Context, slot ports.Slot) error {
	if s := g.l.stores.Load(); s != nil {
		return s.gate.Release(ctx, slot)
	}
	return nil
}

// Ready is the Redis gate's; until there is one, a gate that fails open
// serves (as the Redis gate does in an outage) and one that fails closed
// does not.
func (g lateGate) Ready(ctx context.Context) error {
	if s := g.l.stores.Load(); s != nil {
		return s.gate.Ready(ctx)
	}
	if g.l.failOpen {
		return nil
	}
	return fmt.Errorf("redis gate: %w", startup.ErrRedisNotReached)
}

// lateStore is the idempotency store until Redis answers, then the Redis
// store; meanwhile it refuses, as the Redis store does in an outage.
type lateStore struct{ l *lateRedis }

func (st lateStore) Begin(ctx context.Context, key string, claim ports.Claim) (ports.Entry, error) {
	if s := st.l.stores.Load(); s != nil {
		return s.idem.Begin(ctx, key, claim)
	}
	return ports.Entry{}, fmt.Errorf("idempotency store: %w", startup.ErrRedisNotReached)
}

func (st lateStore) Complete(ctx context.Context, key string, entry ports.Entry, outcome domain.Outcome) error {
	if s := st.l.stores.Load(); s != nil {
		return s.idem.Complete(ctx, key, entry, outcome)
	}
	return fmt.Errorf("idempotency store: %w", startup.ErrRedisNotReached)
}

func (st lateStore) Abandon(ctx context.Context, key string, entry ports.Entry) error {
	if s := st.l.stores.Load(); s != nil {
		return s.idem.Abandon(ctx, key, entry)
	}
	return fmt.Errorf("idempotency store: %w", startup.ErrRedisNotReached)
}

func (st lateStore) Forget(ctx context.Context, key string, entry ports.Entry) error {
	if s := st.l.stores.Load(); s != nil {
		return s.idem.Forget(ctx, key, entry)
	}
	return fmt.Errorf("idempotency store: %w", startup.ErrRedisNotReached)
}
