package faults_test

import (
	"context"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// lag is how many tasks of the stack's tasks topic the workers' group has
// not committed yet (-1 when it cannot be asked): 0 means committed offsets
// reached the end.
func (k kafkaStack) lag() int64 {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": k.bootstrap})
	if err != nil {
		return -1
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topic := k.tasksTopic()
	md, err := admin.GetMetadata(&topic, false, 10000)
	if err != nil {
		return -1
	}
	specs := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, p := range md.Topics[topic].Partitions {
		specs[kafka.TopicPartition{Topic: &topic, Partition: p.ID}] = kafka.LatestOffsetSpec
	}
	ends, err := admin.ListOffsets(ctx, specs)
	if err != nil {
		return -1
	}
	committed, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: k.group()}})
	if err != nil || len(committed.ConsumerGroupsTopicPartitions) != 1 {
		return -1
	}
	at := map[int32]int64{}
	for _, tp := range committed.ConsumerGroupsTopicPartitions[0].Partitions {
		if tp.Topic != nil && *tp.Topic == topic {
			at[tp.Partition] = max(int64(tp.Offset), 0)
		}
	}
	var lag int64
	for tp, end := range ends.ResultInfos {
		if end.Error.Code() != kafka.ErrNoError {
			return -1
		}
		lag += int64(end.Offset) - at[tp.Partition]
	}
	return lag
}
