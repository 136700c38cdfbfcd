package redisgate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redisgate"
	"github.com/1000x-rps-server/rps-server/domain"
)

// BenchmarkGate measures acquire+release pairs with ~100 concurrent callers
// (the default capacity) against the real Redis, for several MaxFlushDelay
// values. Run: go tool task bench:gate
func BenchmarkGate(b *testing.B) {
	url := redisURL(b)
	for _, delay := range []time.Duration{0, 20 * time.Microsecond, 100 * time.Microsecond} {
		b.Run(fmt.Sprintf("max_flush_delay=%s", delay), func(b *testing.B) {
			g, err := redisgate.New(context.Background(), redisgate.Config{
				URL: url, Key: uniqueKey(b), Capacity: 1000, Lease: 30 * time.Second,
				MaxFlushDelay: delay, DialTimeout: time.Second, CommandTimeout: time.Second,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(),
			})
			require.NoError(b, err)
			b.Cleanup(g.Close)
			ctx := context.Background()
			b.SetParallelism(max(1, 100/runtime.GOMAXPROCS(0)))
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					slot, err := g.Acquire(ctx, uuid.NewString())
					if err != nil && !errors.Is(err, domain.ErrAtCapacity) {
						b.Error(err)
						return
					}
					if err == nil {
						if err := g.Release(ctx, slot); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
		})
	}
}
