package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/report"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseFlags(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o, err := parseFlags(nil, io.Discard, now)
	require.NoError(t, err)
	require.Equal(t, "closed-20260102-030405", o.Label)
	require.Equal(t, "queue=3,root=1", o.Mix.String())
	require.Equal(t, 100*time.Millisecond, o.ThinkMin, "Locust's between(0.1, 0.5)")
	require.Equal(t, 500*time.Millisecond, o.ThinkMax)
	require.Equal(t, []int{25, 50, 100, 200, 400}, o.Steps)

	o, err = parseFlags([]string{"-mode", "sweep"}, io.Discard, now)
	require.NoError(t, err)
	require.Zero(t, o.ThinkMax, "a sweep is unpaced unless think time is given")
	o, err = parseFlags([]string{"-mode", "sweep", "-think-max", "1s"}, io.Discard, now)
	require.NoError(t, err)
	require.Equal(t, time.Second, o.ThinkMax)

	bad := [][]string{
		{"-mode", "soak"},
		{"-users", "0"},
		{"-think-min", "1s", "-think-max", "10ms"},
		{"-weights", "queue=3,login=1"},
		{"-steps", "50,25"},
		{"-max-errors", "2"},
		{"-label", "../elsewhere"},
		{"-label", "a/b"},
		{"-duration", "0s"},
		{"-duration", "3h"},
		{"-max-requests", "0"},
		{"-pprof", "0.0.0.0:6060"},
		{"stray"},
		{"-readme", "README.md"},
		{"-summarize"},
		{"-summarize", "-users", "5", "locust-10u"},
		{"-summarize", "../elsewhere"},
	}
	for _, args := range bad {
		_, err := parseFlags(args, io.Discard, now)
		require.Error(t, err, "%v", args)
	}
}

func TestParseFlags_FairModes(t *testing.T) {
	o, err := parseFlags([]string{"-mode", "fair"}, io.Discard, time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"http://127.0.0.1:8000"}, o.URLs, "-url when -urls is not given")
	require.Equal(t, 200, o.GreedyConns)
	require.Equal(t, "127.0.0.1", o.GreedySource.String())
	require.Equal(t, 10, o.Polite)
	require.Equal(t, "127.0.0.2", o.PoliteSource.String())
	require.Equal(t, 50*time.Millisecond, o.PaceMin)
	require.Equal(t, 100*time.Millisecond, o.PaceMax)

	o, err = parseFlags([]string{"-mode", "lone", "-urls", "http://127.0.0.1:1, http://127.0.0.1:2", "-urls-off", "http://127.0.0.1:3"}, io.Discard, time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, o.URLs)
	require.Equal(t, []string{"http://127.0.0.1:3"}, o.URLsOff)

	for _, args := range [][]string{
		{"-mode", "lone"}, // no -urls-off
		{"-mode", "lone", "-urls-off", "http://127.0.0.1:3", "-slices", "0"},
		{"-mode", "fair", "-greedy-source", "10.0.0.1"},
		{"-mode", "fair", "-greedy-source", "nonsense"},
		{"-mode", "fair", "-polite-source", "127.0.0.250"}, // ten clients run past .254
		{"-mode", "fair", "-polite", "0"},
		{"-mode", "fair", "-greedy-conns", "0"},
		{"-mode", "fair", "-pace-min", "1s", "-pace-max", "10ms"},
	} {
		_, err := parseFlags(args, io.Discard, time.Now())
		require.Error(t, err, "%v", args)
	}
}

func TestParseSummarize(t *testing.T) {
	o, err := parseFlags([]string{"-summarize", "-out", "results", "-readme", "README.md", "locust-10u", "sweep"}, io.Discard, time.Now())
	require.NoError(t, err)
	require.True(t, o.Summarize)
	require.Equal(t, []string{"locust-10u", "sweep"}, o.Labels)
	require.Equal(t, "results", o.Out)
	require.Equal(t, "README.md", o.Readme)

	_, err = parseFlags([]string{"-summarize", "-users", "5", "-label", "x", "a"}, io.Discard, time.Now())
	require.ErrorContains(t, err, "-label does not apply with -summarize")
	require.ErrorContains(t, err, "-users does not apply with -summarize")
}

