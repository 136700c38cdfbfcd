// Package workerwatch tells the server side of the Kafka broker whether any
// worker consumes the tasks topic, so a request without one fails at once.
package workerwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// Whether any worker consumes the tasks topic is learnt from the workers'
// consumer groups, as their coordinators see them (DescribeConsumerGroups,
// one call for every watched group): no signal of our own to publish, and
// the coordinator is the one that decides who reads which partition. A
// worker that leaves (clean stop) is gone from its group at once; one that
// crashed stays until the group's session timeout.
//
// The verdict is at most workersPollEvery + workersPollTimeout old (~2 s).
// When the groups cannot be asked for workersStaleAfter (or, while workers
// were consuming, for the rebalance grace: keepVerdict), the verdict is
// "unknown", which counts as no worker: a request then gets 503 at once
// rather than a slot held to its deadline.
const (
	workersPollEvery   = time.Second
	workersPollTimeout = time.Second
	workersStaleAfter  = 3 * time.Second
	maxPollDelay       = 5 * time.Second
)

// While no watched group consumes, the watcher looks for any group that does
// (a worker in a group nobody listed) every discoverEvery: ListConsumerGroups
// (a request to every broker) and one DescribeConsumerGroups of the groups
// with members. That costs in proportion to the groups of the whole cluster,
// so it runs only then, never while a watched group consumes.
const (
	discoverEvery   = 5 * time.Second
	discoverTimeout = 2 * time.Second
)

// DefaultRebalanceGrace is how long a group in a rebalance is trusted when
// Settings leave it zero.
const DefaultRebalanceGrace = 30 * time.Second

// Settings say which consumer groups count as workers.
type Settings struct {
	// Groups are the consumer groups whose members count as workers.
	// None turns the check off: workers are assumed.
	Groups []string
	// RebalanceGrace is how long a watched group with members in a
	// rebalance (a classic group PreparingRebalance or CompletingRebalance,
	// a consumer-protocol group whose members still reconcile their
	// assignment) still counts as consuming: its tasks are served once the
	// rebalance completes. A rebalance longer than this counts as no
	// worker. Zero: DefaultRebalanceGrace.
	RebalanceGrace time.Duration
}

// workersVerdict is the last answer about the workers' groups.
type workersVerdict struct {
	consuming bool
	reason    string    // why not, when not consuming
	at        time.Time // when the groups were last described
}

// Watcher keeps the last verdict about the workers' groups. It is safe for
// concurrent use; its fields below workers belong to Run's goroutine.
type Watcher struct {
	admin     *kafka.AdminClient
	settings  Settings
	topic     string
	log       *slog.Logger
	available prometheus.Gauge // 1 while a worker consumes topic
	workers   atomic.Pointer[workersVerdict]

	failures     int                  // describes failed in a row
	rebalancing  map[string]time.Time // group → when it was first seen rebalancing
	found        []string             // groups not listed, found consuming topic
	lastDiscover time.Time
}

// New returns the watcher of the consumption of topic by the groups in s;
// no group turns the check off (workers are assumed). available is set to
// 1 while a worker consumes, else 0.
func New(admin *kafka.AdminClient, s Settings, topic string, log *slog.Logger, available prometheus.Gauge) *Watcher {
	if s.RebalanceGrace <= 0 {
		s.RebalanceGrace = DefaultRebalanceGrace
	}
	return &Watcher{
		admin: admin, settings: s, topic: topic, log: log, available: available,
		rebalancing: map[string]time.Time{},
	}
}

// Run polls the workers' groups until lifetime ends, only while reachable
// reports the cluster in reach. It does nothing when no group is watched.
func (w *Watcher) Run(lifetime context.Context, reachable func() bool) {
	if len(w.settings.Groups) == 0 {
		w.available.Set(1) // assumed
		return
	}
	for {
		// Never while the cluster is out of reach: librdkafka (2.11) can
		// abort the process when a group-coordinator admin request times
		// out while brokers come and go (an assertion in its request
		// bookkeeping, github.com/confluentinc/librdkafka/issues/4605).
		// Requests fail fast on brokersDown meanwhile, and the verdict goes
		// stale, so no worker is assumed until a describe succeeds again.
		if reachable() {
			w.pollWorkers(lifetime)
		} else if v := w.workers.Load(); v != nil && v.consuming && time.Since(v.at) >= workersStaleAfter {
			w.setWorkers(&workersVerdict{reason: "worker groups not described since Kafka went out of reach", at: v.at})
		}
		if !kafkabroker.Sleep(lifetime, pollDelay(w.failures)) {
			return
		}
	}
}

