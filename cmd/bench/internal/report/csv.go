// Package report writes a run's results: stats.csv and failures.csv in
// Locust's formats (to set beside the original's CSVs), history.csv (one row
// per route per second), sweep.csv, summary.json and a self-contained
// report.html with charts.
package report

import (
	"cmp"
	"encoding/csv"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// StatsHeader is Locust's stats.csv header (locust --csv), column for column.
var StatsHeader = []string{
	"Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
	"Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
	"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
}

// FailuresHeader is Locust's failures.csv header.
var FailuresHeader = []string{"Method", "Name", "Error", "Occurrences"}

// HistoryHeader is history.csv's header: one row per route, then
// "Aggregated", per interval (a second).
var HistoryHeader = []string{
	"Timestamp", "Elapsed", "Phase", "User Count", "Type", "Name", "Requests",
	"Requests/s", "OK/s", "429/s", "Failures/s", "50%", "90%", "99%", "99.9%", "100%",
}

// SweepHeader is sweep.csv's header: one row per step.
var SweepHeader = []string{
	"Users", "Requests/s", "OK/s", "429/s", "Error Rate", "OK 50%", "OK 99%", "OK 99.9%", "Pass", "Why",
}

// Times are milliseconds to the microsecond; rates two decimals.
func msText(v float64) string   { return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64) }
func rateText(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func intText(v int64) string    { return strconv.FormatInt(v, 10) }

// WriteStats writes stats.csv: one row per route (sorted by name, then
// method, as Locust does), then "Aggregated". Failures are every answer but
// 2xx and 429 (plus 2xx answers that failed a check); 429s are in
// summary.json. Times are in milliseconds, like Locust's, with decimals.
func WriteStats(w io.Writer, s stats.Stats) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(StatsHeader)
	routes := slices.Clone(s.Routes)
	slices.SortFunc(routes, func(a, b stats.RouteStats) int {
		return strings.Compare(a.Name+" "+a.Method, b.Name+" "+b.Method)
	})
	for _, r := range append(routes, s.Aggregated) {
		l := r.Latency
		row := []string{
			r.Method, r.Name, intText(r.Requests), intText(r.Failures),
			msText(l.P50Ms), msText(l.MeanMs), msText(l.MinMs), msText(l.MaxMs),
			rateText(r.AvgBytes), rateText(r.RPS), rateText(r.FailuresPerSec),
		}
		for _, p := range []float64{l.P50Ms, l.P66Ms, l.P75Ms, l.P80Ms, l.P90Ms, l.P95Ms, l.P98Ms, l.P99Ms, l.P999Ms, l.P9999Ms, l.MaxMs} {
			if r.Requests == 0 {
				row = append(row, "N/A")
				continue
			}
			row = append(row, msText(p))
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// WriteFailures writes failures.csv: what went wrong, per route, most
// frequent first. 429s are not failures and are not listed.
func WriteFailures(w io.Writer, s stats.Stats) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(FailuresHeader)
	type row struct {
		method, name, err string
		n                 int64
	}
	var rows []row
	for _, r := range s.Routes {
		for e, n := range r.Errors {
			rows = append(rows, row{r.Method, r.Name, e, n})
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name+a.err, b.name+b.err))
	})
	for _, r := range rows {
		_ = cw.Write([]string{r.method, r.name, r.err, intText(r.n)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteHistory writes history.csv.
func WriteHistory(w io.Writer, history []stats.Tick) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(HistoryHeader)
	for _, t := range history {
		for _, r := range t.Rows {
			_ = cw.Write([]string{
				intText(t.Time.Unix()), strconv.FormatFloat(t.Elapsed.Round(time.Millisecond).Seconds(), 'f', -1, 64),
				t.Phase, strconv.Itoa(t.Users), r.Method, r.Name, intText(r.Requests),
				rateText(r.RPS), rateText(r.OKPerSec), rateText(r.LimitedPerSec), rateText(r.FailPerSec),
				msText(r.P50Ms), msText(r.P90Ms), msText(r.P99Ms), msText(r.P999Ms), msText(r.MaxMs),
			})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSweep writes sweep.csv.
func WriteSweep(w io.Writer, sw load.SweepResult) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(SweepHeader)
	for _, s := range sw.Steps {
		_ = cw.Write([]string{
			strconv.Itoa(s.Users), rateText(s.RPS), rateText(s.OKPerSec), rateText(s.LimitedPerSec),
			strconv.FormatFloat(s.ErrorRate, 'f', 4, 64), msText(s.P50Ms), msText(s.P99Ms), msText(s.P999Ms),
			strconv.FormatBool(s.Pass), s.Why,
		})
	}
	cw.Flush()
	return cw.Error()
}
