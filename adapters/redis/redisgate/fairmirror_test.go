package redisgate_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// fair.lua mirrors domain.SharePolicy.Admit: a random walk of acquires and
// releases by clients of every kind of class gets, step by step, the answer
// the domain's rule gives for the same usage (the window is long, so every
// client that asked stays active).
func TestFairLuaMirrorsTheDomainRule(t *testing.T) {
	url := redisURL(t)
	const capacity = 12
	policy := domain.SharePolicy{
		Enabled: true, Headroom: 2, CriticalReserve: 2, ActiveWindow: time.Minute,
		Classes: map[string]domain.ClassLimits{
			domain.DefaultClass: {Weight: 1},
			"heavy":             {Weight: 3},
			"capped":            {Weight: 2, Ceiling: 2},
			"critical":          {Weight: 1, Critical: true},
		},
	}
	cfg := config(t, url, capacity)
	cfg.Share = policy
	g := open(t, cfg)
	clients := []domain.Client{
		{Key: "a"}, {Key: "b"}, {Key: "h", Class: "heavy"}, {Key: "c", Class: "capped"},
		{Key: "x", Class: "critical"}, {Key: "u", Class: "unknown"},
	}
	rng := rand.New(rand.NewPCG(26, 1))
	held := map[string][]ports.Slot{}
	weights := map[string]int{}
	ctx := context.Background()
	seen := map[domain.Limit]int{}
	usedHeldHeadroom := 0 // grants only because clients below their share held part of the headroom
	for step := range 600 {
		who := clients[rng.IntN(len(clients))]
		if mine := held[who.Key]; len(mine) > 0 && rng.IntN(2) == 0 {
			require.NoError(t, g.Release(ctx, mine[0]))
			held[who.Key] = mine[1:]
			continue
		}
		limits := policy.LimitsOf(who.ClassOf())
		weights[who.Key] = limits.WeightOrOne()
		u := domain.Usage{Capacity: capacity, ClientHeld: len(held[who.Key])}
		for _, w := range weights {
			u.ActiveWeight += w
		}
		levels := map[domain.Level]int{}
		for _, c := range clients {
			if n := len(held[c.Key]); n > 0 {
				u.Held += n
				levels[domain.LevelOf(policy.LimitsOf(c.ClassOf()), n)]++
			}
		}
		u.BelowShareHeld = policy.BelowShareHeld(u, levels)
		want := policy.Admit(u, limits)
		if none := u; want == nil && u.BelowShareHeld > 0 {
			none.BelowShareHeld = 0
			if policy.Admit(none, limits) != nil {
				usedHeldHeadroom++
			}
		}
		slot, err := g.Acquire(ctx, uuid.NewString(), who)
		seen[limitOf(want)]++
		if want == nil {
			require.NoError(t, err, "step %d: %s with %+v", step, who.Key, u)
			held[who.Key] = append(held[who.Key], slot)
			continue
		}
		var got *domain.Refusal
		require.True(t, errors.As(err, &got), "step %d: %s with %+v: want %s, got %v", step, who.Key, u, want.Limit, err)
		require.Equal(t, *want, *got, "step %d: %s with %+v", step, who.Key, u)
	}
	t.Logf("answers: %v; granted from headroom the others held: %d", seen, usedHeldHeadroom)
	require.Positive(t, usedHeldHeadroom, "the walk met headroom held by clients below their share")
	for _, l := range []domain.Limit{"", domain.LimitCapacity, domain.LimitFairShare, domain.LimitCeiling} {
		require.Positive(t, seen[l], "the walk met %q", l)
	}
}

func limitOf(r *domain.Refusal) domain.Limit {
	if r == nil {
		return ""
	}
	return r.Limit
}
