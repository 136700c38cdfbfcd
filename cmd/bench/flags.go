package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/fairshare"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/results"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/scenario"
)

// Modes of load.
const (
	modeClosed = "closed"
	modeOpen   = "open"
	modeSweep  = "sweep"
	modeFair   = "fair" // a greedy client and polite ones at once (fairshare.Run)
	modeLone   = "lone" // one client, fair share on against off (fairshare.RunAB)
)

// maxRun bounds one run (or one sweep step): warm-up plus duration.
const maxRun = 2 * time.Hour

// options are the command-line flags, checked.
type options struct {
	URL         string
	AllowRemote bool
	Mode        string
	Users       int
	SpawnRate   float64
	ThinkMin    time.Duration
	ThinkMax    time.Duration
	RetryAfter  bool // closed: wait an answer's Retry-After instead of the think time
	OwnConns    bool // closed: each user its own connection
	Weights     string
	Mix         scenario.Mix
	Rate        float64
	MaxInFlight int
	Steps       []int
	MaxP99      time.Duration
	MaxErrors   float64
	Duration    time.Duration
	Warmup      time.Duration
	MaxRequests int64
	Timeout     time.Duration
	Label       string
	Out         string
	PProf       string
	Progress    time.Duration
	// Summarize asks for the Markdown summary of earlier runs (Labels, read
	// from <Out>/<label>/summary.json) instead of a run; with Readme it is
	// also written into that file.
	Summarize bool
	Readme    string
	Labels    []string
	// Set lists the flags given on the command line, with their values.
	Set map[string]string
	fairOptions
}

// fairOptions are the flags of the fair and lone modes.
type fairOptions struct {
	URLs         []string // instances of the deployment under load (fair share on, for lone)
	URLsOff      []string // lone: instances of the deployment with fair share off
	GreedyConns  int
	GreedySource net.IP
	Polite       int
	PoliteSource net.IP
	PaceMin      time.Duration
	PaceMax      time.Duration
	SampleEvery  time.Duration
	RedisURL     string
	GateKey      string
	Slices       int
}

// settings lists every setting in effect, for summary.json.
func (o *options) settings() map[string]string {
	d := func(v time.Duration) string { return v.String() }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	steps := make([]string, len(o.Steps))
	for i, n := range o.Steps {
		steps[i] = strconv.Itoa(n)
	}
	return map[string]string{
		"url": o.URL, "allow-remote": strconv.FormatBool(o.AllowRemote), "mode": o.Mode,
		"users": strconv.Itoa(o.Users), "spawn-rate": f(o.SpawnRate), "think-min": d(o.ThinkMin), "think-max": d(o.ThinkMax),
		"retry-after": strconv.FormatBool(o.RetryAfter), "own-conns": strconv.FormatBool(o.OwnConns),
		"weights": o.Mix.String(), "rate": f(o.Rate), "max-inflight": strconv.Itoa(o.MaxInFlight),
		"steps": strings.Join(steps, ","), "max-p99": d(o.MaxP99), "max-errors": f(o.MaxErrors),
		"duration": d(o.Duration), "warmup": d(o.Warmup), "max-requests": strconv.FormatInt(o.MaxRequests, 10),
		"timeout": d(o.Timeout), "label": o.Label, "out": o.Out,
	}
}

