// Package load drives the traffic: a closed model (Locust-like users with
// think time), an open model (a fixed arrival rate) and a sweep that raises
// concurrency step by step until latency or errors pass a bound.
package load

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/scenario"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// Why a run stopped.
const (
	StopDuration    = "duration"
	StopMaxRequests = "max-requests"
	StopInterrupted = "interrupted"
)

// Config is one run (or one step of a sweep).
type Config struct {
	Mix scenario.Mix
	// Closed model.
	Users     int
	SpawnRate float64 // users started per second; ≤ 0 starts them all at once
	ThinkMin  time.Duration
	ThinkMax  time.Duration
	// HonourRetryAfter makes a user wait an answer's Retry-After instead of
	// its think time, as a well-behaved client does after a 429 or a 503.
	HonourRetryAfter bool
	// OwnConns gives each user a connection of its own (Client.Session)
	// instead of one pool shared by all.
	OwnConns bool
	// Open model.
	Rate        float64 // requests per second
	MaxInFlight int     // requests in flight at most; more are counted as dropped
	// Both.
	Warmup   time.Duration // sent but left out of the figures
	Duration time.Duration // measured, after the warm-up
	// Grace bounds how long requests still in flight at the end may take
	// after an interrupt; at a normal end they get the request timeout.
	Grace time.Duration
	// TickEvery is the history interval (1 s unless set).
	TickEvery time.Duration
	// OnTick, if set, is called after every history interval.
	OnTick func(Live)
	// Seed makes the users' choices repeatable; 0 picks one.
	Seed uint64
}

// Live is what the progress view shows after each interval.
type Live struct {
	Tick    stats.Tick
	Totals  stats.Totals
	Planned time.Duration // warm-up + duration
	Step    string        // "" or the sweep step, e.g. "step 2/5"
}

// Result is one finished run.
type Result struct {
	Start       time.Time
	MeasureFrom time.Time
	End         time.Time     // when sending stopped
	Measured    time.Duration // from MeasureFrom to End (0 if stopped in warm-up)
	StopReason  string
	Sent        int64 // requests sent, warm-up included
	Dropped     int64 // open model: requests not sent because MaxInFlight were in flight
	Stats       stats.Stats
	History     []stats.Tick
}

// Budget is the hard bound on requests sent, shared by every step of a run.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget allows limit requests.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Take reserves one request; false when the budget is spent.
func (b *Budget) Take() bool { return b.used.Add(1) <= b.limit }

// Used returns the number of requests reserved.
func (b *Budget) Used() int64 { return min(b.used.Load(), b.limit) }

// run is the machinery shared by the models: the deadline, the stop reason,
// the recorder, the ticker and the teardown of requests in flight.
type run struct {
	cfg         Config
	client      *httpclient.Client
	rec         *stats.Recorder
	budget      *Budget
	start       time.Time
	measureFrom time.Time

	parent  context.Context
	sending context.Context // cancelled when no new request may start
	stop    context.CancelFunc
	reqs    context.Context // cancelled to abandon requests in flight
	abandon context.CancelFunc

	reasonOnce sync.Once
	reason     string
	sent       atomic.Int64
	active     atomic.Int64 // users running, or requests in flight
}

func newRun(ctx context.Context, c *httpclient.Client, cfg Config, budget *Budget) *run {
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	r := &run{cfg: cfg, client: c, budget: budget, parent: ctx, start: time.Now()}
	r.measureFrom = r.start.Add(cfg.Warmup)
	r.rec = stats.NewRecorder(c.Routes(), r.start, r.measureFrom)
	r.sending, r.stop = context.WithDeadline(ctx, r.measureFrom.Add(cfg.Duration))
	r.reqs, r.abandon = context.WithCancel(context.WithoutCancel(ctx))
	return r
}

// take reserves a request from the budget, stopping the run when it is spent.
func (r *run) take() bool {
	if r.sending.Err() != nil {
		return false
	}
	if !r.budget.Take() {
		r.halt(StopMaxRequests)
		return false
	}
	r.sent.Add(1)
	return true
}

// send sends route i, due at start, and records its outcome.
// send sends route i through c and records its outcome; it returns the
// answer's Retry-After (0 when none, or when the run is being torn down).
func (r *run) send(c *httpclient.Client, i int, start time.Time) time.Duration {
	o, ok := c.Do(r.reqs, i, start)
	if !ok {
		return 0
	}
	r.rec.Record(o)
	return o.RetryAfter
}

func (r *run) halt(reason string) {
	r.reasonOnce.Do(func() { r.reason = reason })
	r.stop()
}

// tickLoop records a history interval every TickEvery until done is closed.
func (r *run) tickLoop(done <-chan struct{}) {
	t := time.NewTicker(r.cfg.TickEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			r.tick(now)
		}
	}
}

func (r *run) tick(now time.Time) {
	tk := r.rec.Tick(now, int(r.active.Load()))
	if r.cfg.OnTick != nil {
		r.cfg.OnTick(Live{Tick: tk, Totals: r.rec.Totals(), Planned: r.cfg.Warmup + r.cfg.Duration})
	}
}

// finish waits for the senders (wg) once sending has stopped: requests in
// flight get the request timeout, or Grace after an interrupt, and are then
// abandoned. It closes the history and computes the figures.
func (r *run) finish(wg *sync.WaitGroup, stopTicks chan<- struct{}, tickerDone <-chan struct{}) Result {
	<-r.sending.Done()
	end := time.Now()
	switch {
	case r.parent.Err() != nil:
		r.halt(StopInterrupted)
	default:
		r.halt(StopDuration) // no-op when max-requests came first
	}
	// Requests in flight may finish (a normal end waits for the request
	// timeout, so the slowest answers are counted); after an interrupt they
	// get Grace, then they are abandoned and not recorded.
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	timer := time.NewTimer(r.client.Timeout() + time.Second)
	select {
	case <-waited:
	case <-timer.C:
	case <-r.parent.Done():
		grace := time.NewTimer(r.cfg.Grace)
		select {
		case <-waited:
		case <-grace.C:
		}
		grace.Stop()
	}
	timer.Stop()
	r.abandon()
	<-waited
	close(stopTicks)
	<-tickerDone
	// The last interval holds the answers that came after sending stopped;
	// it spans a full interval so that its rates are not those of a few
	// milliseconds.
	last := time.Now()
	if full := r.rec.LastTick().Add(r.cfg.TickEvery); last.Before(full) {
		last = full
	}
	r.rec.Tick(last, int(r.active.Load())) // not shown live: the run is over

	measured := max(end.Sub(r.measureFrom), 0)
	return Result{
		Start: r.start, MeasureFrom: r.measureFrom, End: end, Measured: measured,
		StopReason: r.reason, Sent: r.sent.Load(),
		Stats: r.rec.Stats(measured), History: r.rec.History(),
	}
}

// startTicks runs the ticker; close the first channel to stop it, the second
// is closed once it has.
func (r *run) startTicks() (chan struct{}, chan struct{}) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { r.tickLoop(stop); close(done) }()
	return stop, done
}

// Sleep waits d or until ctx is done; false if ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
