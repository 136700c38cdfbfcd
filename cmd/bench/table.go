package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/report"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// printRunTable writes the final table: figures per route (ms), the checks,
// and the sweep's steps.
func printRunTable(w io.Writer, s report.Record) {
	_, _ = fmt.Fprintf(w, "\n%s (%s): stopped by %s, %.1f s measured, %d requests sent\n", s.Label, s.Mode, s.StopReason, s.MeasuredS, s.Sent)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "route\trequests\treq/s\tok/s\tp50\tp90\tp99\tp99.9\tmax\t200\t429\t4xx\t5xx\tnet\tbad\t")
	for _, r := range append(slices.Clone(s.Stats.Routes), s.Stats.Aggregated) {
		l := r.Latency
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t\n",
			(r.Method + " " + r.Name), r.Requests, r.RPS, r.OKPerSec, l.P50Ms, l.P90Ms, l.P99Ms, l.P999Ms, l.MaxMs,
			r.Count(stats.OK), r.Count(stats.Limited), r.Count(stats.ClientError), r.Count(stats.ServerError),
			r.Count(stats.NetError), r.Count(stats.BadAnswer))
	}
	_ = tw.Flush()
	verdict := "pass"
	if !s.Checks.Pass {
		verdict = "FAIL"
	}
	_, _ = fmt.Fprintf(w, "checks: %s — /queue 200s with a code %d, missing codes %d, malformed codes %d, duplicate codes %d (of %d unique)\n",
		verdict, s.Checks.QueueOK, s.Checks.MissingCodes, s.Checks.BadCodes, s.Checks.Duplicates, s.Checks.Unique)
	if s.Sweep == nil {
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "users\treq/s\tok/s\t429/s\terrors %\tok p50\tok p99\tok p99.9\tverdict")
	for _, st := range s.Sweep.Steps {
		why := "within bounds"
		if !st.Pass {
			why = st.Why
		}
		_, _ = fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n",
			st.Users, st.RPS, st.OKPerSec, st.LimitedPerSec, 100*st.ErrorRate, st.P50Ms, st.P99Ms, st.P999Ms, why)
	}
	_ = tw.Flush()
	switch {
	case s.Sweep.Knee < 0:
		_, _ = fmt.Fprintln(w, "knee: none — the first step already broke a bound")
	case s.Sweep.Broken:
		_, _ = fmt.Fprintf(w, "knee: %d users (the last step within the bounds)\n", s.Sweep.KneeUsers())
	default:
		_, _ = fmt.Fprintf(w, "knee: beyond %d users (no step broke a bound)\n", s.Sweep.KneeUsers())
	}
}