func parseFlags(args []string, stderr io.Writer, now time.Time) (options, error) {
	var o options
	var steps, urls, urlsOff, greedySource, politeSource string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8000", "base URL of the server under load (loopback only, unless -allow-remote)")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.StringVar(&o.Mode, "mode", modeClosed, "closed (users with think time), open (fixed arrival rate), sweep (rising concurrency until a bound breaks), fair (a greedy client and polite ones: the fair share) or lone (one client, fair share on against off)")
	fs.IntVar(&o.Users, "users", 100, "closed: simulated users")
	fs.Float64Var(&o.SpawnRate, "spawn-rate", 100, "closed and sweep: users started per second (0: all at once)")
	fs.DurationVar(&o.ThinkMin, "think-min", 100*time.Millisecond, "closed: shortest wait after each request (sweep: 0 unless given)")
	fs.DurationVar(&o.ThinkMax, "think-max", 500*time.Millisecond, "closed: longest wait after each request (sweep: 0 unless given)")
	fs.BoolVar(&o.RetryAfter, "retry-after", false, "closed: after an answer with Retry-After (429, 503), a user waits that long instead of its think time, as a well-behaved client does")
	fs.BoolVar(&o.OwnConns, "own-conns", false, "closed: each user keeps a connection of its own, as each Locust user has its own session (default: one pool shared by all)")
	fs.StringVar(&o.Weights, "weights", "queue=3,root=1", "route weights; routes: "+strings.Join(scenario.Keys(), ", ")+" (queue = POST /queue, root = GET /)")
	fs.Float64Var(&o.Rate, "rate", 1000, "open: requests per second")
	fs.IntVar(&o.MaxInFlight, "max-inflight", 5000, "open: requests in flight at most; arrivals beyond are dropped and counted")
	fs.StringVar(&steps, "steps", "25,50,100,200,400", "sweep: users per step, rising")
	fs.DurationVar(&o.MaxP99, "max-p99", 50*time.Millisecond, "sweep: bound on the p99 of successful requests")
	fs.Float64Var(&o.MaxErrors, "max-errors", 0.01, "sweep: bound on the failure rate (0.01 = 1%; 429s are not failures)")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "measured time after the warm-up (sweep: per step)")
	fs.DurationVar(&o.Warmup, "warmup", 5*time.Second, "time before the measured window, left out of the figures (sweep: per step)")
	fs.Int64Var(&o.MaxRequests, "max-requests", 5_000_000, "hard bound on requests sent, warm-up and every step included")
	fs.DurationVar(&o.Timeout, "timeout", 15*time.Second, "per-request timeout")
	fs.StringVar(&o.Label, "label", "", "results go to <out>/<label>/ (default: <mode>-<date>-<time>)")
	fs.StringVar(&o.Out, "out", "benchmarks", "folder of the results folders")
	fs.StringVar(&o.PProf, "pprof", "", "serve the bench's own pprof on this loopback address, e.g. 127.0.0.1:6061 (off by default)")
	fs.DurationVar(&o.Progress, "progress-every", 5*time.Second, "when not on a terminal, print a progress line this often")
	fs.StringVar(&urls, "urls", "", "fair and lone: the instances' base URLs, comma-separated (default: -url); lone: those with fair share on")
	fs.StringVar(&urlsOff, "urls-off", "", "lone: the base URLs of the instances with fair share off, comma-separated")
	fs.IntVar(&o.GreedyConns, "greedy-conns", 200, "fair: the greedy client's unpaced connections, pinned round-robin to the instances")
	fs.StringVar(&greedySource, "greedy-source", "127.0.0.1", "fair: the greedy client's source address (lone: the lone client's)")
	fs.IntVar(&o.Polite, "polite", 10, "fair: polite clients, one request at a time each")
	fs.StringVar(&politeSource, "polite-source", "127.0.0.2", "fair: the first polite client's source address; each next one the next address")
	fs.DurationVar(&o.PaceMin, "pace-min", 50*time.Millisecond, "fair: a polite client's shortest wait after each answer")
	fs.DurationVar(&o.PaceMax, "pace-max", 100*time.Millisecond, "fair: a polite client's longest wait after each answer")
	fs.DurationVar(&o.SampleEvery, "sample-every", 20*time.Millisecond, "fair: how often the instances' gate gauges are read from /metrics")
	fs.StringVar(&o.RedisURL, "redis-url", "", "fair: also count the gate's leases in this Redis (ZCARD of -gate-key), e.g. redis://127.0.0.1:6379/0")
	fs.StringVar(&o.GateKey, "gate-key", "{rps}:gate", "fair: the gate's key in Redis (gate.key)")
	fs.IntVar(&o.Slices, "slices", 4, "lone: slices per side, the sides alternating; lone: -users is the client's connections")
	fs.BoolVar(&o.Summarize, "summarize", false, "instead of a run, print a Markdown table of the runs named as arguments (read from <out>/<label>/summary.json)")
	fs.StringVar(&o.Readme, "readme", "", "with -summarize: also write the table into this file, between the lines "+results.BeginMarker+" and "+results.EndMarker)
	fs.Usage = func() {
		_, _ = fmt.Fprintln(fs.Output(), "Usage: bench [flags]\n       bench -summarize [-out dir] [-readme file] label...\n\n"+
			"Load generator for the rps server: Locust-like users, a fixed rate, a sweep,\n"+
			"or the fair share between clients (-mode fair, -mode lone).\n"+
			"Results: <out>/<label>/{stats.csv,failures.csv,history.csv,summary.json,report.html}.\n"+
			"-summarize prints the results of the runs named (and with -readme writes them into a README).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.Set = map[string]string{}
	fs.Visit(func(f *flag.Flag) { o.Set[f.Name] = f.Value.String() })
	if o.Summarize {
		return o, o.validateSummarize(fs.Args())
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s (labels are arguments only with -summarize)", strings.Join(fs.Args(), " "))
	}
	if o.Readme != "" {
		return o, errors.New("-readme needs -summarize")
	}
	if o.Mode == modeSweep {
		// A sweep looks for the ceiling: unpaced unless think time is asked for.
		if _, ok := o.Set["think-min"]; !ok {
			o.ThinkMin = 0
		}
		if _, ok := o.Set["think-max"]; !ok {
			o.ThinkMax = 0
		}
	}
	if o.Label == "" {
		o.Label = o.Mode + "-" + now.Format("20060102-150405")
	}
	var err error
	if o.Mix, err = scenario.ParseWeights(o.Weights); err != nil {
		return o, err
	}
	if o.Steps, err = parseSteps(steps); err != nil {
		return o, err
	}
	if o.Mode == modeFair || o.Mode == modeLone {
		o.URLs, o.URLsOff = splitList(urls), splitList(urlsOff)
		if len(o.URLs) == 0 {
			o.URLs = []string{o.URL}
		}
		o.GreedySource, o.PoliteSource = net.ParseIP(greedySource), net.ParseIP(politeSource)
	}
	return o, o.validate()
}

func (o *options) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(slices.Contains([]string{modeClosed, modeOpen, modeSweep, modeFair, modeLone}, o.Mode), "-mode must be closed, open, sweep, fair or lone, got %q", o.Mode)
	check(o.Users > 0, "-users must be above 0")
	check(o.SpawnRate >= 0, "-spawn-rate must be 0 or more")
	check(o.ThinkMin >= 0 && o.ThinkMax >= o.ThinkMin, "-think-min must be ≥ 0 and ≤ -think-max")
	check(o.Rate > 0, "-rate must be above 0")
	check(o.MaxInFlight > 0, "-max-inflight must be above 0")
	check(o.MaxP99 > 0, "-max-p99 must be above 0")
	check(o.MaxErrors >= 0 && o.MaxErrors <= 1, "-max-errors must be a fraction between 0 and 1")
	check(o.Duration > 0, "-duration must be above 0")
	check(o.Warmup >= 0, "-warmup must be 0 or more")
	check(o.Warmup+o.Duration <= maxRun, "-warmup plus -duration must be at most %s", maxRun)
	check(o.MaxRequests > 0, "-max-requests must be above 0")
	check(o.Timeout > 0, "-timeout must be above 0")
	check(o.Progress > 0, "-progress-every must be above 0")
	check(plainName(o.Label),
		"-label must be a plain folder name, got %q", o.Label)
	if o.PProf != "" {
		host, _, err := net.SplitHostPort(o.PProf)
		ip := net.ParseIP(host)
		check(err == nil && (host == "localhost" || ip != nil && ip.IsLoopback()), "-pprof must be a loopback host:port, got %q", o.PProf)
	}
	if o.Mode == modeFair || o.Mode == modeLone {
		errs = append(errs, o.validateFair())
	}
	return errors.Join(errs...)
}

