package redisledger_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisledger"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// perCall is the ledger without the group commit: one SET NX GET
// per Record through rueidis (which pipelines concurrent commands on its
// own), kept here as the baseline of BenchmarkRecord.
type perCall struct {
	client rueidis.Client
	ttl    time.Duration
}

func (p perCall) Record(ctx context.Context, taskID, value string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cmd := p.client.B().Set().Key("bench:" + taskID).Value(value).Nx().Get().Px(p.ttl).Build()
	earlier, err := p.client.Do(ctx, cmd).ToString()
	if rueidis.IsRedisNil(err) {
		return value, nil
	}
	return earlier, err //nolint:wrapcheck // a benchmark
}

// BenchmarkRecord records distinct tasks from many concurrent callers, as a
// worker's running tasks do, with the per-call ledger and the batched one
// on the same Redis (REDIS_URL) and one client built as production builds
// it (redisclient, 20µs max flush delay). Besides ns/op and allocs/op it reports records/s,
// the Redis server's CPU per record (INFO cpu: its user+sys time, as in
// /proc/<pid>/stat) and this process's CPU per record (getrusage), the part
// a worker pays. Run it a few times, interleaved:
//
//	go test -run '^$' -bench Record -benchmem -benchtime 2s -count 1 ./adapters/redis/redisledger/
func BenchmarkRecord(b *testing.B) {
	url := infra.RedisURL(b)
	raw := infra.RedisClient(b, url)
	const ttl = 10 * time.Second // keeps the keys of a long run few
	client := infra.AdapterClient(b, url, func(c *redisclient.Config) { c.MaxFlushDelay = 20 * time.Microsecond })
	reg := prometheus.NewRegistry()
	batched, err := redisledger.New(client, redisledger.Config{
		Prefix: "bench:", TTL: ttl, Window: ttl, CommandTimeout: time.Second,
		Registerer: reg, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(b, err)
	b.Cleanup(batched.Close)

	for _, callers := range []int{10, 100, 1000} {
		for _, impl := range []struct {
			name   string
			ledger ports.IssuanceLedger
		}{{"per_call", perCall{client: client, ttl: ttl}}, {"batched", batched}} {
			b.Run(fmt.Sprintf("%s/callers=%d", impl.name, callers), func(b *testing.B) {
				pipelines, records := batches(b, reg)
				runRecords(b, raw, impl.ledger, callers)
				if impl.ledger == batched {
					p, r := batches(b, reg)
					b.ReportMetric((r-records)/float64(p-pipelines), "records/pipeline")
				}
			})
		}
	}
}

func runRecords(b *testing.B, raw rueidis.Client, l ports.IssuanceLedger, callers int) {
	run := uuid.NewString()[:8] + ":"
	var next atomic.Int64
	redisBefore, selfBefore := infra.RedisCPU(b, raw), selfCPU()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				id := run + strconv.FormatInt(i, 10)
				if _, err := l.Record(context.Background(), id, "GIFT-"+id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "records/s")
	b.ReportMetric((infra.RedisCPU(b, raw)-redisBefore).Seconds()*1e6/n, "redis-µs/op")
	b.ReportMetric((selfCPU()-selfBefore).Seconds()*1e6/n, "client-µs/op")
}

// selfCPU is this process's user+sys CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
