package requester

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

// This file keeps the instance's reply topic alive, in both senses: a probe
// through it every heartbeat is the record the janitors of the other
// instances take for a sign of life (package replytopics), and when the
// topic turns out deleted (this instance was paused, or cut off from Kafka,
// for longer than the grace, and a janitor took it for gone) the instance
// makes it again and carries on, rather than answer 504 to every request
// whose reply has nowhere to go. Everything here runs in supervise.

// heartbeat sends a probe through the reply topic only (never the shared
// one: the original's servers read that). While the topic is lost it tries
// again every reprobeEvery until it is back; other failures (a slow broker)
// wait for the next heartbeat. While all brokers are down the reprobes of
// reprove are the heartbeats.
func (r *Broker) heartbeat() {
	for !r.brokersDown.Load() {
		err := r.prove(max(r.cfg.Heartbeat, reprobeTimeout), false)
		if err == nil || !r.topicLost.Load() {
			if err != nil {
				r.cfg.Logger.Debug("reply topic heartbeat failed", "reply_topic", r.replyTopic, "err", err)
			}
			return
		}
		if !kafkabroker.Sleep(r.lifetime, reprobeEvery) {
			return
		}
	}
}

// prove proves the reply path (with the shared results topic too when
// shared is set and the mode reads it), first making the reply topic again
// when it may be gone: when a probe found it unknown, or when none came
// back for the grace, long enough for a janitor to take this instance for
// gone.
func (r *Broker) prove(timeout time.Duration, shared bool) error {
	if r.topicMayBeGone() {
		ctx, cancel := context.WithTimeout(r.lifetime, timeout)
		err := r.ensureReplyTopic(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	var err error
	if shared {
		err = r.replies.Prove(r.lifetime, timeout, r.send)
	} else {
		err = r.replies.ProveOwn(r.lifetime, timeout, r.send)
	}
	switch {
	case err == nil:
		r.lastProof = time.Now()
		if r.topicLost.Swap(false) {
			r.cfg.Logger.Info("reply topic made again: reply path proven", "reply_topic", r.replyTopic)
		}
	case kafkabroker.IsUnknownTopic(err):
		r.noteTopicLost(err)
	}
	return err
}

// noteTopicLost fails Ready until a probe comes back, saying why once.
func (r *Broker) noteTopicLost(err error) {
	if !r.topicLost.Swap(true) {
		r.cfg.Logger.Warn("reply topic deleted; making it again (this instance was silent longer than its grace, so a janitor took it for gone)",
			"reply_topic", r.replyTopic, "last_proof", r.lastProof.Format(time.RFC3339), "err", err)
	}
}

// topicMayBeGone reports whether the reply topic must be made sure of
// before the next probe.
func (r *Broker) topicMayBeGone() bool {
	if r.topicLost.Load() {
		return true
	}
	return r.cfg.Grace > 0 && !r.lastProof.IsZero() && time.Since(r.lastProof) >= r.cfg.Grace
}

// ensureReplyTopic makes the reply topic unless it exists. Made again after
// the reply consumer was assigned it, the consumer is moved to its
// beginning (its position in the old topic means nothing in the new one)
// and Ready fails until a probe comes back through it.
func (r *Broker) ensureReplyTopic(ctx context.Context) error {
	created, err := topics.Create(ctx, r.admin, r.replyTopic, 1, replytopics.TopicConfig())
	if err != nil {
		return fmt.Errorf("requester: %w", err)
	}
	r.replyTopicMade = true
	if !created || !r.assigned {
		return nil
	}
	r.noteTopicLost(errors.New("made again: it did not exist"))
	if err := r.consumer.Seek(kafka.TopicPartition{Topic: &r.replyTopic, Partition: 0, Offset: 0}, 0); err != nil {
		return fmt.Errorf("requester: rewind the reply topic made again: %w", err)
	}
	return nil
}
