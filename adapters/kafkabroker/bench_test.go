package kafkabroker_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkRoundTrip measures task → worker → reply through the real broker
// at 1 and 100 outstanding requests. Run: go tool task bench:kafka
func BenchmarkRoundTrip(b *testing.B) {
	for _, outstanding := range []int{1, 100} {
		b.Run(fmt.Sprintf("outstanding=%d", outstanding), func(b *testing.B) {
			tp := newTopics(b)
			r := newRequester(b, tp, nil)
			startWorker(b, tp, "g-"+tp.tasks, 1000, giftProcessor(b))
			for range 20 { // warm up connections and batches
				if _, err := request(b, r, 10*time.Second); err != nil {
					b.Fatal(err)
				}
			}

			var mu sync.Mutex
			latencies := make([]time.Duration, 0, b.N)
			b.SetParallelism(max(1, outstanding/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				local := make([]time.Duration, 0, 1024)
				for pb.Next() {
					t0 := time.Now()
					if _, err := request(b, r, 10*time.Second); err != nil {
						b.Error(err)
						return
					}
					local = append(local, time.Since(t0))
				}
				mu.Lock()
				latencies = append(latencies, local...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(latencies)
			if n := len(latencies); n > 0 {
				b.ReportMetric(float64(latencies[n/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(latencies[n*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(n)/elapsed.Seconds(), "rt/s")
			}
		})
	}
}
