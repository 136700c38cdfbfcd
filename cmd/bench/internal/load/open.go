package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
)

// catchUp is how far ahead of schedule the open model sleeps at most between
// arrivals: below it, due requests are sent in a burst rather than sleeping
// for less than the timer's resolution.
const catchUp = 500 * time.Microsecond

// RunOpen runs the open model: requests arrive at cfg.Rate per second whether
// or not earlier ones were answered, so a slow server cannot slow the load
// down (no coordinated omission): latency is counted from the time a request
// was due, not from when it could be sent. At most cfg.MaxInFlight requests
// are in flight; an arrival beyond that is counted as dropped, not sent.
func RunOpen(ctx context.Context, c *httpclient.Client, cfg Config, budget *Budget) (Result, error) {
	if cfg.Rate <= 0 {
		return Result{}, errors.New("open model needs a rate above 0")
	}
	if cfg.MaxInFlight <= 0 {
		return Result{}, errors.New("open model needs MaxInFlight above 0")
	}
	r := newRun(ctx, c, cfg, budget)
	stopTicks, tickerDone := r.startTicks()

	var wg sync.WaitGroup
	var dropped atomic.Int64
	slots := make(chan struct{}, cfg.MaxInFlight)
	interval := float64(time.Second) / cfg.Rate
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(cfg.Seed, 0))
		for n := 0; ; n++ {
			due := r.start.Add(time.Duration(float64(n) * interval))
			if wait := time.Until(due); wait > catchUp && !Sleep(r.sending, wait) {
				return
			}
			if r.sending.Err() != nil {
				return
			}
			route := cfg.Mix.Pick(rng)
			select {
			case slots <- struct{}{}:
			default:
				dropped.Add(1)
				continue
			}
			if !r.take() {
				<-slots
				return
			}
			r.active.Add(1)
			wg.Go(func() {
				defer func() { <-slots; r.active.Add(-1) }()
				r.send(r.client, route, due)
			})
		}
	})
	res := r.finish(&wg, stopTicks, tickerDone)
	res.Dropped = dropped.Load()
	return res, nil
}
