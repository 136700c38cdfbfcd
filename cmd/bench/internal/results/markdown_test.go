package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/report"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// labels are the runs of `go tool task bench`, in its order.
var labels = []string{"locust-10u", "locust-100u", "locust-1000u", "unpaced-100u", "sweep"}

var machine = report.Machine{CPUs: 2, CPUModel: "AMD EPYC 7B13", OS: "linux", Arch: "amd64", GoVersion: "go1.26.8"}

// figures are what a fixture run measured: /queue and GET / rates and
// latencies (ms), and the 429s among the /queue answers.
type figures struct {
	queueRPS, rootRPS    float64
	queue                stats.Latency
	root                 stats.Latency
	limited, seconds     int64
	users                string
	thinkMin, thinkMax   string
	warmup, duration     string
	mode                 string
	sweep                *load.SweepResult
	started              time.Time
	duplicates, missings int64
}

// routeStats builds one route's figures the way the recorder reports them.
func routeStats(method, name string, rps float64, lat stats.Latency, limited, seconds int64) stats.RouteStats {
	n := int64(rps * float64(seconds))
	return stats.RouteStats{
		Method: method, Name: name, Requests: n, RPS: rps, OKPerSec: float64(n-limited) / float64(seconds),
		Classes: map[string]int64{stats.OK.String(): n - limited, stats.Limited.String(): limited, stats.ServerError.String(): 0, stats.NetError.String(): 0},
		Status:  map[string]int64{"200": n - limited, "429": limited},
		Latency: lat,
	}
}

// fixture is a run's summary.json as cmd/bench writes it.
func fixture(label string, f figures) report.Record {
	q := routeStats("POST", "/queue", f.queueRPS, f.queue, f.limited, f.seconds)
	r := routeStats("GET", "/", f.rootRPS, f.root, 0, f.seconds)
	agg := routeStats("", stats.AggregatedName, f.queueRPS+f.rootRPS, f.queue, f.limited, f.seconds)
	st := stats.Stats{Routes: []stats.RouteStats{q, r}, Aggregated: agg}
	if f.missings > 0 {
		st.Routes[0].Errors = map[string]int64{"200 without gift_code": f.missings}
	}
	mode := f.mode
	if mode == "" {
		mode = "closed"
	}
	return report.Record{
		Label: label, Mode: mode, Target: "http://127.0.0.1:8000", Command: "bench -label " + label,
		Settings: map[string]string{
			"mode": mode, "users": f.users, "think-min": f.thinkMin, "think-max": f.thinkMax,
			"warmup": f.warmup, "duration": f.duration, "max-p99": "50ms", "max-errors": "0.01", "weights": "queue=3,root=1",
		},
		Machine: machine, Started: f.started, Finished: f.started.Add(time.Duration(f.seconds+5) * time.Second),
		StopReason: load.StopDuration, MeasuredS: float64(f.seconds), Sent: agg.Requests,
		Stats: st, Checks: report.NewChecks(st, stats.CodeCheck{Unique: q.Count(stats.OK), Duplicates: f.duplicates}),
		Sweep: f.sweep,
	}
}

var day = time.Date(2026, 11, 28, 16, 10, 0, 0, time.UTC)

