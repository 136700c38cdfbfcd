package workerwatch

import (
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
)

// A group consumes the tasks topic when a member is assigned one of its
// partitions; a classic group only while Stable (in a rebalance its members
// gave their partitions up), a consumer-protocol group whatever its state.
func TestGroupConsumes(t *testing.T) {
	tasks, other := "tasks", "other"
	member := func(topic *string) kafka.MemberDescription {
		return kafka.MemberDescription{Assignment: kafka.MemberAssignment{TopicPartitions: []kafka.TopicPartition{{Topic: topic}}}}
	}
	tests := []struct {
		name string
		g    kafka.ConsumerGroupDescription
		want bool
	}{
		{"classic_stable", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStateStable, Members: []kafka.MemberDescription{member(&tasks)}}, true},
		{"classic_rebalancing", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeClassic, State: kafka.ConsumerGroupStatePreparingRebalance, Members: []kafka.MemberDescription{member(&tasks)}}, false},
		{"consumer_reconciling", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateUnknown, Members: []kafka.MemberDescription{member(&tasks)}}, true},
		{"empty", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateEmpty}, false},
		{"dead", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeUnknown, State: kafka.ConsumerGroupStateDead}, false},
		{"members_of_another_topic", kafka.ConsumerGroupDescription{Type: kafka.ConsumerGroupTypeConsumer, State: kafka.ConsumerGroupStateStable, Members: []kafka.MemberDescription{member(&other), {}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := groupConsumes(tt.g, tasks)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want, why == "", "a reason exactly when not consuming: %q", why)
		})
	}
}
