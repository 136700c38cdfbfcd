package replytopics

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

// retention is how long records live in a reply topic: only replies to a
// crashed instance are ever left unread, and nobody needs those. markKey
// rolls the topic's segment as often, so that retention reaches a live
// instance's topic too (its heartbeats keep the only segment fresh
// otherwise, and it would grow for the broker's segment.ms, 7 days); set on
// the topic, it is also the mark the janitor looks for.
const (
	retention = "3600000"
	markKey   = "segment.ms"
)

// TopicConfig is the config a reply topic is made with. The janitor deletes
// only topics carrying markKey as a setting of their own: servers of an
// older version send no heartbeat, so their live topics must never be taken
// for dead during a rolling upgrade.
func TopicConfig() map[string]string {
	return map[string]string{"retention.ms": retention, markKey: retention}
}

// kafkaAdmin is Admin on a librdkafka admin client.
type kafkaAdmin struct{ c *kafka.AdminClient }

// NewAdmin returns the Admin of the janitor on c.
func NewAdmin(c *kafka.AdminClient) Admin { return kafkaAdmin{c: c} }

func (a kafkaAdmin) Topics(ctx context.Context) ([]string, error) {
	md, err := a.c.GetMetadata(nil, true, timeoutMs(ctx))
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	names := make([]string, 0, len(md.Topics))
	for name, t := range md.Topics {
		if t.Error.Code() == kafka.ErrNoError {
			names = append(names, name)
		}
	}
	return names, nil
}

func (a kafkaAdmin) Look(ctx context.Context, names []string) (map[string]Look, error) {
	desc, err := a.c.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames(names))
	if err != nil {
		return nil, fmt.Errorf("describe topics: %w", err)
	}
	ids := make(map[string]string, len(names))
	ends := make(map[kafka.TopicPartition]kafka.OffsetSpec, len(names))
	for _, d := range desc.TopicDescriptions {
		if d.Error.Code() != kafka.ErrNoError || len(d.Partitions) != 1 {
			continue
		}
		name := d.Name
		ids[name] = d.TopicID.String()
		ends[kafka.TopicPartition{Topic: &name, Partition: 0}] = kafka.LatestOffsetSpec
	}
	out := make(map[string]Look, len(ends))
	if len(ends) == 0 {
		return out, nil
	}
	res, err := a.c.ListOffsets(ctx, ends)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	for tp, info := range res.ResultInfos {
		if tp.Topic != nil && info.Error.Code() == kafka.ErrNoError && info.Offset >= 0 {
			out[*tp.Topic] = Look{ID: ids[*tp.Topic], End: int64(info.Offset)}
		}
	}
	return out, nil
}

func (a kafkaAdmin) Marked(ctx context.Context, topic string) (bool, error) {
	res, err := a.c.DescribeConfigs(ctx, []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: topic}})
	if err != nil {
		return false, fmt.Errorf("describe config of %s: %w", topic, err)
	}
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		return false, fmt.Errorf("describe config of %s: %v", topic, res)
	}
	e, ok := res[0].Config[markKey]
	return ok && e.Source == kafka.ConfigSourceDynamicTopic, nil
}

func (a kafkaAdmin) Delete(ctx context.Context, topic string) (bool, error) {
	res, err := a.c.DeleteTopics(ctx, []string{topic}, kafka.SetAdminOperationTimeout(topics.AdminTimeout))
	if err != nil {
		return false, fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, r := range res {
		switch r.Error.Code() {
		case kafka.ErrNoError:
		case kafka.ErrUnknownTopicOrPart:
			return false, nil
		default:
			return false, fmt.Errorf("delete topic %s: %w", topic, r.Error)
		}
	}
	return true, nil
}

// timeoutMs is what is left of ctx's deadline, for calls that take
// milliseconds rather than a context; at most topics.AdminTimeout.
func timeoutMs(ctx context.Context) int {
	d := topics.AdminTimeout
	if deadline, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(deadline))
	}
	return max(1, int(d.Milliseconds()))
}
