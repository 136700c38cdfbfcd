package kafkabroker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/domain"
)

// adminTimeout bounds one admin operation, so an unreachable cluster fails
// start-up in bounded time.
const adminTimeout = 15 * time.Second

// ensureTopic creates topic with the given partitions unless it exists;
// partitions < 1 and the replication factor take the cluster's defaults.
func ensureTopic(ctx context.Context, admin *kafka.AdminClient, topic string, partitions int, config map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	if partitions < 1 {
		partitions = -1
	}
	results, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: -1, Config: config,
	}}, kafka.SetAdminOperationTimeout(adminTimeout))
	if err != nil {
		return fmt.Errorf("create topic %s: %w: %w", topic, domain.ErrUnavailable, err)
	}
	for _, r := range results {
		if code := r.Error.Code(); code != kafka.ErrNoError && code != kafka.ErrTopicAlreadyExists {
			return fmt.Errorf("create topic %s: %w: %w", topic, domain.ErrUnavailable, r.Error)
		}
	}
	return nil
}

func deleteTopic(ctx context.Context, admin *kafka.AdminClient, topic string) error {
	results, err := admin.DeleteTopics(ctx, []string{topic}, kafka.SetAdminOperationTimeout(adminTimeout))
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, r := range results {
		if code := r.Error.Code(); code != kafka.ErrNoError && code != kafka.ErrUnknownTopicOrPart {
			return fmt.Errorf("delete topic %s: %w", topic, r.Error)
		}
	}
	return nil
}

// isUnknownTopic reports a delivery that failed because its topic does not
// exist (any more): for a reply, the server instance that asked is gone.
func isUnknownTopic(err error) bool {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr.Code() {
	case kafka.ErrUnknownTopicOrPart, kafka.ErrUnknownTopic, kafka.ErrUnknownPartition:
		return true
	}
	return false
}

// isQueueFull reports librdkafka's local queue being full: back-pressure.
func isQueueFull(err error) bool {
	var kerr kafka.Error
	return errors.As(err, &kerr) && kerr.Code() == kafka.ErrQueueFull
}
