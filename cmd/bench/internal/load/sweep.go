package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// SweepConfig is a sweep: closed-model steps of rising concurrency, each run
// for the base config's Warmup+Duration, until a step breaks a bound.
type SweepConfig struct {
	Steps     []int         // users per step, rising
	MaxP99    time.Duration // bound on the p99 of successful requests
	MaxErrors float64       // bound on failures / requests (429s are not failures)
}

// Step is one finished step of a sweep.
type Step struct {
	Users         int     `json:"users"`
	RPS           float64 `json:"requests_per_s"`
	OKPerSec      float64 `json:"ok_per_s"`
	LimitedPerSec float64 `json:"limited_per_s"`
	ErrorRate     float64 `json:"error_rate"`
	P50Ms         float64 `json:"ok_p50_ms"`
	P99Ms         float64 `json:"ok_p99_ms"`
	P999Ms        float64 `json:"ok_p99_9_ms"`
	Pass          bool    `json:"pass"`
	Why           string  `json:"why,omitempty"` // the bound it broke
	Result        Result  `json:"-"`
}

// SweepResult is a finished sweep.
type SweepResult struct {
	Steps []Step `json:"steps"`
	// Knee is the index of the last step within both bounds; -1 when even
	// the first broke one.
	Knee int `json:"knee_index"`
	// Broken tells whether a step broke a bound (false: the knee is past the
	// last step tried).
	Broken     bool   `json:"bound_broken"`
	StopReason string `json:"stop_reason"`
}

// KneeUsers is the concurrency at the knee, or 0 if there is none.
func (s SweepResult) KneeUsers() int {
	if s.Knee < 0 || s.Knee >= len(s.Steps) {
		return 0
	}
	return s.Steps[s.Knee].Users
}

// Sweep runs the steps one after another with base's model settings (think
// time included: pass none for an unpaced sweep) and stops after the first
// step that breaks a bound, when the budget is spent, or when ctx ends.
// onStep, if set, is called with each step before it starts.
func Sweep(ctx context.Context, c *httpclient.Client, base Config, sc SweepConfig, budget *Budget, onStep func(i int, users int)) (SweepResult, error) {
	if len(sc.Steps) == 0 {
		return SweepResult{}, errors.New("sweep needs at least one step")
	}
	out := SweepResult{Knee: -1, StopReason: StopDuration}
	for i, users := range sc.Steps {
		if onStep != nil {
			onStep(i, users)
		}
		cfg := base
		cfg.Users = users
		res, err := RunClosed(ctx, c, cfg, budget)
		if err != nil {
			return out, err
		}
		step := judge(users, res, sc)
		out.Steps = append(out.Steps, step)
		if res.StopReason != StopDuration {
			// A cut-short step says nothing reliable about the bounds.
			out.StopReason = res.StopReason
			out.Steps[len(out.Steps)-1].Why = "cut short: " + res.StopReason
			out.Steps[len(out.Steps)-1].Pass = false
			return out, nil
		}
		if !step.Pass {
			out.Broken = true
			return out, nil
		}
		out.Knee = i
	}
	return out, nil
}

// judge computes a step's figures and checks them against the bounds.
func judge(users int, res Result, sc SweepConfig) Step {
	agg := res.Stats.Aggregated
	ok := agg.LatencyByClass[stats.OK.String()]
	s := Step{
		Users: users, RPS: agg.RPS, OKPerSec: agg.OKPerSec,
		P50Ms: ok.P50Ms, P99Ms: ok.P99Ms, P999Ms: ok.P999Ms,
		Pass: true, Result: res,
	}
	if res.Measured > 0 {
		s.LimitedPerSec = float64(agg.Count(stats.Limited)) / res.Measured.Seconds()
	}
	if agg.Requests > 0 {
		s.ErrorRate = float64(agg.Failures) / float64(agg.Requests)
	}
	maxP99 := float64(sc.MaxP99) / float64(time.Millisecond)
	switch {
	case agg.Requests == 0:
		s.Pass, s.Why = false, "no request finished"
	case ok.Count == 0:
		s.Pass, s.Why = false, "no successful request"
	case sc.MaxErrors >= 0 && s.ErrorRate > sc.MaxErrors:
		s.Pass, s.Why = false, fmt.Sprintf("error rate %.2f%% > %.2f%%", 100*s.ErrorRate, 100*sc.MaxErrors)
	case sc.MaxP99 > 0 && s.P99Ms > maxP99:
		s.Pass, s.Why = false, fmt.Sprintf("p99 %.1f ms > %.1f ms", s.P99Ms, maxP99)
	}
	return s
}
