package redisgate_test

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// benchCallers is how many goroutines call the gate at once: the default
// capacity, so a full gate's worth of requests in flight.
const benchCallers = 100

// BenchmarkGate measures acquire+release pairs with ~100 concurrent callers
// against the real Redis, one sub-benchmark per rueidis MaxFlushDelay.
// BENCH_MAX_FLUSH_DELAYS (e.g. "0,20us") overrides the delays tried.
// Run: go tool task bench:gate
func BenchmarkGate(b *testing.B) {
	url := redisURL(b)
	delays := []string{"0s", "20us", "100us"}
	if v := os.Getenv("BENCH_MAX_FLUSH_DELAYS"); v != "" {
		delays = strings.Split(v, ",")
	}
	for _, d := range delays {
		delay, err := time.ParseDuration(strings.TrimSpace(d))
		require.NoError(b, err, "BENCH_MAX_FLUSH_DELAYS")
		b.Run("max_flush_delay="+delay.String(), func(b *testing.B) {
			cfg := config(b, url, 10*benchCallers) // never full: every pair is a real acquire and release
			cfg.MaxFlushDelay = delay
			g := open(b, cfg)
			ctx := context.Background()
			b.SetParallelism(max(1, benchCallers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					slot, err := g.Acquire(ctx, uuid.NewString())
					if err != nil {
						b.Error(err)
						return
					}
					if err := g.Release(ctx, slot); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
		})
	}
}
