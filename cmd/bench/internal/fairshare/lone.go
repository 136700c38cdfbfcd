package fairshare

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ABConfig sets up the lone-client comparison: the same client, unpaced,
// against two deployments in turn, one with fair share on (On) and one
// with it off (Off), in interleaved slices so both see the same machine
// while its speed drifts.
type ABConfig struct {
	On, Off []string // the deployments' instances, taken round-robin per connection
	Conns   int      // the client's unpaced connections
	Source  net.IP
	// Slices per side; the sides alternate A B B A A B …, each slice
	// Duration/Slices long. Warmup is spent on each side first, left out.
	Slices           int
	Warmup, Duration time.Duration
	MaxRequests      int64 // bounds the requests sent, warm-ups included
	Timeout          time.Duration
	AllowRemote      bool
}

// ABResult is what the comparison measured.
type ABResult struct {
	On  Side `json:"fair_on"`
	Off Side `json:"fair_off"`
	// Ratio is On's 200s per second over Off's: 1 when fair share costs a
	// lone client nothing.
	Ratio float64 `json:"ratio_on_off"`
}

// Side is one deployment's answers over its slices.
type Side struct {
	Tally
	MeasuredS float64 `json:"measured_s"`
	OKPerSec  float64 `json:"ok_per_s"`
}

// RunAB runs the comparison; after a cancelled ctx, what it measured so far.
func RunAB(ctx context.Context, cfg ABConfig) (ABResult, error) {
	if len(cfg.On) == 0 || len(cfg.Off) == 0 || cfg.Conns <= 0 || cfg.Slices <= 0 || cfg.Duration <= 0 || cfg.MaxRequests <= 0 {
		return ABResult{}, errors.New("lone client: needs both deployments, connections, slices and a duration")
	}
	r := newRequester(cfg.Source, cfg.Conns, cfg.Timeout, cfg.AllowRemote)
	defer r.close()
	left := new(atomic.Int64)
	left.Store(cfg.MaxRequests)
	if cfg.Warmup > 0 {
		for _, bases := range [][]string{cfg.On, cfg.Off} {
			slice(ctx, r, bases, cfg.Conns, cfg.Warmup/2, left, nil)
		}
	}
	var res ABResult
	res.On.Tally, res.Off.Tally = newTally(), newTally()
	each := cfg.Duration / time.Duration(cfg.Slices)
	for k := range 2 * cfg.Slices {
		side, bases := &res.On, cfg.On
		if (k%2 == 1) == (k/2%2 == 0) { // A B, then B A, then A B …
			side, bases = &res.Off, cfg.Off
		}
		c := newCounter()
		side.MeasuredS += slice(ctx, r, bases, cfg.Conns, each, left, c).Seconds()
		side.merge(c.snapshot())
		if ctx.Err() != nil {
			break
		}
	}
	for _, s := range []*Side{&res.On, &res.Off} {
		s.OKPerSec = perSec(s.OK, s.MeasuredS)
	}
	if res.Off.OKPerSec > 0 {
		res.Ratio = res.On.OKPerSec / res.Off.OKPerSec
	}
	return res, nil
}

// slice sends unpaced from conns connections, pinned round-robin to bases,
// for d (requests under way at its end still finish), counting the answers
// into c when not nil; left bounds the requests. It returns how long it sent.
func slice(ctx context.Context, r *requester, bases []string, conns int, d time.Duration, left *atomic.Int64, c *counter) time.Duration {
	start := time.Now()
	w := window{from: start, to: start.Add(d), left: left}
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for w.sending(ctx) {
				a, ok := r.post(ctx, bases[i%len(bases)])
				if !ok {
					return
				}
				if c != nil {
					c.add(a)
				}
			}
		})
	}
	wg.Wait()
	return min(time.Since(start), d)
}
