package redisgate_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// benchCallers is how many goroutines call the gate at once: the default
// capacity, so a full gate's worth of requests in flight.
const benchCallers = 100

// BenchmarkGate measures acquire+release pairs with ~100 concurrent callers
// against the real Redis, one sub-benchmark per rueidis MaxFlushDelay and
// gate mode (per request, and blocks of BENCH_BLOCK_SIZES, default 8 and
// 16), the modes interleaved so a shared machine's load hits them alike.
// Besides pairs/s it reports Redis's CPU per pair (redis-µs/pair, from
// INFO cpu).
// BENCH_MAX_FLUSH_DELAYS (e.g. "0,20us") overrides the delays tried.
// BENCH_SHARE=on adds each mode with the fair share on, for one client (the
// lone client must keep the speed of the share off).
// Run: go tool task bench:gate
func BenchmarkGate(b *testing.B) {
	url := redisURL(b)
	delays := []string{"0s", "20us", "100us"}
	if v := os.Getenv("BENCH_MAX_FLUSH_DELAYS"); v != "" {
		delays = strings.Split(v, ",")
	}
	sizes := []string{"8", "16"}
	if v := os.Getenv("BENCH_BLOCK_SIZES"); v != "" {
		sizes = strings.Split(v, ",")
	}
	blockSizes := []int{1}
	for _, s := range sizes {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		require.NoError(b, err, "BENCH_BLOCK_SIZES")
		blockSizes = append(blockSizes, n)
	}
	shares := []bool{false}
	if os.Getenv("BENCH_SHARE") == "on" {
		shares = append(shares, true)
	}
	raw := infra.RedisClient(b, url)
	for _, d := range delays {
		delay, err := time.ParseDuration(strings.TrimSpace(d))
		require.NoError(b, err, "BENCH_MAX_FLUSH_DELAYS")
		for _, size := range blockSizes {
			for _, share := range shares {
				benchGate(b, raw, url, delay, size, share)
			}
		}
	}
}

// benchGate is one sub-benchmark of BenchmarkGate.
func benchGate(b *testing.B, raw rueidis.Client, url string, delay time.Duration, size int, share bool) {
	name := "max_flush_delay=" + delay.String() + "/block_size=" + strconv.Itoa(size)
	if share {
		name += "/share=on"
	}
	b.Run(name, func(b *testing.B) {
		cfg := config(b, url, 10*benchCallers) // never full: every pair is a real acquire and release
		cfg.MaxFlushDelay = delay
		if share {
			cfg.Share = domain.SharePolicy{Enabled: true, Headroom: benchCallers / 10,
				Classes: map[string]domain.ClassLimits{domain.DefaultClass: {Weight: 1}}}
		}
		if size > 1 {
			cfg.BlockSize, cfg.BlockIdle = size, testBlockIdle
		}
		g := open(b, cfg)
		ctx := context.Background()
		b.SetParallelism(max(1, benchCallers/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		start, cpu0 := time.Now(), infra.RedisCPU(b, raw)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				slot, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
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
		cpu := infra.RedisCPU(b, raw) - cpu0
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "redis-µs/pair")
	})
}
