package kafkabroker_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// What a failed delivery means decides whether a reply is produced again or
// given up: a permanent refusal retried would stall its partition's commits.
func TestClassifyDelivery(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		want       kafkabroker.Delivery
		wantReason string
	}{
		{"message_timed_out", kafka.NewError(kafka.ErrMsgTimedOut, "", false), kafkabroker.DeliveryRetry, kafkabroker.ReasonTimedOut},
		{"leader_moving", kafka.NewError(kafka.ErrNotLeaderForPartition, "", false), kafkabroker.DeliveryRetry, kafkabroker.ReasonTransient},
		{"not_enough_replicas", kafka.NewError(kafka.ErrNotEnoughReplicas, "", false), kafkabroker.DeliveryRetry, kafkabroker.ReasonTransient},
		{"login_failed_is_an_outage", kafka.NewError(kafka.ErrAuthentication, "", false), kafkabroker.DeliveryRetry, kafkabroker.ReasonTransient},
		{"queue_full", kafka.NewError(kafka.ErrQueueFull, "", false), kafkabroker.DeliveryQueueFull, kafkabroker.ReasonQueueFull},
		{"unknown_topic", kafka.NewError(kafka.ErrUnknownTopicOrPart, "", false), kafkabroker.DeliveryTopicGone, kafkabroker.ReasonTopicGone},
		{"unknown_topic_local", kafka.NewError(kafka.ErrUnknownTopic, "", false), kafkabroker.DeliveryTopicGone, kafkabroker.ReasonTopicGone},
		{"too_large", kafka.NewError(kafka.ErrMsgSizeTooLarge, "", false), kafkabroker.DeliveryRefused, kafkabroker.ReasonTooLarge},
		{"topic_not_authorized", kafka.NewError(kafka.ErrTopicAuthorizationFailed, "", false), kafkabroker.DeliveryRefused, kafkabroker.ReasonNotAuthorized},
		{"invalid_topic", kafka.NewError(kafka.ErrTopicException, "", false), kafkabroker.DeliveryRefused, kafkabroker.ReasonInvalidTopic},
		{"invalid_record", kafka.NewError(kafka.ErrInvalidRecord, "", false), kafkabroker.DeliveryRefused, kafkabroker.ReasonInvalidRecord},
		{"policy_violation", kafka.NewError(kafka.ErrPolicyViolation, "", false), kafkabroker.DeliveryRefused, kafkabroker.ReasonRefused},
		{"fatal_flag", kafka.NewError(kafka.ErrOutOfOrderSequenceNumber, "", true), kafkabroker.DeliveryFatal, kafkabroker.ReasonFatal},
		{"fatal_code", kafka.NewError(kafka.ErrFatal, "", false), kafkabroker.DeliveryFatal, kafkabroker.ReasonFatal},
		{"wrapped", fmt.Errorf("produce: %w", kafka.NewError(kafka.ErrMsgSizeTooLarge, "", false)), kafkabroker.DeliveryRefused, kafkabroker.ReasonTooLarge},
		{"not_a_kafka_error", errors.New("closed"), kafkabroker.DeliveryRetry, kafkabroker.ReasonTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := kafkabroker.ClassifyDelivery(tt.err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantReason, reason)
		})
	}
}