func fixtures() []report.Record {
	lat := func(p50, p90, p99, maxMs float64) stats.Latency {
		return stats.Latency{Count: 1, P50Ms: p50, P90Ms: p90, P99Ms: p99, MaxMs: maxMs}
	}
	sweep := &load.SweepResult{Knee: 2, Broken: true, StopReason: load.StopDuration, Steps: []load.Step{
		{Users: 25, RPS: 4477.2, OKPerSec: 4477.2, P50Ms: 6.21, P99Ms: 12.52, Pass: true},
		{Users: 50, RPS: 5657.4, OKPerSec: 5657.4, P50Ms: 9.44, P99Ms: 22.31, Pass: true},
		{Users: 100, RPS: 7632.1, OKPerSec: 7632.1, P50Ms: 13.4, P99Ms: 37.2, Pass: true},
		{Users: 200, RPS: 10493, OKPerSec: 7121, LimitedPerSec: 3372, P50Ms: 22.4, P99Ms: 67.1, Why: "p99 67.1 ms > 50.0 ms"},
	}}
	cet := time.FixedZone("CET", 3600)
	return []report.Record{
		fixture("locust-10u", figures{queueRPS: 24.66, rootRPS: 7.83, queue: lat(4.52, 5.21, 7.04, 10.2), root: lat(0.41, 0.5, 0.72, 0.8),
			seconds: 30, users: "10", thinkMin: "100ms", thinkMax: "500ms", warmup: "5s", duration: "30s", started: day.In(cet)}),
		fixture("locust-100u", figures{queueRPS: 247.2, rootRPS: 82.1, queue: lat(3.9, 5.0, 9.21, 27), root: lat(0.2, 0.4, 1.1, 17),
			seconds: 60, users: "100", thinkMin: "100ms", thinkMax: "500ms", warmup: "5s", duration: "1m0s", started: day.Add(time.Minute)}),
		fixture("locust-1000u", figures{queueRPS: 2451.4, rootRPS: 817.3, queue: lat(6.2, 10.4, 23.66, 77), root: lat(0.6, 1.9, 6.5, 37),
			limited: 206, seconds: 60, users: "1000", thinkMin: "100ms", thinkMax: "500ms", warmup: "10s", duration: "1m0s", started: day.Add(2 * time.Minute)}),
		fixture("unpaced-100u", figures{queueRPS: 5881.4, rootRPS: 1961.2, queue: lat(15.1, 22.5, 33.44, 71), root: lat(2.4, 5.7, 12.2, 49),
			seconds: 60, users: "100", thinkMin: "0s", thinkMax: "0s", warmup: "5s", duration: "1m0s", started: day.Add(3 * time.Minute)}),
		fixture("sweep", figures{mode: "sweep", queueRPS: 5719.3, rootRPS: 1912.8, queue: lat(14, 21, 39.4, 80), root: lat(2, 5, 11, 40),
			seconds: 20, users: "100", thinkMin: "0s", thinkMax: "0s", warmup: "5s", duration: "20s", started: day.Add(4 * time.Minute), sweep: sweep}),
	}
}

// writeFixtures writes the runs with the report package's own writer, as
// cmd/bench does, into <out>/<label>/, and returns out.
func writeFixtures(t *testing.T, runs []report.Record) string {
	t.Helper()
	out := t.TempDir()
	for _, s := range runs {
		_, err := report.WriteAll(filepath.Join(out, s.Label), s, nil)
		require.NoError(t, err)
	}
	return out
}

// row returns the cells of the main table's row of a run.
func row(t *testing.T, md, label string) []string {
	t.Helper()
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(line, "| `"+label+"`:") {
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			require.Len(t, cells, 10, line)
			return cells
		}
	}
	t.Fatalf("no row for %s in:\n%s", label, md)
	return nil
}

