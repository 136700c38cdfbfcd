package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
)

func TestSharePolicyAdmit(t *testing.T) {
	on := domain.SharePolicy{Enabled: true, Headroom: 2, CriticalReserve: 2}
	plain := domain.ClassLimits{Weight: 1}
	for name, tt := range map[string]struct {
		policy domain.SharePolicy
		usage  domain.Usage
		limits domain.ClassLimits
		want   domain.Limit // "" admits
		quota  int
	}{
		"full_gate_refuses_everyone":         {on, domain.Usage{Capacity: 10, Held: 10, ActiveWeight: 1}, plain, domain.LimitCapacity, 10},
		"off_full_gate_refuses":              {domain.SharePolicy{}, domain.Usage{Capacity: 10, Held: 10, ClientHeld: 10, ActiveWeight: 1}, plain, domain.LimitCapacity, 10},
		"off_ignores_share_and_ceiling":      {domain.SharePolicy{Headroom: 5}, domain.Usage{Capacity: 10, Held: 9, ClientHeld: 9, ActiveWeight: 2}, domain.ClassLimits{Ceiling: 1}, "", 0},
		"lone_client_takes_all_but_reserve":  {on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 7, ActiveWeight: 1}, plain, "", 0},
		"lone_client_stops_at_the_reserve":   {on, domain.Usage{Capacity: 10, Held: 8, ClientHeld: 8, ActiveWeight: 1}, plain, domain.LimitCapacity, 8},
		"critical_client_takes_the_reserve":  {on, domain.Usage{Capacity: 10, Held: 9, ClientHeld: 1, ActiveWeight: 3}, domain.ClassLimits{Critical: true}, "", 0},
		"greedy_over_share_beyond_headroom":  {on, domain.Usage{Capacity: 10, Held: 5, ClientHeld: 5, ActiveWeight: 2}, plain, "", 0},
		"greedy_over_share_within_headroom":  {on, domain.Usage{Capacity: 10, Held: 6, ClientHeld: 6, ActiveWeight: 2}, plain, domain.LimitFairShare, 4},
		"polite_below_share_within_headroom": {on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 0, ActiveWeight: 2}, plain, "", 0},
		"polite_at_share_within_headroom":    {on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 4, ActiveWeight: 2}, plain, domain.LimitFairShare, 4},
		"share_is_at_least_one":              {on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 1, ActiveWeight: 50}, plain, domain.LimitFairShare, 1},
		"weight_two_gets_twice_the_share":    {on, domain.Usage{Capacity: 14, Held: 11, ClientHeld: 7, ActiveWeight: 3}, domain.ClassLimits{Weight: 2}, "", 0},
		"weight_two_refused_at_its_share":    {on, domain.Usage{Capacity: 14, Held: 11, ClientHeld: 8, ActiveWeight: 3}, domain.ClassLimits{Weight: 2}, domain.LimitFairShare, 8},
		"ceiling_refuses_even_when_empty":    {on, domain.Usage{Capacity: 10, Held: 3, ClientHeld: 3, ActiveWeight: 1}, domain.ClassLimits{Ceiling: 3}, domain.LimitCeiling, 3},
		"below_ceiling_admits":               {on, domain.Usage{Capacity: 10, Held: 2, ClientHeld: 2, ActiveWeight: 1}, domain.ClassLimits{Ceiling: 3}, "", 0},
		"unset_weight_counts_as_one":         {on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 4, ActiveWeight: 0}, domain.ClassLimits{}, "", 0},
		"greedy_refused_while_polite_hold_part_of_headroom": {
			on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 6, ActiveWeight: 2, BelowShareHeld: 1}, plain, domain.LimitFairShare, 4,
		},
		"greedy_takes_headroom_polite_hold_already": {
			on, domain.Usage{Capacity: 10, Held: 7, ClientHeld: 6, ActiveWeight: 2, BelowShareHeld: 2}, plain, "", 0,
		},
		"polite_holding_more_than_headroom_frees_nothing_of_reserve": {
			on, domain.Usage{Capacity: 10, Held: 8, ClientHeld: 6, ActiveWeight: 2, BelowShareHeld: 5}, plain, domain.LimitCapacity, 8,
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := tt.policy.Admit(tt.usage, tt.limits)
			if tt.want == "" {
				assert.Nil(t, r)
				return
			}
			require.NotNil(t, r)
			assert.Equal(t, tt.want, r.Limit)
			assert.Equal(t, domain.Quota{Limit: tt.quota}, r.Quota)
			assert.True(t, errors.Is(r, domain.ErrAtCapacity), "every refusal is a full gate to callers that do not look closer")
		})
	}
}

