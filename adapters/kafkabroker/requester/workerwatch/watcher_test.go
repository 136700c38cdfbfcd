package workerwatch

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
)

var tasks, other = "tasks", "other"

func member(topic *string) kafka.MemberDescription {
	return kafka.MemberDescription{Assignment: kafka.MemberAssignment{TopicPartitions: []kafka.TopicPartition{{Topic: topic}}}}
}

// A group consumes the tasks topic when a member is assigned one of its
// partitions; a classic group only while Stable (in a rebalance its members
// gave their partitions up), a consumer-protocol group whatever its state.
// Members in a rebalance, or still to take up a target assignment of the
// tasks topic, are rebalancing: not an outage, for a while.
func TestGroupState(t *testing.T) {
	reconciling := kafka.MemberDescription{TargetAssignment: &kafka.MemberAssignment{TopicPartitions: []kafka.TopicPartition{{Topic: &tasks}}}}
	tests := []struct {
		name string
		g    kafka.ConsumerGroupDescription
		want consumption
	}{
		{"classic_stable", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStateStable, Members: []kafka.MemberDescription{member(&tasks)}}, assigned},
		{"classic_preparing_rebalance", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStatePreparingRebalance, Members: []kafka.MemberDescription{member(&tasks)}}, rebalancing},
		{"classic_completing_rebalance_unassigned", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStateCompletingRebalance, Members: []kafka.MemberDescription{{}, {}}}, rebalancing},
		{"classic_rebalance_without_members", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStatePreparingRebalance}, idle},
		{"consumer_reconciling_assigned", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateUnknown, Members: []kafka.MemberDescription{member(&tasks)}}, assigned},
		{"consumer_target_not_yet_taken", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateUnknown, Members: []kafka.MemberDescription{reconciling}}, rebalancing},
		{"empty", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateEmpty}, idle},
		{"dead", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeUnknown, State: kafka.ConsumerGroupStateDead}, idle},
		{"members_of_another_topic", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateStable, Members: []kafka.MemberDescription{member(&other), {}}}, idle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := groupState(tt.g, tasks)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want == assigned, why == "", "a reason exactly when not assigned: %q", why)
		})
	}
}

// A group in a rebalance counts as consuming for RebalanceGrace from when
// it was first seen rebalancing, then as no worker; any group consuming is
// enough, and a rebalance that completes resets the clock.
func TestJudge_TrustsARebalanceForTheGrace(t *testing.T) {
	w := New(nil, Settings{Groups: []string{"a", "b"}, RebalanceGrace: 10 * time.Second}, tasks,
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"}))
	rebalancingA := kafka.ConsumerGroupDescription{GroupID: "a", Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStatePreparingRebalance, Members: []kafka.MemberDescription{{}}}
	stableA := kafka.ConsumerGroupDescription{GroupID: "a", Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStateStable, Members: []kafka.MemberDescription{member(&tasks)}}
	emptyB := kafka.ConsumerGroupDescription{GroupID: "b", State: kafka.ConsumerGroupStateEmpty}
	stableB := kafka.ConsumerGroupDescription{GroupID: "b", Type: kafka.ConsumerGroupTypeConsumer, Members: []kafka.MemberDescription{member(&tasks)}}
	t0 := time.Now()

	ok, _ := w.judge([]kafka.ConsumerGroupDescription{rebalancingA, emptyB}, t0)
	assert.True(t, ok, "a rebalance begun now is trusted")
	ok, _ = w.judge([]kafka.ConsumerGroupDescription{rebalancingA, emptyB}, t0.Add(9*time.Second))
	assert.True(t, ok, "still within the grace")
	ok, why := w.judge([]kafka.ConsumerGroupDescription{rebalancingA, emptyB}, t0.Add(10*time.Second))
	assert.False(t, ok, "a rebalance longer than the grace counts as no worker")
	assert.Contains(t, why, "for more than 10s")
	ok, _ = w.judge([]kafka.ConsumerGroupDescription{rebalancingA, stableB}, t0.Add(11*time.Second))
	assert.True(t, ok, "another watched group consuming is enough")

	ok, _ = w.judge([]kafka.ConsumerGroupDescription{stableA, emptyB}, t0.Add(12*time.Second))
	assert.True(t, ok)
	ok, _ = w.judge([]kafka.ConsumerGroupDescription{rebalancingA, emptyB}, t0.Add(30*time.Second))
	assert.True(t, ok, "a new rebalance gets a new grace")
}

// With no group to watch the check is off: workers are assumed.
func TestReady_NoGroupsIsOff(t *testing.T) {
	w := New(nil, Settings{}, tasks, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"}))
	assert.NoError(t, w.Ready())
}

// A failed describe keeps a verdict of workers consuming for the rebalance
// grace (a coordinator that died is replaced within it), any other verdict
// only for workersStaleAfter; no verdict yet is never kept.
func TestKeepVerdict_ConsumingWorkersOutliveACoordinatorsDeath(t *testing.T) {
	at := time.Now()
	grace := 30 * time.Second
	consuming := &workersVerdict{consuming: true, at: at}
	none := &workersVerdict{reason: "empty", at: at}
	assert.False(t, keepVerdict(nil, at, grace), "no verdict yet")
	assert.True(t, keepVerdict(consuming, at.Add(12*time.Second), grace), "12 s of a dead coordinator")
	assert.False(t, keepVerdict(consuming, at.Add(grace), grace), "past the grace")
	assert.True(t, keepVerdict(none, at.Add(time.Second), grace))
	assert.False(t, keepVerdict(none, at.Add(workersStaleAfter), grace), "no worker stays no worker only while fresh")
}

// Failed describes back off, doubling to maxPollDelay.
func TestPollDelay_BacksOffAfterFailures(t *testing.T) {
	assert.Equal(t, workersPollEvery, pollDelay(0))
	assert.Equal(t, 2*workersPollEvery, pollDelay(1))
	assert.Equal(t, 4*workersPollEvery, pollDelay(2))
	assert.Equal(t, maxPollDelay, pollDelay(3))
	assert.Equal(t, maxPollDelay, pollDelay(100))
}