func TestRunSummarize(t *testing.T) {
	out := t.TempDir()
	started := time.Date(2026, 11, 28, 16, 10, 0, 0, time.UTC)
	st := stats.Stats{
		Routes: []stats.RouteStats{
			{Method: "POST", Name: "/queue", Requests: 352_884, RPS: 5881.4, Classes: map[string]int64{"ok": 352_884}, Latency: stats.Latency{P50Ms: 15.1, P90Ms: 22.5, P99Ms: 33.44, MaxMs: 71}},
			{Method: "GET", Name: "/", Requests: 117_672, RPS: 1961.2, Classes: map[string]int64{"ok": 117_672}, Latency: stats.Latency{P50Ms: 2.4, P99Ms: 12.2}},
		},
		Aggregated: stats.RouteStats{Name: stats.AggregatedName, Requests: 470_556, RPS: 7842.6, Classes: map[string]int64{"ok": 470_556}},
	}
	sum := report.Record{
		Label: "unpaced-100u", Mode: "closed", Settings: map[string]string{"users": "100", "think-min": "0s", "think-max": "0s", "duration": "1m0s"},
		Machine: report.Machine{CPUs: 2, CPUModel: "AMD EPYC 7B13", OS: "linux", Arch: "amd64", GoVersion: "go1.26.8"},
		Started: started, Finished: started.Add(65 * time.Second), StopReason: "duration", MeasuredS: 60,
		Stats: st, Checks: report.NewChecks(st, stats.CodeCheck{Unique: 352_884}),
	}
	_, err := report.WriteAll(filepath.Join(out, sum.Label), sum, nil)
	require.NoError(t, err)
	readme := filepath.Join(out, "README.md")
	require.NoError(t, os.WriteFile(readme, []byte("# Benchmarks\n\n<!-- bench:results:begin -->\n<!-- bench:results:end -->\n\nBy hand.\n"), 0o600))

	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-summarize", "-out", out, "-readme", readme, "unpaced-100u"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "28 Nov 2026, 16:10–16:11 UTC, on 2 cores (CPU model `AMD EPYC 7B13`), linux/amd64, go1.26.8")
	require.Contains(t, stdout.String(), "| `unpaced-100u`: 100 users, unpaced, 60 s | 5,881 | 15.1 / 22.5 / 33.4 / 71.0 | 1,961 | 2.4 / 12.2 | 7,843 | 0 | 0 | 0 | 0 |")
	written, err := os.ReadFile(readme)
	require.NoError(t, err)
	require.Equal(t, "# Benchmarks\n\n<!-- bench:results:begin -->\n\n"+stdout.String()+"\n<!-- bench:results:end -->\n\nBy hand.\n", string(written))

	stdout.Reset()
	err = run(context.Background(), []string{"-summarize", "-out", out, "unpaced-100u", "sweep"}, &stdout, &stderr)
	require.ErrorContains(t, err, filepath.Join(out, "sweep", "summary.json"))
	require.Empty(t, stdout.String(), "nothing printed when a run is missing")
}

func TestRunRefusesRemoteTarget(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-url", "http://192.0.2.1:8000", "-out", t.TempDir()}, &stdout, &stderr)
	require.ErrorIs(t, err, target.ErrRemoteHost)
}

// fakeServer answers GET /, GET /healthz and POST /queue with fresh codes,
// or with the same code every time when repeat is set.
func fakeServer(t *testing.T, repeat bool) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/queue" {
			code := n.Add(1)
			if repeat {
				code = 7
			}
			_, _ = fmt.Fprintf(w, `{"gift_code":"GIFT-%d","request_id":"x"}`, code)
			return
		}
		_, _ = w.Write([]byte(`{"Hello":"World"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunWritesResults(t *testing.T) {
	srv := fakeServer(t, false)
	out := t.TempDir()
	for _, mode := range [][]string{
		{"-mode", "closed", "-users", "5", "-think-min", "1ms", "-think-max", "5ms"},
		{"-mode", "open", "-rate", "200"},
		{"-mode", "sweep", "-steps", "1,2", "-max-p99", "1s"},
	} {
		label := mode[1]
		args := append([]string{"-url", srv.URL, "-out", out, "-label", label, "-warmup", "100ms", "-duration", "400ms"}, mode...)
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
		require.Contains(t, stdout.String(), "checks: pass")
		for _, f := range []string{"stats.csv", "failures.csv", "history.csv", "summary.json", "report.html"} {
			require.FileExists(t, filepath.Join(out, label, f))
		}
		var sum report.Record
		raw, err := os.ReadFile(filepath.Join(out, label, "summary.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &sum))
		require.Positive(t, sum.Stats.Aggregated.Requests, label)
		require.Positive(t, sum.Machine.CPUs, "machine recorded")
		require.Equal(t, "400ms", sum.Settings["duration"], "settings in effect are recorded")
	}
	require.FileExists(t, filepath.Join(out, "sweep", "sweep.csv"))
	raw, err := os.ReadFile(filepath.Join(out, "sweep", "summary.json"))
	require.NoError(t, err)
	var sw report.Record
	require.NoError(t, json.Unmarshal(raw, &sw))
	require.Equal(t, "0s", sw.Settings["think-max"], "a sweep is unpaced by default")
	require.Len(t, sw.Sweep.Steps, 2)
}

func TestRunFailsOnDuplicateCodes(t *testing.T) {
	srv := fakeServer(t, true)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL, "-out", t.TempDir(), "-label", "dup", "-users", "2",
		"-weights", "queue=1", "-warmup", "0s", "-duration", "10s", "-max-requests", "20"}, &stdout, &stderr)
	require.ErrorIs(t, err, errChecksFailed)
	require.Contains(t, stdout.String(), "duplicate codes 19 (of 1 unique)")
}

func TestRunInterruptedStillWritesResults(t *testing.T) {
	srv := fakeServer(t, false)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-url", srv.URL, "-out", out, "-label", "int", "-users", "3", "-warmup", "100ms", "-duration", "1m"}, &stdout, &stderr)
	require.ErrorIs(t, err, errInterrupted)
	require.FileExists(t, filepath.Join(out, "int", "report.html"))
	require.Contains(t, stdout.String(), "stopped by interrupted")
}

func TestRunFailsFastWithoutServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-url", url, "-out", t.TempDir()}, &stdout, &stderr)
	require.ErrorContains(t, err, "nothing answers")
}
