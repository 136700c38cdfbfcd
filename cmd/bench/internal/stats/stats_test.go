package stats_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

func TestClassOf(t *testing.T) {
	cases := map[int]stats.Class{
		0: stats.NetError, 200: stats.OK, 204: stats.OK, 429: stats.Limited,
		400: stats.ClientError, 404: stats.ClientError, 500: stats.ServerError, 503: stats.ServerError, 504: stats.ServerError,
	}
	for status, want := range cases {
		require.Equal(t, want, stats.ClassOf(status), "status %d", status)
	}
	require.False(t, stats.Limited.Failure(), "a 429 is the gate working, not a failure")
	require.False(t, stats.OK.Failure())
	require.True(t, stats.BadAnswer.Failure())
}

func TestCodesFindsDuplicates(t *testing.T) {
	c := stats.NewCodes()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				// every worker hands out codes 0..999 once; workers 0 and 1 overlap fully
				c.Add(fmt.Sprintf("GIFT-%d-%d", min(w, 1), i))
			}
		})
	}
	wg.Wait()
	got := c.Check()
	require.Equal(t, int64(2000), got.Unique)
	require.Equal(t, int64(6000), got.Duplicates)
	require.Len(t, got.Samples, 10)

	fresh := stats.NewCodes()
	require.False(t, fresh.Add("GIFT-A"))
	require.True(t, fresh.Add("GIFT-A"))
	require.False(t, fresh.Add("GIFT-B"))
	require.Equal(t, stats.CodeCheck{Unique: 2, Duplicates: 1, Samples: []string{"GIFT-A"}}, fresh.Check())
}

func TestRecorderExcludesWarmupAndKeeps429Apart(t *testing.T) {
	start := time.Now()
	measureFrom := start.Add(time.Second)
	r := stats.NewRecorder([]stats.RouteInfo{{Method: "POST", Name: "/queue"}, {Method: "GET", Name: "/"}}, start, measureFrom)

	warm := start.Add(100 * time.Millisecond)
	in := measureFrom.Add(100 * time.Millisecond)
	r.Record(stats.Outcome{Route: 0, Start: warm, Latency: 50 * time.Millisecond, Status: 200, Class: stats.OK})
	for i := range 100 {
		r.Record(stats.Outcome{Route: 0, Start: in, Latency: time.Duration(i+1) * time.Millisecond, Status: 200, Class: stats.OK, Bytes: 60})
	}
	r.Record(stats.Outcome{Route: 0, Start: in, Latency: time.Millisecond, Status: 429, Class: stats.Limited})
	r.Record(stats.Outcome{Route: 0, Start: in, Latency: 2 * time.Second, Status: 504, Class: stats.ServerError, Error: "HTTP 504"})
	r.Record(stats.Outcome{Route: 1, Start: in, Latency: 300 * time.Microsecond, Status: 0, Class: stats.NetError, Error: "connection refused"})

	s := r.Stats(2 * time.Second)
	q, ok := s.Route("/queue")
	require.True(t, ok)
	require.Equal(t, int64(102), q.Requests, "the warm-up request is left out")
	require.Equal(t, int64(1), q.Failures, "429 is not a failure, 504 is")
	require.Equal(t, int64(1), q.Count(stats.Limited))
	require.Equal(t, int64(100), q.Count(stats.OK))
	require.Equal(t, map[string]int64{"200": 100, "429": 1, "504": 1}, q.Status)
	require.InDelta(t, 51.0, q.RPS, 0.001)
	require.InDelta(t, 50.0, q.LatencyByClass["ok"].P50Ms, 0.1)
	require.InDelta(t, 99.0, q.LatencyByClass["ok"].P99Ms, 0.1)
	require.InDelta(t, 2000, q.Latency.MaxMs, 2)
	require.Equal(t, map[string]int64{"HTTP 504": 1}, q.Errors)

	require.Equal(t, int64(103), s.Aggregated.Requests)
	require.Equal(t, int64(2), s.Aggregated.Failures)
	require.Equal(t, int64(1), s.Aggregated.Status["net"])
	require.Equal(t, stats.AggregatedName, s.Aggregated.Name)

	tot := r.Totals()
	require.Equal(t, stats.Totals{Requests: 104, OK: 101, Limited: 1, Failures: 2}, tot, "live totals include warm-up")

	tick := r.Tick(start.Add(1500*time.Millisecond), 10)
	require.Equal(t, stats.PhaseWarmup, tick.Phase, "the interval began in the warm-up")
	require.Equal(t, 10, tick.Users)
	require.Len(t, tick.Rows, 3)
	require.Equal(t, int64(104), tick.Aggregated().Requests)
	require.InDelta(t, 104/1.5, tick.Aggregated().RPS, 0.01)
	next := r.Tick(start.Add(2500*time.Millisecond), 10)
	require.Zero(t, next.Aggregated().Requests, "a tick starts a fresh interval")
	require.Equal(t, stats.PhaseMeasure, next.Phase)
	require.Len(t, r.History(), 2)
}
