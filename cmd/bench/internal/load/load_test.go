package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/scenario"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeService answers like the real one: GET / and POST /queue with a fresh
// gift code, or whatever queue says.
type fakeService struct {
	seq   atomic.Int64
	queue func(w http.ResponseWriter, n int64) // nil: a fresh code
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		_, _ = w.Write([]byte(`{"Hello":"World"}`))
	case r.Method == http.MethodPost && r.URL.Path == "/queue":
		n := f.seq.Add(1)
		if f.queue != nil {
			f.queue(w, n)
			return
		}
		_, _ = fmt.Fprintf(w, `{"gift_code":"GIFT-%08d","request_id":"r%d"}`, n, n)
	default:
		http.NotFound(w, r)
	}
}

func newClient(t *testing.T, h http.Handler, weights string) (*httpclient.Client, *stats.Codes) {
	t.Helper()
	srv := httptest.NewServer(h)
	mix, err := scenario.ParseWeights(weights)
	require.NoError(t, err)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	codes := stats.NewCodes()
	c := httpclient.New(u, mix, codes, httpclient.Config{Timeout: 2 * time.Second, MaxConns: 64})
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c, codes
}

func baseConfig(t *testing.T, weights string) load.Config {
	t.Helper()
	mix, err := scenario.ParseWeights(weights)
	require.NoError(t, err)
	return load.Config{Mix: mix, Grace: time.Second, TickEvery: 100 * time.Millisecond, Seed: 42}
}

func TestClosedStopsAtMaxRequests(t *testing.T) {
	c, codes := newClient(t, &fakeService{}, "queue=3,root=1")
	cfg := baseConfig(t, "queue=3,root=1")
	cfg.Users, cfg.Duration = 20, 30*time.Second // the budget must end it long before
	began := time.Now()
	res, err := load.RunClosed(context.Background(), c, cfg, load.NewBudget(500))
	require.NoError(t, err)
	require.Less(t, time.Since(began), 10*time.Second)
	require.Equal(t, load.StopMaxRequests, res.StopReason)
	require.Equal(t, int64(500), res.Sent)
	require.Equal(t, int64(500), res.Stats.Aggregated.Requests)
	require.Zero(t, res.Stats.Aggregated.Failures)
	q, _ := res.Stats.Route("/queue")
	require.InDelta(t, 375, q.Requests, 60, "weights 3:1")
	require.Equal(t, q.Requests, codes.Check().Unique)
	require.Zero(t, codes.Check().Duplicates)
}

func TestClosedStopsAtDurationAndKeepsThinkTime(t *testing.T) {
	c, _ := newClient(t, &fakeService{}, "queue=1")
	cfg := baseConfig(t, "queue=1")
	cfg.Users, cfg.SpawnRate = 10, 100
	cfg.ThinkMin, cfg.ThinkMax = 50*time.Millisecond, 150*time.Millisecond
	cfg.Warmup, cfg.Duration = 200*time.Millisecond, 800*time.Millisecond
	began := time.Now()
	res, err := load.RunClosed(context.Background(), c, cfg, load.NewBudget(1_000_000))
	require.NoError(t, err)
	took := time.Since(began)
	require.GreaterOrEqual(t, took, time.Second)
	require.Less(t, took, 3*time.Second)
	require.Equal(t, load.StopDuration, res.StopReason)
	require.InDelta(t, 0.8, res.Measured.Seconds(), 0.1)
	// 10 users, one request per 50–150 ms of think time: ~100 req/s, never
	// above 10 / 50 ms = 200 (without think time it would be thousands). The
	// lower bound is loose: a busy machine only makes the users slower.
	require.Less(t, res.Stats.Aggregated.RPS, 150.0)
	require.Greater(t, res.Stats.Aggregated.RPS, 20.0)
	require.Less(t, res.Stats.Aggregated.Requests, res.Sent, "warm-up requests are left out")
	require.NotEmpty(t, res.History)
	require.Equal(t, stats.PhaseWarmup, res.History[0].Phase)
	require.Equal(t, stats.PhaseMeasure, res.History[len(res.History)-1].Phase)
}