// pollWorkers describes the watched groups once and stores the verdict,
// looking for an unlisted group that consumes when none listed does.
func (w *Watcher) pollWorkers(lifetime context.Context) {
	groups := w.watched()
	descs, err := w.describe(lifetime, groups)
	now := time.Now()
	if err != nil {
		w.failures++
		prev := w.workers.Load()
		if keepVerdict(prev, now, w.settings.RebalanceGrace) {
			return
		}
		w.setWorkers(&workersVerdict{reason: fmt.Sprintf("worker groups %q cannot be described: %v", groups, err), at: prevAt(prev)})
		return
	}
	w.failures = 0
	v := &workersVerdict{at: now}
	v.consuming, v.reason = w.judge(descs, now)
	if !v.consuming && now.Sub(w.lastDiscover) >= discoverEvery {
		w.lastDiscover = now
		if found := w.discover(lifetime, groups); len(found) > 0 {
			w.found = append(w.found, found...)
			v.consuming, v.reason = true, ""
		}
	}
	w.setWorkers(v)
}

// describe describes groups in one call. A group the coordinator does not
// know is an empty one; a group that cannot be described is left out, and
// the call fails only when none can be.
func (w *Watcher) describe(lifetime context.Context, groups []string) ([]kafka.ConsumerGroupDescription, error) {
	ctx, cancel := context.WithTimeout(lifetime, workersPollTimeout+500*time.Millisecond)
	defer cancel()
	res, err := w.admin.DescribeConsumerGroups(ctx, groups, kafka.SetAdminRequestTimeout(workersPollTimeout))
	if err != nil {
		return nil, fmt.Errorf("describe consumer groups: %w", err)
	}
	out := make([]kafka.ConsumerGroupDescription, 0, len(res.ConsumerGroupDescriptions))
	var errs []error
	for _, g := range res.ConsumerGroupDescriptions {
		switch g.Error.Code() {
		case kafka.ErrNoError:
			out = append(out, g)
		case kafka.ErrGroupIDNotFound:
			out = append(out, kafka.ConsumerGroupDescription{GroupID: g.GroupID, State: kafka.ConsumerGroupStateDead})
		default:
			errs = append(errs, fmt.Errorf("group %q: %w", g.GroupID, g.Error))
		}
	}
	if len(out) == 0 {
		return nil, errors.Join(append(errs, errors.New("no group described"))...)
	}
	if len(errs) > 0 {
		w.log.Debug("some worker groups cannot be described", "err", errors.Join(errs...))
	}
	return out, nil
}

// judge says whether any of the groups consumes topic, trusting a group in
// a rebalance for RebalanceGrace since it was first seen rebalancing.
func (w *Watcher) judge(descs []kafka.ConsumerGroupDescription, now time.Time) (bool, string) {
	consuming := false
	var why []string
	for _, g := range descs {
		state, reason := groupState(g, w.topic)
		if state != rebalancing {
			delete(w.rebalancing, g.GroupID)
		}
		switch state {
		case assigned:
			consuming = true
		case rebalancing:
			since, ok := w.rebalancing[g.GroupID]
			if !ok {
				since = now
				w.rebalancing[g.GroupID] = now
				w.log.Debug("worker group rebalancing: still accepting requests", "group", g.GroupID,
					"for_at_most", w.settings.RebalanceGrace.String())
			}
			if now.Sub(since) < w.settings.RebalanceGrace {
				consuming = true
				continue
			}
			why = append(why, fmt.Sprintf("%s for more than %s", reason, w.settings.RebalanceGrace))
		default:
			why = append(why, reason)
		}
	}
	if consuming {
		return true, ""
	}
	return false, strings.Join(why, "; ")
}

