// Package topics holds Kafka's topic-name rules beside the admin calls
// that create and delete topics.
package topics

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/domain"
)

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// Valid checks name against Kafka's rules for topic names, so a bad
// name is refused at start-up, and a bad reply_to when the task is read
// rather than retried forever on produce.
func Valid(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > maxTopicLen {
		return fmt.Errorf("invalid topic name %q", name)
	}
	for _, c := range []byte(name) {
		if !isTopicChar(c) {
			return fmt.Errorf("invalid topic name %q", name)
		}
	}
	return nil
}

// SanitizePart replaces what Kafka does not allow in a topic name, and
// dots (they separate the parts of a name), with '_'.
func SanitizePart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isTopicChar(c) || c == '.' {
			b[i] = '_'
		}
	}
	return string(b)
}

func isTopicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// AdminTimeout bounds one admin operation, so an unreachable cluster fails
// start-up in bounded time.
const AdminTimeout = 15 * time.Second

// Ensure creates topic with the given partitions unless it exists;
// partitions < 1 and the replication factor take the cluster's defaults.
// Failures wrap domain.ErrUnavailable.
func Ensure(ctx context.Context, admin *kafka.AdminClient, topic string, partitions int, config map[string]string) error {
	_, err := Create(ctx, admin, topic, partitions, config)
	return err
}

// Create is Ensure that also reports whether it made the topic (false: it
// existed already).
func Create(ctx context.Context, admin *kafka.AdminClient, topic string, partitions int, config map[string]string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, AdminTimeout)
	defer cancel()
	if partitions < 1 {
		partitions = -1
	}
	results, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: -1, Config: config,
	}}, kafka.SetAdminOperationTimeout(AdminTimeout))
	if err != nil {
		return false, fmt.Errorf("create topic %s: %w: %w", topic, domain.ErrUnavailable, err)
	}
	created := false
	for _, r := range results {
		switch code := r.Error.Code(); code {
		case kafka.ErrNoError:
			created = true
		case kafka.ErrTopicAlreadyExists:
		default:
			return false, fmt.Errorf("create topic %s: %w: %w", topic, domain.ErrUnavailable, r.Error)
		}
	}
	return created, nil
}

// Delete deletes topic; a topic already gone is not an error.
func Delete(ctx context.Context, admin *kafka.AdminClient, topic string) error {
	results, err := admin.DeleteTopics(ctx, []string{topic}, kafka.SetAdminOperationTimeout(AdminTimeout))
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
