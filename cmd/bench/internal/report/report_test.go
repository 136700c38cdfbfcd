package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// locustStatsHeader is the first line of a stats.csv written by Locust 2.x
// (locust --csv), as in the original project's results.
const locustStatsHeader = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time," +
	"Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s," +
	"50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"

// sampleRun records a small run: 100 fast /queue answers, a 429, a 503 and a
// GET / that found no server.
func sampleRun(t *testing.T) (stats.Stats, []stats.Tick) {
	t.Helper()
	start := time.Unix(1_700_000_000, 0)
	rec := stats.NewRecorder([]stats.RouteInfo{{Method: "POST", Name: "/queue"}, {Method: "GET", Name: "/"}}, start, start)
	at := start.Add(10 * time.Millisecond)
	for i := range 100 {
		rec.Record(stats.Outcome{Route: 0, Start: at, Latency: time.Duration(1000+10*i) * time.Microsecond, Status: 200, Class: stats.OK, Bytes: 70})
	}
	rec.Record(stats.Outcome{Route: 0, Start: at, Latency: 300 * time.Microsecond, Status: 429, Class: stats.Limited})
	rec.Record(stats.Outcome{Route: 0, Start: at, Latency: 5 * time.Millisecond, Status: 503, Class: stats.ServerError, Error: "HTTP 503 Service Unavailable"})
	rec.Record(stats.Outcome{Route: 1, Start: at, Latency: time.Millisecond, Class: stats.NetError, Error: "connection refused"})
	rec.Tick(start.Add(time.Second), 4)
	rec.Tick(start.Add(2*time.Second), 4)
	return rec.Stats(2 * time.Second), rec.History()
}

func TestStatsCSVHasLocustColumns(t *testing.T) {
	s, _ := sampleRun(t)
	var buf bytes.Buffer
	require.NoError(t, WriteStats(&buf, s))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Equal(t, locustStatsHeader, lines[0])
	require.Len(t, lines, 4, "header, two routes, Aggregated")

	rows, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	require.NoError(t, err)
	for _, r := range rows {
		require.Len(t, r, len(StatsHeader))
	}
	require.Equal(t, []string{"GET", "/", "1", "1"}, rows[1][:4], "sorted by name like Locust")
	require.Equal(t, "1", rows[1][len(rows[1])-1], "100% is the slowest, in ms")
	queue := rows[2]
	require.Equal(t, []string{"POST", "/queue", "102", "1"}, queue[:4], "the 429 is not a failure")
	require.Equal(t, "51.00", queue[9], "requests/s over the 2 s window")
	require.Equal(t, []string{"", "Aggregated", "103", "2"}, rows[3][:4])

	buf.Reset()
	require.NoError(t, WriteStats(&buf, stats.Stats{Aggregated: stats.RouteStats{Name: stats.AggregatedName}}))
	require.True(t, strings.HasSuffix(strings.TrimSpace(buf.String()), ",N/A,N/A"), "no request, no percentile, as Locust writes it")
}

func TestFailuresAndHistoryCSV(t *testing.T) {
	s, history := sampleRun(t)
	var buf bytes.Buffer
	require.NoError(t, WriteFailures(&buf, s))
	require.Equal(t, "Method,Name,Error,Occurrences\n"+
		"GET,/,connection refused,1\n"+
		"POST,/queue,HTTP 503 Service Unavailable,1\n", buf.String())

	buf.Reset()
	require.NoError(t, WriteHistory(&buf, history))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, HistoryHeader, rows[0])
	require.Len(t, rows, 1+2*3, "two seconds of two routes and Aggregated")
	require.Equal(t, []string{"1700000001", "1", "measure", "4", "", "Aggregated", "103"}, rows[3][:7])
}

func TestReportIsSelfContained(t *testing.T) {
	s, history := sampleRun(t)
	sum := Record{
		Label: "unit", Mode: "closed", Target: "http://127.0.0.1:8000", Command: "bench -users 4",
		Stats: s, Checks: NewChecks(s, stats.CodeCheck{Unique: 100}), Machine: ThisMachine(),
		Sweep: &load.SweepResult{Knee: 0, Steps: []load.Step{{Users: 25, OKPerSec: 100, P99Ms: 3, Pass: true}, {Users: 50, P99Ms: 90, Why: "p99 90.0 ms > 50.0 ms"}}, Broken: true},
	}
	dir := t.TempDir()
	paths, err := WriteAll(dir, sum, history)
	require.NoError(t, err)
	require.Len(t, paths, 6)

	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	html := string(page)
	require.NotRegexp(t, regexp.MustCompile(`(?i)<(script|link)[^>]+(src|href)=`), html, "nothing is loaded from elsewhere")
	require.Contains(t, html, "Apache Software Foundation", "ECharts is inlined")
	for _, id := range []string{"throughput", "latency", "users", "sweep_throughput", "sweep_latency"} {
		require.Contains(t, html, `id="`+id+`"`)
		require.Contains(t, html, "echarts.init(document.getElementById('"+id+"')")
	}
	require.Contains(t, html, "Knee: <b>25 users</b>")

	raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	var back Record
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, int64(100), back.Checks.QueueOK)
	require.True(t, back.Checks.Pass)
	require.Equal(t, int64(1), back.Stats.Aggregated.Classes["429"])
}

func TestChecks(t *testing.T) {
	s := stats.Stats{Routes: []stats.RouteStats{{
		Name: "/queue", Classes: map[string]int64{"ok": 10},
		Errors: map[string]int64{"200 without gift_code": 2, "200 with a body that is not JSON": 1, "gift_code without the GIFT- prefix": 3, "HTTP 504": 4},
	}}}
	c := NewChecks(s, stats.CodeCheck{Unique: 10})
	require.Equal(t, int64(10), c.QueueOK)
	require.Equal(t, int64(3), c.MissingCodes)
	require.Equal(t, int64(3), c.BadCodes)
	require.False(t, c.Pass)
	require.False(t, NewChecks(stats.Stats{}, stats.CodeCheck{Duplicates: 1}).Pass, "one duplicate fails the run")
	require.True(t, NewChecks(stats.Stats{}, stats.CodeCheck{}).Pass)
}

func TestCPUModel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpuinfo")
	require.NoError(t, os.WriteFile(p, []byte("processor\t: 0\nvendor_id\t: X\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"), 0o600))
	require.Equal(t, "AMD EPYC 7B13", cpuModel(p))
	require.Equal(t, "unknown", cpuModel(filepath.Join(t.TempDir(), "missing")))
}
