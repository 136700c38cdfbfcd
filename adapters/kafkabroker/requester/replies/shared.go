package replies

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
	"github.com/1000x-rps-server/rps-server/domain"
)

// This file is the shared reply mode (requester.Config.SharedReplies), for mixed
// fleets during a migration from the Python original: its workers ignore
// reply_to and answer every task on the shared results topic, so an instance
// in this mode reads that topic too, as the original's servers did, and
// takes the replies addressed to its pending requests.

// Outcomes of a reply read from the shared results topic, the labels of
// Metrics.Shared.
const (
	SharedTaken   = "taken"   // a pending request of this instance got it
	SharedIgnored = "ignored" // someone else's, late, or not ours to decode
)

// metadataTimeoutMs bounds the look-ups made when assigning the shared topic.
const metadataTimeoutMs = 10_000

// SharedAssignment creates the shared results topic if needed and returns
// every one of its partitions at its current end: read from there, with
// offsets fixed now rather than resolved lazily at the first fetch, so no
// reply produced after this call slips past (the original's servers, at
// "latest" in a group, lost the replies sent before their assignment).
func (r *Router) SharedAssignment(ctx context.Context, admin *kafka.AdminClient) ([]kafka.TopicPartition, error) {
	topic := r.cfg.SharedTopic
	if err := topics.Ensure(ctx, admin, topic, 0, nil); err != nil {
		return nil, err
	}
	md, err := r.cfg.Consumer.GetMetadata(&topic, false, metadataTimeoutMs)
	if err != nil {
		return nil, fmt.Errorf("shared results topic %s: metadata: %w: %w", topic, domain.ErrUnavailable, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() != kafka.ErrNoError || len(tm.Partitions) == 0 {
		return nil, fmt.Errorf("shared results topic %s: no partitions known yet: %w", topic, domain.ErrUnavailable)
	}
	out := make([]kafka.TopicPartition, 0, len(tm.Partitions))
	for _, p := range tm.Partitions {
		_, high, err := r.cfg.Consumer.QueryWatermarkOffsets(topic, p.ID, metadataTimeoutMs)
		if err != nil {
			return nil, fmt.Errorf("shared results topic %s[%d]: end offset: %w: %w", topic, p.ID, domain.ErrUnavailable, err)
		}
		out = append(out, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.Offset(high)})
	}
	r.sharedPartitions = len(out)
	return out, nil
}

// probeShared proves the shared topic is read: one probe per partition,
// each produced with send to that partition and awaited, so every partition's fetch
// is known to work. Other readers of the topic ignore the probes.
func (r *Router) probeShared(ctx context.Context, send func(*kafka.Message) error) error {
	ids := make([]string, 0, r.sharedPartitions)
	chans := make([]chan Outcome, 0, r.sharedPartitions)
	defer func() {
		for _, id := range ids {
			r.pending.Delete(id)
		}
	}()
	for p := range r.sharedPartitions {
		id := ProbePrefix + kafkabroker.RandomHex(8)
		ch, err := r.slot(id)
		if err != nil {
			return err
		}
		ids, chans = append(ids, id), append(chans, ch)
		msg, err := kafkabroker.EncodeReply(domain.Result{TaskID: id, Value: "probe"}, r.cfg.SharedTopic)
		if err != nil {
			return err
		}
		msg.TopicPartition.Partition = int32(p)
		msg.Opaque = id
		if err := send(msg); err != nil {
			return fmt.Errorf("requester: shared probe: %w", err)
		}
	}
	for p, ch := range chans {
		select {
		case o := <-ch:
			if o.Err != nil {
				return o.Err
			}
		case <-ctx.Done():
			return fmt.Errorf("requester: shared probe: no reply through %s[%d]: %w", r.cfg.SharedTopic, p, domain.ErrUnavailable)
		}
	}
	return nil
}

// takeShared hands a reply from the shared topic to the request waiting for
// it; every other reply (another server's, a late one, one that does not
// decode) is ignored without a log line, and counted.
func (r *Router) takeShared(m *kafka.Message) {
	res, err := kafkabroker.DecodeReply(m)
	if err == nil && strings.HasPrefix(res.TaskID, ProbePrefix) {
		r.Complete(res.TaskID, Outcome{Res: res}) // ours, or another instance's: not a reply
		return
	}
	if err == nil && r.Complete(res.TaskID, Outcome{Res: res}) {
		r.cfg.Metrics.Shared.WithLabelValues(SharedTaken).Inc()
		return
	}
	if err != nil && !errors.Is(err, kafkabroker.ErrPoison) {
		r.cfg.Logger.Debug("shared reply not decoded", "err", err)
	}
	r.cfg.Metrics.Shared.WithLabelValues(SharedIgnored).Inc()
}
