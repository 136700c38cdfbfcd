package replytopics

import (
	"fmt"
	"time"
)

// MinHeartbeat is the shortest heartbeat: each one is a probe's round trip
// through the instance's reply topic.
const MinHeartbeat = 100 * time.Millisecond

// missedHeartbeats is how many heartbeats in a row a live instance may miss
// (a slow broker, a GC pause, a short network blip) before a janitor may
// take it for gone: the grace spans one more than that.
const missedHeartbeats = 2

// TimingError is a heartbeat or grace the janitors cannot keep their promise
// with. Setting is "heartbeat" or "grace"; Problem says what it must be
// without naming the setting, so the caller names it as its users know it.
type TimingError struct {
	Setting string
	Problem string
}

func (e *TimingError) Error() string { return "reply topic " + e.Setting + " " + e.Problem }

// CheckTiming checks the heartbeat of the live instances against the grace
// the janitors give a silent topic: a live instance must be able to miss two
// heartbeats without losing its topic.
func CheckTiming(heartbeat, grace time.Duration) error {
	if heartbeat < MinHeartbeat {
		return &TimingError{Setting: "heartbeat", Problem: fmt.Sprintf("must be at least %s (got %s)", MinHeartbeat, heartbeat)}
	}
	if least := (missedHeartbeats + 1) * heartbeat; grace < least {
		return &TimingError{Setting: "grace", Problem: fmt.Sprintf(
			"must be at least %d heartbeats (%s), so a live instance may miss %d in a row (got %s)",
			missedHeartbeats+1, least, missedHeartbeats, grace)}
	}
	return nil
}

// PassEvery is the mean time between two passes of a janitor: a quarter of
// the grace. Each pass is jittered by up to a quarter of it either way, so
// the janitors of instances started together do not ask Kafka in step.
func PassEvery(grace time.Duration) time.Duration { return grace / 4 }

// RemovalBound is the longest a dead instance's topic outlives the last
// record written to it while a live instance runs its janitor: the first
// pass after that record sees the final offset (at most one pass later), the
// janitor then watches it stand still for the grace, and deletes it at the
// first pass after that (at most one more pass). With the defaults (grace
// 1 min) that is 97.5 s, plus the delete's own round trip.
func RemovalBound(grace time.Duration) time.Duration { return grace + 2*maxPass(grace) }

func maxPass(grace time.Duration) time.Duration { return PassEvery(grace) * 5 / 4 }