// discover looks for groups other than watched whose members are assigned
// topic, and logs each one it finds, once: its members count as workers
// from then on.
func (w *Watcher) discover(lifetime context.Context, watched []string) []string {
	ctx, cancel := context.WithTimeout(lifetime, 2*discoverTimeout)
	defer cancel()
	list, err := w.admin.ListConsumerGroups(ctx, kafka.SetAdminRequestTimeout(discoverTimeout))
	if err != nil {
		w.log.Debug("looking for unlisted worker groups: list consumer groups", "err", err)
		return nil
	}
	var candidates []string
	for _, g := range list.Valid {
		if g.State != kafka.ConsumerGroupStateEmpty && g.State != kafka.ConsumerGroupStateDead && !slices.Contains(watched, g.GroupID) {
			candidates = append(candidates, g.GroupID)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	res, err := w.admin.DescribeConsumerGroups(ctx, candidates, kafka.SetAdminRequestTimeout(discoverTimeout))
	if err != nil {
		w.log.Debug("looking for unlisted worker groups: describe consumer groups", "err", err)
		return nil
	}
	var found []string
	for _, g := range res.ConsumerGroupDescriptions {
		if g.Error.Code() != kafka.ErrNoError {
			continue
		}
		if state, _ := groupState(g, w.topic); state == assigned {
			found = append(found, g.GroupID)
			w.log.Warn("a consumer group that is not watched consumes the tasks topic: its members count as workers; list it in worker.watch_groups",
				"group", g.GroupID, "topic", w.topic, "watched", w.settings.Groups)
		}
	}
	return found
}

// keepVerdict reports whether prev still stands at now although the groups
// could not be described. A verdict of workers consuming stands for grace
// (the rebalance grace): with the cluster in reach, a describe fails when the
// groups' coordinator died and its partition of __consumer_offsets awaits a
// new leader (the broker's session timeout, 9 s by default, plus an
// election); the workers are still there, and calling that "no worker"
// turned a broker's death into 503s for every request. Any other verdict
// stands for workersStaleAfter, as before.
func keepVerdict(prev *workersVerdict, now time.Time, grace time.Duration) bool {
	switch {
	case prev == nil:
		return false
	case prev.consuming:
		return now.Sub(prev.at) < grace
	default:
		return now.Sub(prev.at) < workersStaleAfter
	}
}

// pollDelay is the pause before the next describe after failures in a row:
// doubling up to maxPollDelay, because each describe that times out while
// brokers come and go risks librdkafka's abort of the process (see Run).
func pollDelay(failures int) time.Duration {
	d := workersPollEvery
	for range failures {
		if d >= maxPollDelay {
			return maxPollDelay
		}
		d *= 2
	}
	return min(d, maxPollDelay)
}

func prevAt(v *workersVerdict) time.Time {
	if v == nil {
		return time.Time{}
	}
	return v.at
}

// setWorkers stores v, and logs and counts a change of verdict.
func (w *Watcher) setWorkers(v *workersVerdict) {
	prev := w.workers.Swap(v)
	w.available.Set(b2f(v.consuming))
	switch {
	case v.consuming && (prev == nil || !prev.consuming):
		w.log.Info("a worker consumes the tasks topic: accepting requests", "groups", w.watched())
	case !v.consuming && (prev == nil || prev.consuming):
		w.log.Warn("no worker consumes the tasks topic: POST /queue answers 503 at once "+
			"(workers in other groups are looked for every 5 s; one reading without a group is not seen: set worker.watch false for those)",
			"groups", w.watched(), "why", v.reason)
	}
}

// watched lists the groups described each poll.
func (w *Watcher) watched() []string {
	return append(slices.Clone(w.settings.Groups), w.found...)
}

// What a group's members do with the tasks topic.
type consumption int

const (
	idle        consumption = iota // no member reads it: empty, dead, or reading other topics
	assigned                       // a member is assigned a partition of it
	rebalancing                    // members present, their partitions being (re)assigned
)

// groupState tells whether some member of g reads a partition of topic,
// or its members are in a rebalance: a classic group PreparingRebalance or
// CompletingRebalance (its members gave their partitions up until it is
// Stable again), or a consumer-protocol group (KIP-848) whose members are
// still to take up a target assignment of topic. The reason says why not,
// when g is not assigned.
func groupState(g kafka.ConsumerGroupDescription, topic string) (consumption, string) {
	for _, m := range g.Members {
		if hasTopic(m.Assignment.TopicPartitions, topic) {
			if g.Type == kafka.ConsumerGroupTypeConsumer || g.State == kafka.ConsumerGroupStateStable {
				return assigned, ""
			}
		}
	}
	if len(g.Members) > 0 {
		switch {
		case g.State == kafka.ConsumerGroupStatePreparingRebalance || g.State == kafka.ConsumerGroupStateCompletingRebalance:
			return rebalancing, fmt.Sprintf("worker group %q is %s (%d members)", g.GroupID, g.State, len(g.Members))
		case g.Type == kafka.ConsumerGroupTypeConsumer && slices.ContainsFunc(g.Members, func(m kafka.MemberDescription) bool {
			return m.TargetAssignment != nil && hasTopic(m.TargetAssignment.TopicPartitions, topic)
		}):
			return rebalancing, fmt.Sprintf("worker group %q is reconciling its assignment (%d members)", g.GroupID, len(g.Members))
		}
	}
	return idle, fmt.Sprintf("no member of worker group %q (%s, %d members) is assigned %s",
		g.GroupID, g.State, len(g.Members), topic)
}

func hasTopic(tps []kafka.TopicPartition, topic string) bool {
	return slices.ContainsFunc(tps, func(tp kafka.TopicPartition) bool { return tp.Topic != nil && *tp.Topic == topic })
}

// Ready is nil while a worker consumes, else domain.ErrNoWorkers; before
// the groups' first description also domain.ErrStarting: whether a worker
// consumes is not known yet, so the instance has not finished starting.
func (w *Watcher) Ready() error {
	if len(w.settings.Groups) == 0 {
		return nil
	}
	v := w.workers.Load()
	switch {
	case v == nil:
		return fmt.Errorf("requester: worker groups not described yet: %w: %w", domain.ErrStarting, domain.ErrNoWorkers)
	case !v.consuming:
		return fmt.Errorf("requester: %s: %w", v.reason, domain.ErrNoWorkers)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