func TestSectionShowsEveryRun(t *testing.T) {
	out := writeFixtures(t, fixtures())
	runs, err := Read(out, labels)
	require.NoError(t, err)
	md := Markdown(runs)

	first := strings.SplitN(md, "\n", 2)[0]
	for _, want := range []string{"28 Nov 2026", "16:10–16:", "UTC", "2 cores", "AMD EPYC 7B13", "linux/amd64", "go1.26.8", "`go tool task bench`"} {
		require.Contains(t, first, want, "the first line names the date, the machine and the command")
	}

	// /queue req/s and p99 (the third of p50 / p90 / p99 / max), as formatted.
	for label, want := range map[string][2]string{
		"locust-10u": {"24.7", "7.0"}, "locust-100u": {"247", "9.2"}, "locust-1000u": {"2,451", "23.7"},
		"unpaced-100u": {"5,881", "33.4"}, "sweep": {"5,719", "39.4"},
	} {
		cells := row(t, md, label)
		require.Equal(t, want[0], cells[1], "%s /queue req/s", label)
		require.Equal(t, want[1], strings.Split(cells[2], " / ")[2], "%s /queue p99", label)
	}
	require.Equal(t, []string{
		"`unpaced-100u`: 100 users, unpaced, 60 s", "5,881", "15.1 / 22.5 / 33.4 / 71.0", "1,961", "2.4 / 12.2", "7,843", "0", "0", "0", "0",
	}, row(t, md, "unpaced-100u"))
	require.Equal(t, "`locust-10u`: 10 users, think 0.1–0.5 s, 30 s", row(t, md, "locust-10u")[0])
	require.Equal(t, "206 of 196,122", row(t, md, "locust-1000u")[6], "429s of all requests")
	require.Equal(t, "`sweep`: sweep, knee step (100 users), unpaced, 20 s per step", row(t, md, "sweep")[0])

	require.Contains(t, md, "(unpaced, 5 s warm-up + 20 s per step, bounds p99 ≤ 50 ms, failures ≤ 1 %)")
	require.Contains(t, md, "| users | req/s | ok/s | 429/s | errors % | p50 | p99 | verdict |")
	require.Contains(t, md, "| 100 | 7,632 | 7,632 | 0 | 0.00 | 13.4 | 37.2 | within bounds: **knee** |")
	require.Contains(t, md, "| 200 | 10,493 | 7,121 | 3,372 | 0.00 | 22.4 | 67.1 | p99 67.1 ms > 50.0 ms |")
	require.Contains(t, md, "Knee: **100 users** (the last step within the bounds).")
	require.NotContains(t, md, "failed the checks")

	require.Equal(t, md, Markdown(runs), "the same runs give the same section")
}

func TestSectionFlagsFailedChecksAndOtherKnees(t *testing.T) {
	runs := fixtures()
	bad := fixture("dup", figures{queueRPS: 10, rootRPS: 1, seconds: 10, users: "5", thinkMin: "0s", thinkMax: "0s",
		duration: "10s", started: day, duplicates: 3, missings: 2})
	bad.StopReason, bad.MeasuredS = load.StopInterrupted, 4.25
	runs = append(runs, bad)
	md := Markdown(runs)
	require.Equal(t, "3", row(t, md, "dup")[9], "duplicate codes")
	require.Contains(t, row(t, md, "dup")[0], "stopped by interrupted after 4.2 s")
	require.Contains(t, md, "**`dup` failed the checks**: 2 missing codes, 0 malformed codes, 3 duplicate codes.")

	none := runs[4]
	none.Sweep = &load.SweepResult{Knee: -1, Broken: true, Steps: []load.Step{{Users: 25, P99Ms: 80, Why: "p99 80.0 ms > 50.0 ms"}}}
	require.Contains(t, Markdown([]report.Record{none}), "Knee: none, the first step already broke a bound.")
	beyond := runs[4]
	beyond.Sweep = &load.SweepResult{Knee: 0, Steps: []load.Step{{Users: 25, Pass: true}}}
	require.Contains(t, Markdown([]report.Record{beyond}), "Knee: beyond **25 users** (no step broke a bound).")

	other := runs[1]
	other.Machine.CPUs, other.Machine.CPUModel = 1, "Other CPU"
	require.Contains(t, Markdown([]report.Record{runs[0], other}), "(`locust-100u` ran elsewhere: 1 core (CPU model `Other CPU`)")
}

