package e2e_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// TestTracing_Overhead measures what tracing costs: unpaced POST /queue
// (closed loop, TRACING_BENCH_USERS users, default 50, below the gate)
// against two stacks on the same Redis and Kafka, one with tracing off and
// one exporting every request (ratio 1) to an OTLP/HTTP receiver that
// discards, in alternating rounds so a busy machine weighs on both alike.
// Opt-in, as it takes a few minutes: TRACING_BENCH=1.
func TestTracing_Overhead(t *testing.T) {
	if os.Getenv("TRACING_BENCH") == "" {
		t.Skip("set TRACING_BENCH=1 to measure tracing's overhead")
	}
	users := 50
	if v, err := strconv.Atoi(os.Getenv("TRACING_BENCH_USERS")); err == nil {
		users = v
	}
	round, rounds := 15*time.Second, 6
	in := needInfra(t)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()

	off := newStack(t, in, "RPS_LOG__LEVEL=warn")
	off.startWorker(t)
	offURL := off.startServer(t)
	on := newStack(t, in, "RPS_LOG__LEVEL=warn", "OTEL_EXPORTER_OTLP_ENDPOINT="+sink.URL, "RPS_TRACING__SAMPLE_RATIO=1")
	on.startWorker(t)
	onURL := on.startServer(t)

	runLoad(t, offURL, users, 3*time.Second) // warm both up
	runLoad(t, onURL, users, 3*time.Second)
	totals := map[string]*loadResult{"off": {}, "on": {}}
	for i := range rounds {
		name, url, st := "off", offURL, off
		if i%2 == 1 {
			name, url, st = "on", onURL, on
		}
		cpu0 := st.cpuTime(t)
		r := runLoad(t, url, users, round)
		r.cpu = st.cpuTime(t) - cpu0
		t.Logf("round %d tracing %-3s: %s", i+1, name, r)
		totals[name].add(r)
	}
	t.Logf("total tracing off: %s", totals["off"])
	t.Logf("total tracing on : %s", totals["on"])
	t.Logf("CPU per request on/off: %.3f; throughput on/off: %.3f; p50 on/off: %.3f; p99 on/off: %.3f",
		float64(totals["on"].cpuPerRequest())/float64(totals["off"].cpuPerRequest()), totals["on"].rps()/totals["off"].rps(),
		float64(totals["on"].quantile(0.5))/float64(totals["off"].quantile(0.5)),
		float64(totals["on"].quantile(0.99))/float64(totals["off"].quantile(0.99)))
}

type loadResult struct {
	ok, failed int
	elapsed    time.Duration
	cpu        time.Duration // user+system CPU of the stack's server and worker
	latencies  []time.Duration
}

func (r *loadResult) cpuPerRequest() time.Duration { return r.cpu / time.Duration(max(r.ok, 1)) }

// cpuTime is the CPU time the stack's processes used so far, from
// /proc/<pid>/stat: on a machine others load, CPU per request is steadier
// than throughput.
func (s *stack) cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var total time.Duration
	for _, p := range append(slices.Clone(s.servers), s.workers...) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
		require.NoError(t, err)
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64) // fields 14 and 15 of stat, in clock ticks (100 Hz)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return total
}

func (r *loadResult) add(o *loadResult) {
	r.cpu += o.cpu
	r.ok += o.ok
	r.failed += o.failed
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
}

func (r *loadResult) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r *loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func (r *loadResult) String() string {
	return strconv.Itoa(r.ok) + " ok, " + strconv.Itoa(r.failed) + " failed, " +
		strconv.FormatFloat(r.rps(), 'f', 0, 64) + " req/s, p50 " + r.quantile(0.5).Round(10*time.Microsecond).String() +
		", p99 " + r.quantile(0.99).Round(10*time.Microsecond).String() +
		", CPU " + r.cpuPerRequest().Round(time.Microsecond).String() + "/request"
}

// runLoad posts /queue from users loops, each sending its next request as
// soon as the last is answered, for d.
func runLoad(t *testing.T, base string, users int, d time.Duration) *loadResult {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}, Timeout: 15 * time.Second}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	res := &loadResult{}
	var wg sync.WaitGroup
	start := time.Now()
	for range users {
		wg.Go(func() {
			var lat []time.Duration
			ok, failed := 0, 0
			for ctx.Err() == nil {
				t0 := time.Now()
				status, _, err := testinfra.PostQueue(context.Background(), client, base)
				if err != nil || status != http.StatusOK {
					failed++
					continue
				}
				ok++
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.ok, res.failed = res.ok+ok, res.failed+failed
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	require.NotZero(t, res.ok, "no request succeeded against %s", base)
	return res
}