func TestClosedInterruptedStillReturnsFigures(t *testing.T) {
	c, _ := newClient(t, &fakeService{}, "queue=1")
	cfg := baseConfig(t, "queue=1")
	cfg.Users, cfg.Duration = 5, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := load.RunClosed(ctx, c, cfg, load.NewBudget(1_000_000))
	require.NoError(t, err)
	require.Equal(t, load.StopInterrupted, res.StopReason)
	require.Positive(t, res.Stats.Aggregated.Requests)
}

func TestAnswersAreChecked(t *testing.T) {
	svc := &fakeService{queue: func(w http.ResponseWriter, n int64) {
		switch n % 5 {
		case 0:
			_, _ = w.Write([]byte(`{"gift_code":"GIFT-SAME"}`)) // handed out again and again
		case 1:
			_, _ = w.Write([]byte(`{"request_id":"x"}`)) // no code
		case 2:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusTooManyRequests)
		case 3:
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			_, _ = fmt.Fprintf(w, `{"gift_code":"GIFT-%d"}`, n)
		}
	}}
	c, codes := newClient(t, svc, "queue=1")
	cfg := baseConfig(t, "queue=1")
	cfg.Users, cfg.Duration = 1, time.Minute
	res, err := load.RunClosed(context.Background(), c, cfg, load.NewBudget(100))
	require.NoError(t, err)
	q, _ := res.Stats.Route("/queue")
	require.Equal(t, int64(100), q.Requests)
	require.Equal(t, int64(21), q.Count(stats.OK), "20 unique codes and the first GIFT-SAME")
	require.Equal(t, int64(20), q.Count(stats.Limited))
	require.Equal(t, int64(20), q.Count(stats.ServerError))
	require.Equal(t, int64(39), q.Count(stats.BadAnswer))
	require.Equal(t, int64(20), q.Errors["200 without gift_code"])
	require.Equal(t, int64(19), q.Errors["duplicate gift_code"])
	require.Equal(t, int64(59), q.Failures, "5xx and bad answers; 429s are not failures")
	check := codes.Check()
	require.Equal(t, int64(19), check.Duplicates)
	require.Equal(t, []string{"GIFT-SAME"}, check.Samples[:1])
}

func TestNetworkErrorsAreCounted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	srv.Close() // nothing listens there any more
	mix, err := scenario.ParseWeights("root=1")
	require.NoError(t, err)
	c := httpclient.New(u, mix, stats.NewCodes(), httpclient.Config{Timeout: time.Second})
	defer c.Close()
	cfg := baseConfig(t, "root=1")
	cfg.Users, cfg.Duration = 1, time.Minute
	res, err := load.RunClosed(context.Background(), c, cfg, load.NewBudget(10))
	require.NoError(t, err)
	require.Equal(t, int64(10), res.Stats.Aggregated.Count(stats.NetError))
	require.Equal(t, int64(10), res.Stats.Aggregated.Status["net"])
	require.Equal(t, int64(10), res.Stats.Aggregated.Errors["connection refused"])
}

func TestOpenKeepsTheRate(t *testing.T) {
	c, _ := newClient(t, &fakeService{}, "queue=3,root=1")
	cfg := baseConfig(t, "queue=3,root=1")
	cfg.Rate, cfg.MaxInFlight = 400, 100
	cfg.Warmup, cfg.Duration = 200*time.Millisecond, time.Second
	res, err := load.RunOpen(context.Background(), c, cfg, load.NewBudget(1_000_000))
	require.NoError(t, err)
	require.Equal(t, load.StopDuration, res.StopReason)
	// Arrivals follow the clock, not the answers: whatever the machine's load,
	// the requests due over the run's real length were sent (or dropped).
	due := 400 * res.End.Sub(res.Start).Seconds()
	require.InEpsilon(t, due, float64(res.Sent+res.Dropped), 0.05)

	res, err = load.RunOpen(context.Background(), c, cfg, load.NewBudget(50))
	require.NoError(t, err)
	require.Equal(t, load.StopMaxRequests, res.StopReason)
	require.Equal(t, int64(50), res.Sent)
}