// validateFair checks the flags of the fair and lone modes.
func (o *options) validateFair() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	local := func(ip net.IP) bool { return ip != nil && (o.AllowRemote || ip.IsLoopback()) }
	check(local(o.GreedySource), "-greedy-source must be a loopback address (unless -allow-remote)")
	switch o.Mode {
	case modeFair:
		check(o.GreedyConns > 0, "-greedy-conns must be above 0")
		check(o.Polite > 0, "-polite must be above 0")
		check(o.PaceMin >= 0 && o.PaceMax >= o.PaceMin, "-pace-min must be ≥ 0 and ≤ -pace-max")
		check(o.SampleEvery > 0, "-sample-every must be above 0")
		sources, err := fairshare.Sources(o.PoliteSource, o.Polite)
		check(err == nil, "-polite-source: %v", err)
		for _, ip := range sources {
			check(local(ip), "-polite-source: %s is not a loopback address (unless -allow-remote)", ip)
		}
	case modeLone:
		check(len(o.URLsOff) > 0, "-mode lone needs -urls-off: the instances with fair share off")
		check(o.Slices > 0, "-slices must be above 0")
	}
	return errors.Join(errs...)
}

// splitList reads a comma-separated list, leaving out empty items.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// validateSummarize checks -summarize: only -out and -readme apply, and at
// least one label is named.
func (o *options) validateSummarize(labels []string) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(o.Set)) {
		if name != "summarize" && name != "out" && name != "readme" {
			errs = append(errs, fmt.Errorf("-%s does not apply with -summarize (only -out and -readme do)", name))
		}
	}
	if len(labels) == 0 {
		errs = append(errs, errors.New("-summarize needs the labels of the runs, e.g. bench -summarize locust-10u sweep"))
	}
	for _, l := range labels {
		if !plainName(l) {
			errs = append(errs, fmt.Errorf("-summarize: a label must be a plain folder name, got %q", l))
		}
	}
	o.Labels = labels
	return errors.Join(errs...)
}

// plainName tells whether label names a folder right inside -out.
func plainName(label string) bool {
	return label != "" && label != "." && label != ".." && filepath.Base(label) == label && !strings.ContainsAny(label, `/\`)
}

// parseSteps reads "25,50,100": positive, strictly rising user counts.
func parseSteps(s string) ([]int, error) {
	var steps []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-steps: %q is not a user count above 0", part)
		}
		if len(steps) > 0 && n <= steps[len(steps)-1] {
			return nil, fmt.Errorf("-steps must rise, got %d after %d", n, steps[len(steps)-1])
		}
		steps = append(steps, n)
	}
	if len(steps) == 0 {
		return nil, errors.New("-steps: no step")
	}
	return steps, nil
}
