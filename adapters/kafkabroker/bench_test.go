package kafkabroker_test

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
)

// librdkafkaDefaults undoes every tuned setting of settings.go, for comparison.
var librdkafkaDefaults = map[string]string{
	"producer.linger.ms":              "5",
	"producer.enable.idempotence":     "false",
	"consumer.fetch.wait.max.ms":      "500",
	"consumer.fetch.error.backoff.ms": "500",
	"socket.nagle.disable":            "false",
	"reconnect.backoff.max.ms":        "10000",
}

// benchSettings are the variants measured: the tuned defaults, librdkafka's
// own, and optionally KAFKABROKER_BENCH_SETTINGS ("k=v,k=v" over the tuned).
func benchSettings() map[string]map[string]string {
	variants := map[string]map[string]string{"tuned": nil, "librdkafka": librdkafkaDefaults}
	if env := os.Getenv("KAFKABROKER_BENCH_SETTINGS"); env != "" {
		custom := map[string]string{}
		for kv := range strings.SplitSeq(env, ",") {
			k, v, _ := strings.Cut(kv, "=")
			custom[k] = v
		}
		variants["custom"] = custom
	}
	return variants
}

// benchOutstanding are the numbers of outstanding requests measured: 1 and
// 100, or KAFKABROKER_BENCH_OUTSTANDING ("1,10,100").
func benchOutstanding() []int {
	env := os.Getenv("KAFKABROKER_BENCH_OUTSTANDING")
	if env == "" {
		return []int{1, 100}
	}
	var ns []int
	for f := range strings.SplitSeq(env, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			panic("KAFKABROKER_BENCH_OUTSTANDING: " + f)
		}
		ns = append(ns, n)
	}
	return ns
}

// BenchmarkRoundTrip measures task → worker → reply through the real broker
// (a Requester and a Worker running app.ProcessTask, each with its own
// clients) at exactly 1 and 100 outstanding requests: that many goroutines
// send back to back until b.N round trips are done. Run:
//
//	go test -run '^$' -bench RoundTrip -benchtime 10s ./adapters/kafkabroker/
func BenchmarkRoundTrip(b *testing.B) {
	variants := benchSettings()
	for _, name := range slices.Sorted(maps.Keys(variants)) {
		settings := variants[name]
		for _, outstanding := range benchOutstanding() {
			b.Run(fmt.Sprintf("settings=%s/outstanding=%d", name, outstanding), func(b *testing.B) {
				benchRoundTrip(b, settings, outstanding)
			})
		}
	}
}

func benchRoundTrip(b *testing.B, settings map[string]string, outstanding int) {
	tp := newTopics(b)
	r, _ := newRequester(b, tp, func(c *requester.Config) { c.Settings = settings })
	startWorker(b, tp, giftProcessor(b), concurrency(1000), func(c *taskworker.Config) { c.Settings = settings })
	for range 20 { // warm up connections and metadata
		if _, err := request(b, r, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}

	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range outstanding {
		wg.Go(func() {
			local := make([]time.Duration, 0, b.N/outstanding+1)
			for next.Add(1) <= int64(b.N) {
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
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		b.ReportMetric(float64(latencies[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[n*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "rt/s")
	}
}
