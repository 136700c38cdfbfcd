package fairshare

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
)

// Config sets up the share scenario: a greedy client and polite clients at
// once, against every instance of one deployment.
type Config struct {
	// Bases are the instances' base URLs. Each greedy connection is pinned
	// to one of them, round-robin; each polite client takes them in turn.
	Bases []string
	// GreedyConns unpaced connections send POST /queue back to back from
	// GreedySource.
	GreedyConns  int
	GreedySource net.IP
	// Polite clients send one request at a time, then wait a pace drawn
	// uniformly from [PaceMin, PaceMax]; client i dials from PoliteSource
	// plus i (127.0.0.2, 127.0.0.3, …).
	Polite           int
	PoliteSource     net.IP
	PaceMin, PaceMax time.Duration
	// Warmup runs before the measured window and is left out; Duration is
	// the window. Requests under way when it ends still finish.
	Warmup, Duration time.Duration
	MaxRequests      int64         // bounds the requests sent, warm-up included
	Timeout          time.Duration // per request
	SampleEvery      time.Duration // how often the servers' gauges are read
	Redis            *RedisProbe   // the gate's lease set, counted too when not nil
	AllowRemote      bool
}

// Result is what the share scenario measured.
type Result struct {
	MeasuredS float64 `json:"measured_s"`
	Greedy    Tally   `json:"greedy"`
	Polite    Tally   `json:"polite"` // every polite client together
	// PoliteClients are the polite clients one by one, by source address.
	PoliteClients []ClientTally `json:"polite_clients"`
	Gate          GateUse       `json:"gate"`
}

// ClientTally is one polite client's answers.
type ClientTally struct {
	Source string `json:"source"`
	Tally
}

// GreedyOKPerSec is the greedy client's 200s per second.
func (r Result) GreedyOKPerSec() float64 { return perSec(r.Greedy.OK, r.MeasuredS) }

// GreedyShareOfOK is the greedy client's part of every 200 handed out.
func (r Result) GreedyShareOfOK() float64 {
	if all := r.Greedy.OK + r.Polite.OK; all > 0 {
		return float64(r.Greedy.OK) / float64(all)
	}
	return 0
}

// WorstPolite is the polite client that got the smallest share of 200s.
func (r Result) WorstPolite() ClientTally {
	var worst ClientTally
	for i, c := range r.PoliteClients {
		if i == 0 || c.OKShare() < worst.OKShare() {
			worst = c
		}
	}
	return worst
}

func perSec(n int64, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(n) / s
}

// window is the measured span of a run and the requests it may still send
// (warm-up included).
type window struct {
	from, to time.Time
	left     *atomic.Int64
}

func newWindow(from, to time.Time, maxRequests int64) window {
	w := window{from: from, to: to, left: new(atomic.Int64)}
	w.left.Store(maxRequests)
	return w
}

func (w window) holds(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

// sending tells whether a client may start another request, and counts it.
func (w window) sending(ctx context.Context) bool {
	return ctx.Err() == nil && time.Now().Before(w.to) && w.left.Add(-1) >= 0
}

// Run runs the share scenario and returns what it measured; after a
// cancelled ctx, what it measured so far.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if len(cfg.Bases) == 0 || cfg.GreedyConns <= 0 || cfg.Polite <= 0 || cfg.PaceMax < cfg.PaceMin || cfg.Duration <= 0 || cfg.MaxRequests <= 0 {
		return Result{}, errors.New("fair share: needs servers, greedy connections, polite clients, a pace and a duration")
	}
	sources, err := Sources(cfg.PoliteSource, cfg.Polite)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	w := newWindow(start.Add(cfg.Warmup), start.Add(cfg.Warmup+cfg.Duration), cfg.MaxRequests)

	greedy := newRequester(cfg.GreedySource, cfg.GreedyConns, cfg.Timeout, cfg.AllowRemote)
	defer greedy.close()
	greedyCount := newCounter()
	politeCounts := make([]*counter, cfg.Polite)
	var wg sync.WaitGroup
	for c := range cfg.GreedyConns {
		base := cfg.Bases[c%len(cfg.Bases)]
		wg.Go(func() {
			for w.sending(ctx) {
				t := time.Now()
				a, ok := greedy.post(ctx, base)
				if !ok {
					return
				}
				if w.holds(t) {
					greedyCount.add(a)
				}
			}
		})
	}
	for i, src := range sources {
		politeCounts[i] = newCounter()
		wg.Go(func() { politeClient(ctx, cfg, w, src, uint64(i), politeCounts[i]) })
	}

	// The gate is sampled over the measured window, or until the clients
	// stop sooner (a cancelled ctx, the request bound).
	s := newSampler(cfg.Bases, cfg.SampleEvery, cfg.Redis, cfg.AllowRemote)
	sctx, stopSampling := context.WithDeadline(ctx, w.to)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if load.Sleep(sctx, time.Until(w.from)) {
			s.run(sctx)
		}
	}()
	wg.Wait()
	stopSampling()
	<-sampled

	res := Result{Greedy: greedyCount.snapshot(), Polite: newTally(), Gate: s.result()}
	end := time.Now()
	if end.After(w.to) {
		end = w.to
	}
	res.MeasuredS = max(0, end.Sub(w.from).Seconds())
	for i, c := range politeCounts {
		t := c.snapshot()
		res.Polite.merge(t)
		res.PoliteClients = append(res.PoliteClients, ClientTally{Source: sources[i].String(), Tally: t})
	}
	return res, nil
}

// politeClient sends one request at a time from src, pacing between them.
func politeClient(ctx context.Context, cfg Config, w window, src net.IP, seed uint64, count *counter) {
	r := newRequester(src, 1, cfg.Timeout, cfg.AllowRemote)
	defer r.close()
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	for k := int(seed); w.sending(ctx); k++ {
		t := time.Now()
		a, ok := r.post(ctx, cfg.Bases[k%len(cfg.Bases)])
		if !ok {
			return
		}
		if w.holds(t) {
			count.add(a)
		}
		pace := cfg.PaceMin
		if spread := cfg.PaceMax - cfg.PaceMin; spread > 0 {
			pace += time.Duration(rng.Int64N(int64(spread) + 1))
		}
		if !load.Sleep(ctx, min(pace, time.Until(w.to))) {
			return
		}
	}
}

// Sources returns n IPv4 addresses from first on (127.0.0.2, 127.0.0.3, …).
func Sources(first net.IP, n int) ([]net.IP, error) {
	v4 := first.To4()
	if v4 == nil {
		return nil, errors.New("fair share: the polite clients' first source must be an IPv4 address")
	}
	if int(v4[3])+n-1 > 254 {
		return nil, errors.New("fair share: the polite clients' addresses run past .254")
	}
	out := make([]net.IP, n)
	for i := range out {
		ip := net.IPv4(v4[0], v4[1], v4[2], v4[3]+byte(i)).To4()
		out[i] = ip
	}
	return out, nil
}
