// Command bench is the service's load generator. It runs the original's
// Locust scenarios (users with think time, POST /queue weighted 3:1 over
// GET /), a fixed arrival rate, or a sweep of rising concurrency that finds
// the knee; it checks every answer (a 200 from /queue must carry a fresh
// GIFT- code) and writes Locust-style CSVs, a JSON summary and an HTML
// report into benchmarks/<label>/. -mode fair measures the fair share
// between clients (one greedy client and polite ones, each from a loopback
// address of its own, against several instances) and -mode lone a lone
// client against fair share on and off; both write fair.json and fair.md.
// With -summarize it runs nothing: it
// prints a Markdown table of earlier runs (bench -summarize locust-10u sweep)
// and, with -readme, writes it into a README between two marker lines.
//
// It targets only loopback addresses unless -allow-remote is given, and
// every run is bounded in time (-warmup + -duration) and in requests
// (-max-requests). SIGINT stops it early; the results are still written.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/progress"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/report"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/results"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// Exit statuses besides 0 and 1.
const (
	exitChecksFailed = 3   // the answers failed a check (missing or duplicate codes)
	exitInterrupted  = 130 // stopped by SIGINT; results written
)

var (
	errChecksFailed = errors.New("answers failed the checks (see summary.json)")
	errInterrupted  = errors.New("interrupted; results written")
)

// grace is how long requests in flight may still finish after SIGINT.
const grace = 2 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(exitInterrupted)
	case errors.Is(err, errChecksFailed):
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(exitChecksFailed)
	default:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run parses args, runs the load and writes the results. Progress goes to
// stderr (a live line on a terminal), the final table to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	started := time.Now()
	o, err := parseFlags(args, stderr, started)
	if err != nil {
		return err
	}
	if o.Summarize {
		return summarize(o, stdout, stderr)
	}
	if o.Mode == modeFair || o.Mode == modeLone {
		return runFair(ctx, o, args, started, stdout, stderr)
	}
	base, err := target.Check(ctx, o.URL, o.AllowRemote, net.DefaultResolver)
	if err != nil {
		return err
	}
	if o.PProf != "" {
		bound, stopPProf, err := servePProf(ctx, o.PProf)
		if err != nil {
			return err
		}
		defer stopPProf()
		_, _ = fmt.Fprintf(stderr, "bench: pprof listening on %s\n", bound)
	}

	codes := stats.NewCodes()
	client := httpclient.New(base, o.Mix, codes, httpclient.Config{
		AllowRemote: o.AllowRemote, Timeout: o.Timeout,
		MaxConns: max(o.Users, o.MaxInFlight, o.Steps[len(o.Steps)-1]),
	})
	defer client.Close()
	if err := preflight(ctx, base.String(), o.AllowRemote); err != nil {
		return err
	}

	prog := newPrinter(stderr, o.Progress)
	cfg := load.Config{
		Mix: o.Mix, Users: o.Users, SpawnRate: o.SpawnRate, ThinkMin: o.ThinkMin, ThinkMax: o.ThinkMax,
		HonourRetryAfter: o.RetryAfter, OwnConns: o.OwnConns, Rate: o.Rate, MaxInFlight: o.MaxInFlight, Warmup: o.Warmup, Duration: o.Duration,
		Grace: grace, OnTick: prog.Update,
	}
	budget := load.NewBudget(o.MaxRequests)
	prog.Printf("bench %s: %s → %s", o.Label, describe(o), base)

	sum, history, err := runMode(ctx, o, client, cfg, budget, prog)
	prog.Done()
	if err != nil {
		return err
	}
	sum.Label, sum.Mode, sum.Target = o.Label, o.Mode, base.String()
	sum.Command = "bench " + strings.Join(args, " ")
	sum.Settings = o.settings()
	sum.Machine = report.ThisMachine()
	sum.Started, sum.Finished = started, time.Now()
	sum.Checks = report.NewChecks(sum.Stats, codes.Check())

	dir := filepath.Join(o.Out, o.Label)
	if _, err := report.WriteAll(dir, sum, history); err != nil {
		return err
	}
	printRunTable(stdout, sum)
	_, _ = fmt.Fprintf(stdout, "results: %s/{stats.csv,failures.csv,history.csv,summary.json,report.html}\n", dir)
	switch {
	case !sum.Checks.Pass:
		return errChecksFailed
	case sum.StopReason == load.StopInterrupted:
		return errInterrupted
	}
	return nil
}

