package domain

import (
	"math"
	"time"
)

// Usage is what a gate knows of its slots when a client asks for one: the
// inputs of SharePolicy.Admit. Every gate (in memory, per request in Redis,
// the Redis scripts) computes these and applies the one rule below.
type Usage struct {
	// Capacity is the most slots held at once.
	Capacity int
	// Held is how many slots are held now, by everyone.
	Held int
	// ClientHeld is how many of them the asking client holds.
	ClientHeld int
	// ActiveWeight is the sum of the weights of the active clients: those
	// that asked for a slot within the policy's active window (a holder is
	// kept active while it holds), the asking client's included. Counting
	// the clients that ask, not only those that hold, is what lets a
	// client refused at a full gate claim its share: its next request finds
	// the others held to theirs.
	ActiveWeight int
	// BelowShareHeld is how many slots are held by clients below their
	// share (SharePolicy.BelowShareHeld): those slots count against the
	// headroom, which is kept for such clients whether they hold it or not.
	BelowShareHeld int
}

// Admit applies the share to one acquire by a client of class limits and
// returns nil to admit it, or the refusal. The rule, in order:
//
//  1. every slot is held: LimitCapacity;
//  2. the client holds its class's ceiling: LimitCeiling;
//  3. a non-critical client finds only the critical reserve free:
//     LimitCapacity (the rest is kept for critical traffic);
//  4. the client holds its share (capacity it may use × its weight ÷ the
//     active weight, at least 1) while no more than the headroom, less the
//     slots clients below their share hold already (and, for a
//     non-critical client, plus the reserve), is free: LimitFairShare;
//  5. else admit.
//
// It is work-conserving: a lone client's share is the whole capacity, and a
// client over its share still takes free slots beyond the headroom, so a
// flood keeps the gate busy. The headroom is kept for clients below their
// share, held or free: while they hold none it stays free for them, and as
// they take it a client over its share may use what they do not need, so
// the gate idles at most the headroom less what they hold. A client below
// its share gets a free slot as long as the clients below theirs hold
// fewer than the headroom. With the policy off only rule 1 holds.
func (p SharePolicy) Admit(u Usage, limits ClassLimits) *Refusal {
	if u.Held >= u.Capacity {
		return &Refusal{Limit: LimitCapacity, Quota: Quota{Limit: u.Capacity}}
	}
	if !p.Enabled {
		return nil
	}
	if limits.Ceiling > 0 && u.ClientHeld >= limits.Ceiling {
		return &Refusal{Limit: LimitCeiling, Quota: Quota{Limit: limits.Ceiling}}
	}
	free, reserve := u.Capacity-u.Held, 0
	if !limits.Critical {
		reserve = p.CriticalReserve
	}
	if free <= reserve {
		return &Refusal{Limit: LimitCapacity, Quota: Quota{Limit: u.Capacity - reserve}}
	}
	share := p.Share(u, limits)
	if u.ClientHeld >= share && free <= reserve+max(0, p.Headroom-u.BelowShareHeld) {
		return &Refusal{Limit: LimitFairShare, Quota: Quota{Limit: share}}
	}
	return nil
}

// Share is the slots a client of class limits is owed under usage u: the
// capacity it may use (all but the critical reserve, unless critical)
// times its weight over the active weight, rounded down, at least 1.
func (p SharePolicy) Share(u Usage, limits ClassLimits) int {
	usable := u.Capacity
	if !limits.Critical {
		usable -= p.CriticalReserve
	}
	weight := limits.WeightOrOne()
	active := max(u.ActiveWeight, weight)
	return max(1, usable*weight/active)
}

// Level is how the gates count holders for BelowShareHeld: the clients of
// one weight and criticality that hold the same number of slots. Counted
// per level rather than per client, the sum costs one pass over the levels
// in use, which the capacity bounds (levels holding k1 < k2 < … slots hold
// at least their sum), however many clients there are.
type Level struct {
	Weight   int
	Critical bool
	Held     int
}

// LevelOf is the level of a client of class limits that holds held slots.
func LevelOf(limits ClassLimits, held int) Level {
	return Level{Weight: limits.WeightOrOne(), Critical: limits.Critical, Held: held}
}

// BelowShareHeld sums the slots held by clients below their share under
// usage u (its Capacity and ActiveWeight), from how many clients hold at
// each level. A client at or over its share adds nothing, the asking one
// included: only what polite clients hold is taken from the headroom.
func (p SharePolicy) BelowShareHeld(u Usage, levels map[Level]int) int {
	sum := 0
	for l, clients := range levels {
		if l.Held < p.Share(u, ClassLimits{Weight: l.Weight, Critical: l.Critical}) {
			sum += l.Held * clients
		}
	}
	return sum
}

// WeightOrOne is the class's weight, 1 when unset: every client counts.
func (l ClassLimits) WeightOrOne() int { return max(1, l.Weight) }

// BurstOrOne is the class's burst, at least 1: a rate admits one request.
func (l ClassLimits) BurstOrOne() int { return max(1, l.Burst) }

// Emission is the rate's interval between two conforming requests (the
// GCRA's emission interval); 0 when the class has no rate limit.
func (l ClassLimits) Emission() time.Duration {
	if l.Rate <= 0 {
		return 0
	}
	return max(time.Duration(float64(time.Second)/l.Rate), 1)
}

// RateQuota is the class's rate as the RateLimit fields say it, whole
// requests per whole seconds: 200/s is 200 per 1 s, 0.5/s is 1 per 2 s.
// The burst is an allowance above it, not part of the quota.
func (l ClassLimits) RateQuota() Quota {
	if l.Rate >= 1 {
		return Quota{Limit: int(math.Round(l.Rate)), Window: time.Second}
	}
	if l.Rate <= 0 {
		return Quota{}
	}
	return Quota{Limit: 1, Window: time.Duration(math.Round(1/l.Rate)) * time.Second}
}

// RateStep is one request against a class's rate limit, the generic cell
// rate algorithm: tat is the client's theoretical arrival time (zero for a
// client not seen lately). A request conforms when it would not push tat
// more than a burst of emissions past now; then next is the tat to store
// (it may be forgotten once now passes it: a zero tat means the same).
// Otherwise retry is exactly how long until the request conforms, and tat
// stays. Redis's fair.lua computes the same in microseconds.
func (l ClassLimits) RateStep(tat, now time.Time) (next time.Time, retry time.Duration, ok bool) {
	emission := l.Emission()
	if emission == 0 {
		return tat, 0, true
	}
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(emission)
	if over := next.Sub(now) - time.Duration(l.BurstOrOne())*emission; over > 0 {
		return tat, over, false
	}
	return next, 0, true
}

// RateRefusal is the refusal of a request over its class's rate, to try
// again after retry.
func (l ClassLimits) RateRefusal(retry time.Duration) *Refusal {
	return &Refusal{Limit: LimitRate, RetryAfter: retry, Quota: l.RateQuota()}
}
