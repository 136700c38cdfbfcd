package taskworker

import (
	"strconv"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Headers a dead letter carries beside the task's own, named after Spring
// Kafka's kafka_dlt-* headers (in this project's snake_case) and holding
// text, so a console consumer shows them as they are: why the task is poison
// and where it came from, to find it again or to replay it.
const (
	headerDLTReason    = "dlt_reason"             // undecodable, unroutable or unknown_kind
	headerDLTError     = "dlt_error"              // the error that made it poison
	headerDLTTopic     = "dlt_original_topic"     // the tasks topic
	headerDLTPartition = "dlt_original_partition" // decimal
	headerDLTOffset    = "dlt_original_offset"    // decimal
	headerDLTGroup     = "dlt_original_group"     // the workers' consumer group
	headerDLTTimestamp = "dlt_original_timestamp" // milliseconds since the epoch, when the task has one
)

// deadLetter is m copied to topic unchanged (key, value, headers), with the
// reason it is poison and where it came from in headers of its own.
func deadLetter(m *kafka.Message, topic, group, reason string, cause error) *kafka.Message {
	tp := m.TopicPartition
	from := ""
	if tp.Topic != nil {
		from = *tp.Topic
	}
	headers := make([]kafka.Header, 0, len(m.Headers)+7)
	headers = append(headers, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: headerDLTReason, Value: []byte(reason)},
		kafka.Header{Key: headerDLTError, Value: []byte(cause.Error())},
		kafka.Header{Key: headerDLTTopic, Value: []byte(from)},
		kafka.Header{Key: headerDLTPartition, Value: strconv.AppendInt(nil, int64(tp.Partition), 10)},
		kafka.Header{Key: headerDLTOffset, Value: strconv.AppendInt(nil, int64(tp.Offset), 10)},
		kafka.Header{Key: headerDLTGroup, Value: []byte(group)},
	)
	if !m.Timestamp.IsZero() {
		headers = append(headers, kafka.Header{Key: headerDLTTimestamp, Value: strconv.AppendInt(nil, m.Timestamp.UnixMilli(), 10)})
	}
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            m.Key,
		Value:          m.Value,
		Headers:        headers,
	}
}