// TestSweepFindsTheKnee runs a sweep against a server that fails whenever it
// has more than 4 requests in flight: up to 4 users every step passes, at 8
// the error rate breaks the bound, so the knee is at 4 however busy the
// machine is (the count drops before the answer is written, so a user's next
// request never meets its own last one).
func TestSweepFindsTheKnee(t *testing.T) {
	var inFlight atomic.Int64
	limited := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		if n > 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintf(w, `{"Hello":"World"}`)
	})
	c, _ := newClient(t, limited, "root=1")
	cfg := baseConfig(t, "root=1")
	cfg.Warmup, cfg.Duration = 100*time.Millisecond, 600*time.Millisecond
	var started []int
	res, err := load.Sweep(context.Background(), c, cfg,
		load.SweepConfig{Steps: []int{1, 2, 4, 8, 16}, MaxP99: 10 * time.Second, MaxErrors: 0.01},
		load.NewBudget(1_000_000), func(_, users int) { started = append(started, users) })
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 4, 8}, started, "the sweep stops after the first step over the bound")
	require.True(t, res.Broken)
	require.Equal(t, 4, res.KneeUsers())
	require.Contains(t, res.Steps[3].Why, "error rate")
	require.Greater(t, res.Steps[2].OKPerSec, res.Steps[0].OKPerSec)
}

// TestSweepStopsOnP99 breaks the sweep on latency: one request alone takes
// 20 ms, one that meets another takes 600 ms, twice the 300 ms bound (two
// users meet within a few requests, and then keep meeting).
func TestSweepStopsOnP99(t *testing.T) {
	var inFlight atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if inFlight.Add(1) > 1 {
			time.Sleep(600 * time.Millisecond)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
		inFlight.Add(-1)
		_, _ = fmt.Fprintf(w, `{"Hello":"World"}`)
	})
	c, _ := newClient(t, slow, "root=1")
	cfg := baseConfig(t, "root=1")
	cfg.Warmup, cfg.Duration = 100*time.Millisecond, 800*time.Millisecond
	res, err := load.Sweep(context.Background(), c, cfg,
		load.SweepConfig{Steps: []int{1, 2, 4}, MaxP99: 300 * time.Millisecond, MaxErrors: 0.01},
		load.NewBudget(1_000_000), nil)
	require.NoError(t, err)
	require.True(t, res.Broken)
	require.Len(t, res.Steps, 2)
	require.Equal(t, 1, res.KneeUsers())
	require.Contains(t, res.Steps[1].Why, "p99")
}

func TestClosedHonoursRetryAfterWhenAsked(t *testing.T) {
	refuse := &fakeService{queue: func(w http.ResponseWriter, _ int64) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusTooManyRequests)
	}}
	run := func(honour bool) int64 {
		c, _ := newClient(t, refuse, "queue=1")
		cfg := baseConfig(t, "queue=1")
		cfg.Users, cfg.Duration, cfg.HonourRetryAfter = 2, 1500*time.Millisecond, honour
		res, err := load.RunClosed(context.Background(), c, cfg, load.NewBudget(1_000_000))
		require.NoError(t, err)
		q, _ := res.Stats.Route("/queue")
		return q.Count(stats.Limited)
	}
	// Each user sends at 0 s and after its 1 s Retry-After: 4 in 1.5 s.
	require.Equal(t, int64(4), run(true), "two users, each refused at 0 s and 1 s")
	require.Greater(t, run(false), int64(20), "unpaced users ignore Retry-After")
}
