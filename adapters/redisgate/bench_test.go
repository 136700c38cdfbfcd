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
	"github.com/stretchr/testify/require"

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
// /proc/<redis pid>/stat, when Redis runs on this machine).
// BENCH_MAX_FLUSH_DELAYS (e.g. "0,20us") overrides the delays tried.
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
	redisCPU := redisCPUReader(b, url)
	for _, d := range delays {
		delay, err := time.ParseDuration(strings.TrimSpace(d))
		require.NoError(b, err, "BENCH_MAX_FLUSH_DELAYS")
		for _, size := range blockSizes {
			b.Run("max_flush_delay="+delay.String()+"/block_size="+strconv.Itoa(size), func(b *testing.B) {
				cfg := config(b, url, 10*benchCallers) // never full: every pair is a real acquire and release
				cfg.MaxFlushDelay = delay
				if size > 1 {
					cfg.BlockSize, cfg.BlockIdle = size, testBlockIdle
				}
				g := open(b, cfg)
				ctx := context.Background()
				b.SetParallelism(max(1, benchCallers/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				start, cpu0 := time.Now(), redisCPU()
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
				if cpu := redisCPU() - cpu0; cpu >= 0 {
					b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "redis-µs/pair")
				}
			})
		}
	}
}

// redisCPUReader returns a reader of the CPU time Redis has used (user +
// system, from /proc), or of -1 when Redis's process cannot be read here.
func redisCPUReader(b testing.TB, url string) func() time.Duration {
	b.Helper()
	raw := infra.RedisClient(b, url)
	info, err := raw.Do(context.Background(), raw.B().Info().Section("server").Build()).ToString()
	require.NoError(b, err)
	pid := ""
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid = v
		}
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return func() time.Duration {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if pid == "" || err != nil {
			return -1
		}
		// Fields after the command name (which may hold spaces): state is
		// field 3, utime 14, stime 15.
		rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		utime, errU := strconv.ParseInt(rest[11], 10, 64)
		stime, errS := strconv.ParseInt(rest[12], 10, 64)
		if errU != nil || errS != nil {
			return -1
		}
		return time.Duration(utime+stime) * time.Second / ticksPerSecond
	}
}
