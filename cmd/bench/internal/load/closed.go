package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
)

// RunClosed runs the closed model: cfg.Users users, started at cfg.SpawnRate
// per second, each sending a route picked by weight, then waiting a think
// time drawn uniformly from [ThinkMin, ThinkMax], as Locust's between() does
// (or, with HonourRetryAfter, an answer's Retry-After when it has one).
// It stops after Warmup+Duration, when the budget is spent, or when ctx is
// cancelled, and always returns what it recorded.
func RunClosed(ctx context.Context, c *httpclient.Client, cfg Config, budget *Budget) (Result, error) {
	if cfg.Users <= 0 {
		return Result{}, errors.New("closed model needs at least one user")
	}
	if cfg.ThinkMax < cfg.ThinkMin {
		return Result{}, errors.New("think time: max is below min")
	}
	r := newRun(ctx, c, cfg, budget)
	stopTicks, tickerDone := r.startTicks()

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range cfg.Users {
			if i > 0 && cfg.SpawnRate > 0 {
				due := r.start.Add(time.Duration(float64(i) / cfg.SpawnRate * float64(time.Second)))
				if !Sleep(r.sending, time.Until(due)) {
					return
				}
			}
			if r.sending.Err() != nil {
				return
			}
			wg.Go(func() { r.user(uint64(i)) })
		}
	})
	return r.finish(&wg, stopTicks, tickerDone), nil
}

// user is one simulated user's loop.
func (r *run) user(id uint64) {
	r.active.Add(1)
	defer r.active.Add(-1)
	rng := rand.New(rand.NewPCG(r.cfg.Seed, id))
	span := int64(r.cfg.ThinkMax - r.cfg.ThinkMin)
	c := r.client
	if r.cfg.OwnConns {
		c = c.Session()
		defer c.Close()
	}
	for r.take() {
		retry := r.send(c, r.cfg.Mix.Pick(rng), time.Now())
		think := r.cfg.ThinkMin
		if span > 0 {
			think += time.Duration(rng.Int64N(span + 1))
		}
		if r.cfg.HonourRetryAfter && retry > 0 {
			think = retry
		}
		if think <= 0 {
			continue
		}
		if !Sleep(r.sending, think) {
			return
		}
	}
}
