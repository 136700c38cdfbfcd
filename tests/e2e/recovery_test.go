package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// call is one POST /queue as a user saw it.
type call struct {
	start, end time.Time
	status     int // 0: transport error
}

// timeline records every call of a load, to count statuses per second.
type timeline struct {
	mu    sync.Mutex
	t0    time.Time
	calls []call
}

// loadUntil sends POST /queue to base at rate per second, open loop (a
// stalled request does not hold the next one back, so the moment the
// server's answers change is seen), at most maxInFlight at once, until ctx
// is done, recording each call.
func loadUntil(ctx context.Context, base string, rate, maxInFlight int) (*timeline, func()) {
	tl := &timeline{t0: time.Now()}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: maxInFlight}}
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				continue // as many waiting as we allow: skip this one
			}
			wg.Go(func() {
				defer func() { <-sem }()
				c := call{start: time.Now()}
				if status, _, err := testinfra.PostQueue(context.WithoutCancel(ctx), client, base); err == nil {
					c.status = status
				}
				c.end = time.Now()
				tl.mu.Lock()
				tl.calls = append(tl.calls, c)
				tl.mu.Unlock()
			})
		}
	})
	return tl, func() { wg.Wait(); client.CloseIdleConnections() }
}

// startedIn returns the calls that started in [from, to).
func (tl *timeline) startedIn(from, to time.Time) []call {
	var out []call
	for _, c := range tl.calls {
		if !c.start.Before(from) && c.start.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// table is the per-second status counts by start time, with events marked.
func (tl *timeline) table(events map[string]time.Time) string {
	per := map[int]map[int]int{}
	statuses := map[int]bool{}
	for _, c := range tl.calls {
		s := int(c.start.Sub(tl.t0) / time.Second)
		if per[s] == nil {
			per[s] = map[int]int{}
		}
		per[s][c.status]++
		statuses[c.status] = true
	}
	cols := make([]int, 0, len(statuses))
	for s := range statuses {
		cols = append(cols, s)
	}
	sort.Ints(cols)
	marks := map[int][]string{}
	for name, at := range events {
		s := int(at.Sub(tl.t0) / time.Second)
		marks[s] = append(marks[s], fmt.Sprintf("%s@%.1fs", name, at.Sub(tl.t0).Seconds()))
	}
	var b strings.Builder
	b.WriteString("  t(s)")
	for _, c := range cols {
		fmt.Fprintf(&b, " %5d", c)
	}
	b.WriteString("\n")
	secs := make([]int, 0, len(per))
	for s := range per {
		secs = append(secs, s)
	}
	sort.Ints(secs)
	for _, s := range secs {
		fmt.Fprintf(&b, "  %4d", s)
		for _, c := range cols {
			fmt.Fprintf(&b, " %5d", per[s][c])
		}
		slices.Sort(marks[s])
		fmt.Fprintf(&b, "  %s\n", strings.Join(marks[s], " "))
	}
	return b.String()
}

// firstOK is when the first 200 of a call started at or after from ended.
func firstOK(calls []call) (time.Time, bool) {
	var first time.Time
	for _, c := range calls {
		if c.status == http.StatusOK && (first.IsZero() || c.end.Before(first)) {
			first = c.end
		}
	}
	return first, !first.IsZero()
}

// Kafka (a broker of this test's own) is killed under load and restarted on
// its data. Requests admitted after it answers again never wait out their
// deadline (no 504), and the first 200 comes within 5 s of it answering:
// the server proves its reply path and the worker resumes its partitions
// (same member id, KIP-848) without waiting for a session timeout.
func TestRecovery_KafkaKilledAndRestartedUnderLoad(t *testing.T) {
	kafka := testinfra.StartKafka(t)
	in := infra{redisURL: testinfra.RedisURL(t), bootstrap: kafka.Bootstrap()}
	in.redis = testinfra.RedisClient(t, in.redisURL)
	s := newStack(t, in)
	s.startWorker(t)
	base := s.startServer(t)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tl, wait := loadUntil(ctx, base, 100, 400)
	time.Sleep(3 * time.Second)
	killed := time.Now()
	kafka.Kill(t)
	time.Sleep(5 * time.Second)
	restarted := time.Now()
	up := kafka.Restart(t)
	time.Sleep(12 * time.Second)
	stop()
	wait()

	t.Logf("Kafka killed at %.1fs, restarted at %.1fs, answering at %.1fs (JVM start %.1fs); per-second statuses by start time:\n%s",
		killed.Sub(tl.t0).Seconds(), restarted.Sub(tl.t0).Seconds(), up.Sub(tl.t0).Seconds(), up.Sub(restarted).Seconds(),
		tl.table(map[string]time.Time{"kill": killed, "restart": restarted, "up": up}))

	after := tl.startedIn(up, time.Now())
	for _, c := range after {
		require.NotEqual(t, http.StatusGatewayTimeout, c.status, "a request admitted at +%.1fs after Kafka answered waited out its deadline", c.start.Sub(up).Seconds())
	}
	first, ok := firstOK(after)
	require.True(t, ok, "no 200 after Kafka answered again")
	t.Logf("first 200 %.2fs after Kafka answered on its port", first.Sub(up).Seconds())
	assert.LessOrEqual(t, first.Sub(up), 5*time.Second, "first 200 within 5 s of Kafka answering")
}

// Every worker stops under load. Within 3 s the server answers 503 at once
// (not 504 after the reply timeout) and takes no gate slot for those
// requests; a worker started again brings 200s within 5 s.
func TestRecovery_AllWorkersStopUnderLoad(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	s.startWorker(t)
	s.startWorker(t)
	base := s.startServer(t)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tl, wait := loadUntil(ctx, base, 100, 400)
	time.Sleep(3 * time.Second)
	stopped := time.Now()
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Go(func() { w.stop(t, 30*time.Second) })
	}
	wg.Wait()
	gone := time.Now()
	// Past the 3 s switch and one reply timeout (10 s), every slot taken
	// before the switch is back: the gate must then stay empty.
	time.Sleep(3*time.Second + 10*time.Second + time.Second)
	var held []int64
	for range 10 {
		held = append(held, gateHeld(t, in, s.gateKey))
		time.Sleep(100 * time.Millisecond)
	}
	started := time.Now()
	s.workers = nil
	s.startWorker(t)
	ready := time.Now()
	time.Sleep(6 * time.Second)
	stop()
	wait()

	t.Logf("workers told to stop at %.1fs, gone at %.1fs, one started at %.1fs (ready %.1fs); per-second statuses by start time:\n%s",
		stopped.Sub(tl.t0).Seconds(), gone.Sub(tl.t0).Seconds(), started.Sub(tl.t0).Seconds(), ready.Sub(tl.t0).Seconds(),
		tl.table(map[string]time.Time{"stop": stopped, "gone": gone, "start": started, "ready": ready}))

	for _, c := range tl.startedIn(stopped.Add(3*time.Second), started) {
		require.Equal(t, http.StatusServiceUnavailable, c.status, "a request at +%.1fs after the workers stopped", c.start.Sub(stopped).Seconds())
		require.Less(t, c.end.Sub(c.start), time.Second, "the 503 is at once")
	}
	assert.Equal(t, []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, held, "no slot held for requests refused for want of a worker")
	first, ok := firstOK(tl.startedIn(started, time.Now()))
	require.True(t, ok, "no 200 after a worker started again")
	t.Logf("first 200 %.2fs after the worker process started", first.Sub(started).Seconds())
	assert.LessOrEqual(t, first.Sub(started), 5*time.Second, "200s within 5 s of a worker starting")
}