func TestReadNamesTheMissingFile(t *testing.T) {
	out := writeFixtures(t, fixtures()[:1])
	_, err := Read(out, []string{"locust-10u", "locust-100u"})
	require.ErrorContains(t, err, filepath.Join(out, "locust-100u", "summary.json"))
	require.ErrorIs(t, err, os.ErrNotExist)

	broken := filepath.Join(out, "broken", "summary.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(broken), 0o755))
	require.NoError(t, os.WriteFile(broken, []byte("{not json"), 0o600))
	_, err = Read(out, []string{"broken"})
	require.ErrorContains(t, err, broken)

	require.NoError(t, os.WriteFile(broken, []byte("{}"), 0o600))
	_, err = Read(out, []string{"broken"})
	require.ErrorContains(t, err, broken+": not a bench summary")
}

func TestSpliceKeepsTheRestOfTheFile(t *testing.T) {
	before := "# Benchmarks\n\n## Results\n\nRewritten by every run:\n\n" + BeginMarker + "\n"
	after := EndMarker + "\n\nHand-written analysis, with `" + BeginMarker + "` quoted inline.\r\nNo final newline"
	doc := []byte(before + "old table\n| a | b |\n" + after)

	out, err := Splice(doc, "new section\n")
	require.NoError(t, err)
	require.Equal(t, before+"\nnew section\n\n"+after, string(out))
	again, err := Splice(out, "new section\n")
	require.NoError(t, err)
	require.Equal(t, out, again, "splicing twice gives the same file")
	require.NotContains(t, string(out), "old table")

	empty, err := Splice([]byte(before+after), "new section\n")
	require.NoError(t, err)
	require.Equal(t, out, empty, "empty markers are filled the same way")
}

func TestSpliceAppendsMissingMarkers(t *testing.T) {
	for _, doc := range []string{"# Benchmarks\n\nText.\n", "# Benchmarks\n\nNo final newline", ""} {
		out, err := Splice([]byte(doc), "section\n")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(out), doc), "the text before is kept")
		require.True(t, strings.HasSuffix(string(out), BeginMarker+"\n\nsection\n\n"+EndMarker+"\n"), "%q", out)
		again, err := Splice(out, "section\n")
		require.NoError(t, err)
		require.Equal(t, out, again, "the markers are found the second time")
	}
}

func TestSpliceRefusesBrokenMarkers(t *testing.T) {
	for _, doc := range []string{
		BeginMarker + "\nno end\n",
		"no begin\n" + EndMarker + "\n",
		EndMarker + "\n" + BeginMarker + "\n",
		BeginMarker + "\n" + EndMarker + "\n" + BeginMarker + "\n" + EndMarker + "\n",
	} {
		_, err := Splice([]byte(doc), "section\n")
		require.Error(t, err, "%q", doc)
	}
}

func TestSpliceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "README.md")
	doc := "# Results\n\n" + BeginMarker + "\n" + EndMarker + "\n\nBelow.\n"
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o640))

	section := Markdown(fixtures())
	require.NoError(t, SpliceFile(path, section))
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "# Results\n\n"+BeginMarker+"\n\n"+section+"\n"+EndMarker+"\n\nBelow.\n", string(first))
	require.NoError(t, SpliceFile(path, section))
	second, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, first, second, "idempotent")

	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), info.Mode().Perm(), "the file's mode is kept")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	require.NoError(t, os.WriteFile(path, []byte(BeginMarker+"\nno end\n"), 0o640))
	require.ErrorContains(t, SpliceFile(path, section), path)
	kept, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, BeginMarker+"\nno end\n", string(kept), "a file with broken markers is left alone")
	require.ErrorIs(t, SpliceFile(filepath.Join(dir, "missing.md"), section), os.ErrNotExist)
}

// TestRepoReadmeHasMarkers checks the committed benchmarks/README.md: one
// pair of markers, and splicing changes nothing outside them.
func TestRepoReadmeHasMarkers(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "benchmarks", "README.md"))
	require.NoError(t, err)
	out, err := Splice(doc, "section\n")
	require.NoError(t, err)
	b, e := bytes.Index(doc, []byte(BeginMarker)), bytes.Index(doc, []byte(EndMarker))
	require.Equal(t, doc[:b], out[:b], "the text above is kept")
	require.True(t, bytes.HasSuffix(out, doc[e:]), "the text below is kept")
}

func TestNumbers(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 7.83: "7.8", 24.66: "24.7", 99.94: "99.9", 99.96: "100", 247.4: "247", 5881.5: "5,882", 1234567.8: "1,234,568"} {
		require.Equal(t, want, rate(v), "%v", v)
	}
	for v, want := range map[float64]string{0: "0.0", 0.44: "0.4", 33.44: "33.4", 71: "71.0", 15000: "15,000.0"} {
		require.Equal(t, want, ms(v), "%v", v)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 147082: "147,082", -1234567: "-1,234,567"} {
		require.Equal(t, want, count(n), "%v", n)
	}
}