// summarize prints the Markdown section of the runs o.Labels and, with
// -readme, writes it into that file between its marker lines.
func summarize(o options, stdout, stderr io.Writer) error {
	runs, err := results.Read(o.Out, o.Labels)
	if err != nil {
		return err
	}
	section := results.Markdown(runs)
	if _, err := io.WriteString(stdout, section); err != nil {
		return err
	}
	if o.Readme == "" {
		return nil
	}
	if err := results.SpliceFile(o.Readme, section); err != nil {
		return fmt.Errorf("-readme: %w", err)
	}
	_, _ = fmt.Fprintf(stderr, "bench: results written to %s\n", o.Readme)
	return nil
}

// runMode runs the chosen model and returns its record (figures, stop
// reason) and its history.
func runMode(ctx context.Context, o options, c *httpclient.Client, cfg load.Config, budget *load.Budget, prog *progress.Printer) (report.Record, []stats.Tick, error) {
	var sum report.Record
	var res load.Result
	var err error
	switch o.Mode {
	case modeClosed:
		res, err = load.RunClosed(ctx, c, cfg, budget)
	case modeOpen:
		res, err = load.RunOpen(ctx, c, cfg, budget)
	case modeSweep:
		return runSweep(ctx, o, c, cfg, budget, prog)
	}
	if err != nil {
		return sum, nil, err
	}
	sum.StopReason, sum.MeasuredS, sum.Sent, sum.Dropped = res.StopReason, res.Measured.Seconds(), res.Sent, res.Dropped
	sum.Stats = res.Stats
	return sum, res.History, nil
}

// runSweep runs the steps; the record's figures are the knee step's (the
// first step's when none stayed within the bounds) and the history runs
// across every step.
func runSweep(ctx context.Context, o options, c *httpclient.Client, cfg load.Config, budget *load.Budget, prog *progress.Printer) (report.Record, []stats.Tick, error) {
	var sum report.Record
	sweepStart := time.Now()
	sw, err := load.Sweep(ctx, c, cfg, load.SweepConfig{Steps: o.Steps, MaxP99: o.MaxP99, MaxErrors: o.MaxErrors}, budget,
		func(i, users int) { prog.SetPrefix(fmt.Sprintf("[step %d/%d: %d users] ", i+1, len(o.Steps), users)) })
	if err != nil {
		return sum, nil, err
	}
	var history []stats.Tick
	for _, s := range sw.Steps {
		offset := s.Result.Start.Sub(sweepStart)
		for _, t := range s.Result.History {
			t.Elapsed += offset
			history = append(history, t)
		}
		sum.Sent += s.Result.Sent
	}
	if len(sw.Steps) > 0 {
		pick := sw.Steps[max(sw.Knee, 0)].Result
		sum.Stats, sum.MeasuredS = pick.Stats, pick.Measured.Seconds()
	}
	sum.StopReason = sw.StopReason
	sum.Sweep = &sw
	return sum, history, nil
}

func describe(o options) string {
	switch o.Mode {
	case modeOpen:
		return fmt.Sprintf("open model, %.0f req/s, weights %s, warm-up %s + %s", o.Rate, o.Mix, o.Warmup, o.Duration)
	case modeSweep:
		return fmt.Sprintf("sweep of %v users, think %s–%s, weights %s, warm-up %s + %s per step, bounds p99 ≤ %s, errors ≤ %.2f%%",
			o.Steps, o.ThinkMin, o.ThinkMax, o.Mix, o.Warmup, o.Duration, o.MaxP99, 100*o.MaxErrors)
	default:
		retry := ""
		if o.RetryAfter {
			retry = " (Retry-After honoured)"
		}
		if o.OwnConns {
			retry += ", a connection per user"
		}
		return fmt.Sprintf("%d users (%.0f/s), think %s–%s%s, weights %s, warm-up %s + %s", o.Users, o.SpawnRate, o.ThinkMin, o.ThinkMax, retry, o.Mix, o.Warmup, o.Duration)
	}
}

// newPrinter shows a live line when w is a terminal, plain lines otherwise.
func newPrinter(w io.Writer, every time.Duration) *progress.Printer {
	if f, ok := w.(*os.File); ok {
		return progress.New(f, every)
	}
	return progress.NewPlain(w, every)
}

// preflight fails fast when nothing answers at base (any HTTP answer will do).
func preflight(ctx context.Context, base string, allowRemote bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", http.NoBody)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: target.GuardDial((&net.Dialer{}).DialContext, allowRemote, net.DefaultResolver)}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("nothing answers at %s: %w", base, err)
	}
	_ = resp.Body.Close()
	return nil
}
