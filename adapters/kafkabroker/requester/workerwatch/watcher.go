// Package workerwatch tells the server side of the Kafka broker whether any
// worker consumes the tasks topic, so a request without one fails at once.
package workerwatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// Whether any worker consumes the tasks topic is learnt from the workers'
// consumer group, as the coordinator sees it (DescribeConsumerGroups): no
// signal of our own to publish, and the coordinator is the one that decides
// who reads which partition. A worker that leaves (clean stop) is gone from
// the group at once; one that crashed stays until the group's session
// timeout.
//
// The verdict is at most workersPollEvery + workersPollTimeout old (~2 s).
// When the group cannot be asked for workersStaleAfter, the verdict is
// "unknown", which counts as no worker: a request then gets 503 at once
// rather than a slot held to its deadline.
const (
	workersPollEvery   = time.Second
	workersPollTimeout = time.Second
	workersStaleAfter  = 3 * time.Second
)

// workersVerdict is the last answer about the workers' group.
type workersVerdict struct {
	consuming bool
	reason    string    // why not, when not consuming
	at        time.Time // when the group was last described
}

// Watcher keeps the last verdict about the workers' group. It is safe for
// concurrent use.
type Watcher struct {
	admin     *kafka.AdminClient
	group     string
	topic     string
	log       *slog.Logger
	available prometheus.Gauge // 1 while a worker consumes topic
	workers   atomic.Pointer[workersVerdict]
}

// New returns the watcher of group's consumption of topic; an empty group
// turns the check off (workers are assumed). available is set to 1 while a
// worker consumes, else 0.
func New(admin *kafka.AdminClient, group, topic string, log *slog.Logger, available prometheus.Gauge) *Watcher {
	return &Watcher{admin: admin, group: group, topic: topic, log: log, available: available}
}

// Run polls the workers' group until lifetime ends, only while reachable
// reports the cluster in reach. It does nothing when no group is configured.
func (w *Watcher) Run(lifetime context.Context, reachable func() bool) {
	if w.group == "" {
		w.available.Set(1) // assumed
		return
	}
	for {
		// Never while the cluster is out of reach: librdkafka (2.11) can
		// abort the process when a group-coordinator admin request times
		// out while brokers come and go (confluentinc/librdkafka#4605).
		// Requests fail fast on brokersDown meanwhile, and the verdict goes
		// stale, so no worker is assumed until a describe succeeds again.
		if reachable() {
			w.pollWorkers(lifetime)
		} else if v := w.workers.Load(); v != nil && v.consuming && time.Since(v.at) >= workersStaleAfter {
			w.setWorkers(&workersVerdict{reason: "worker group not described since Kafka went out of reach", at: v.at})
		}
		if !kafkabroker.Sleep(lifetime, workersPollEvery) {
			return
		}
	}
}

// pollWorkers describes the group once and stores the verdict.
func (w *Watcher) pollWorkers(lifetime context.Context) {
	ctx, cancel := context.WithTimeout(lifetime, workersPollTimeout+500*time.Millisecond)
	defer cancel()
	res, err := w.admin.DescribeConsumerGroups(ctx, []string{w.group},
		kafka.SetAdminRequestTimeout(workersPollTimeout))
	now := time.Now()
	if err == nil && len(res.ConsumerGroupDescriptions) == 1 {
		if gerr := res.ConsumerGroupDescriptions[0].Error; gerr.Code() != kafka.ErrNoError {
			err = gerr
		}
	}
	if err != nil || len(res.ConsumerGroupDescriptions) != 1 {
		prev := w.workers.Load()
		if prev != nil && now.Sub(prev.at) < workersStaleAfter {
			return // keep the last verdict while it is fresh enough
		}
		w.setWorkers(&workersVerdict{reason: fmt.Sprintf("worker group %q cannot be described: %v", w.group, err), at: prevAt(prev)})
		return
	}
	consuming, reason := groupConsumes(res.ConsumerGroupDescriptions[0], w.topic)
	w.setWorkers(&workersVerdict{consuming: consuming, reason: reason, at: now})
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
		w.log.Info("a worker consumes the tasks topic: accepting requests", "group", w.group)
	case !v.consuming && (prev == nil || prev.consuming):
		w.log.Warn("no worker consumes the tasks topic: POST /queue answers 503 at once",
			"group", w.group, "why", v.reason)
	}
}

// groupConsumes reports whether some member of g reads a partition of
// topic. A classic group reads only when Stable (in a rebalance its members
// have given their partitions up); a consumer-protocol group (KIP-848)
// reads what each member owns whatever the group's state.
func groupConsumes(g kafka.ConsumerGroupDescription, topic string) (bool, string) {
	if g.Type != kafka.ConsumerGroupTypeConsumer && g.State != kafka.ConsumerGroupStateStable {
		return false, "worker group is " + g.State.String()
	}
	for _, m := range g.Members {
		for _, tp := range m.Assignment.TopicPartitions {
			if tp.Topic != nil && *tp.Topic == topic {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("no member of worker group %q (%s, %d members) is assigned %s",
		g.GroupID, g.State, len(g.Members), topic)
}

// Ready is nil while a worker consumes, else domain.ErrNoWorkers; before
// the group's first description also domain.ErrStarting: whether a worker
// consumes is not known yet, so the instance has not finished starting.
func (w *Watcher) Ready() error {
	if w.group == "" {
		return nil
	}
	v := w.workers.Load()
	switch {
	case v == nil:
		return fmt.Errorf("requester: worker group not described yet: %w: %w", domain.ErrStarting, domain.ErrNoWorkers)
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