// A greedy client alone fills the gate; a second client, refused once at
// the full gate, counts as active from then on: the greedy one is held to
// the headroom and the second gets the next free slot; once the second
// holds the headroom, the greedy one may use every other slot. The walk a
// gate makes, acquire by acquire.
func TestSharePolicyWalk(t *testing.T) {
	p := domain.SharePolicy{Enabled: true, Headroom: 1}
	limits := domain.ClassLimits{Weight: 1}
	held, active := map[string]int{}, map[string]bool{}
	admit := func(client string) bool {
		active[client] = true
		u := domain.Usage{Capacity: 10, ClientHeld: held[client], ActiveWeight: len(active)}
		levels := map[domain.Level]int{}
		for _, n := range held {
			u.Held += n
			levels[domain.LevelOf(limits, n)]++
		}
		u.BelowShareHeld = p.BelowShareHeld(u, levels)
		if p.Admit(u, limits) != nil {
			return false
		}
		held[client]++
		return true
	}
	for range 10 {
		require.True(t, admit("greedy"), "alone, its share is the whole capacity")
	}
	assert.False(t, admit("polite"), "full")
	held["greedy"]--
	assert.False(t, admit("greedy"), "over its share of 5, the last free slot is headroom")
	assert.True(t, admit("polite"), "a client below its share gets the headroom")
	held["greedy"] -= 3
	assert.True(t, admit("greedy"), "over its share, it still takes the slots beyond the headroom")
	assert.True(t, admit("greedy"))
	assert.True(t, admit("greedy"), "the polite client holds the headroom already: the last slot is not kept idle")
	assert.False(t, admit("polite"), "full")
	held["polite"]--
	assert.False(t, admit("greedy"), "the polite client's slot is headroom again")
	assert.True(t, admit("polite"))
}

// Only the slots of clients below their share count, each client's share
// by its own weight and class.
func TestSharePolicyBelowShareHeld(t *testing.T) {
	p := domain.SharePolicy{Enabled: true, Headroom: 2, CriticalReserve: 2}
	u := domain.Usage{Capacity: 20, ActiveWeight: 6} // shares: weight 1 → 3, weight 3 → 9, critical weight 1 → 3
	one, three, critical := domain.ClassLimits{Weight: 1}, domain.ClassLimits{Weight: 3}, domain.ClassLimits{Weight: 1, Critical: true}
	levels := map[domain.Level]int{
		domain.LevelOf(one, 1):      3, // below: 3 slots
		domain.LevelOf(one, 3):      1, // at its share
		domain.LevelOf(one, 6):      1, // over it
		domain.LevelOf(three, 2):    1, // below its larger share: 2 slots
		domain.LevelOf(critical, 3): 1, // at its share
		domain.LevelOf(critical, 2): 2, // below: 4 slots
	}
	assert.Equal(t, 9, p.BelowShareHeld(u, levels))
	assert.Zero(t, p.BelowShareHeld(u, nil))
	assert.Equal(t, domain.Level{Weight: 1, Held: 4}, domain.LevelOf(domain.ClassLimits{}, 4), "an unset weight counts as one")
}

func TestRateStep(t *testing.T) {
	limits := domain.ClassLimits{Rate: 10, Burst: 3} // one per 100ms, three at once
	now := time.Unix(1000, 0)
	var tat time.Time
	for i := range 3 {
		var ok bool
		tat, _, ok = limits.RateStep(tat, now)
		require.True(t, ok, "request %d of the burst", i+1)
	}
	_, retry, ok := limits.RateStep(tat, now)
	require.False(t, ok)
	assert.Equal(t, 100*time.Millisecond, retry, "one emission until the oldest of the burst is paid off")
	_, retry, ok = limits.RateStep(tat, now.Add(40*time.Millisecond))
	require.False(t, ok)
	assert.Equal(t, 60*time.Millisecond, retry, "Retry-After is exact")
	tat, _, ok = limits.RateStep(tat, now.Add(100*time.Millisecond))
	require.True(t, ok, "conforms exactly when the refusal said")
	_, _, ok = limits.RateStep(tat, now.Add(100*time.Millisecond))
	require.False(t, ok)

	_, _, ok = limits.RateStep(tat, now.Add(time.Hour))
	assert.True(t, ok, "an old tat is as good as none")
	_, _, ok = domain.ClassLimits{}.RateStep(time.Time{}, now)
	assert.True(t, ok, "no rate: no limit")

	r := limits.RateRefusal(60 * time.Millisecond)
	assert.Equal(t, domain.LimitRate, r.Limit)
	assert.Equal(t, 60*time.Millisecond, r.RetryAfter)
	assert.Equal(t, domain.Quota{Limit: 10, Window: time.Second}, r.Quota, "the rate, as RateLimit-Policy says it")
	assert.Equal(t, domain.Quota{Limit: 1, Window: 2 * time.Second}, domain.ClassLimits{Rate: 0.5}.RateQuota())
	assert.Equal(t, domain.Quota{}, domain.ClassLimits{}.RateQuota())
}

func TestSharePolicyValidate(t *testing.T) {
	require.NoError(t, domain.SharePolicy{Headroom: -5}.Validate(1), "a policy that is off is never in the way")
	require.NoError(t, domain.SharePolicy{Enabled: true, Headroom: 2, CriticalReserve: 9}.Validate(10))
	for name, p := range map[string]domain.SharePolicy{
		"negative_headroom":     {Enabled: true, Headroom: -1},
		"negative_reserve":      {Enabled: true, CriticalReserve: -1},
		"reserve_takes_it_all":  {Enabled: true, CriticalReserve: 10},
		"negative_class_weight": {Enabled: true, Classes: map[string]domain.ClassLimits{"x": {Weight: -1}}},
		"negative_class_rate":   {Enabled: true, Classes: map[string]domain.ClassLimits{"x": {Rate: -1}}},
	} {
		assert.Error(t, p.Validate(10), name)
	}
	assert.Equal(t, domain.DefaultActiveWindow, domain.SharePolicy{}.Window())
	assert.Equal(t, time.Second, domain.SharePolicy{ActiveWindow: time.Second}.Window())
}
