package requester

import (
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replies"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
	"github.com/1000x-rps-server/rps-server/domain"
)

// supervise connects (retrying with growing pauses until it works or Close),
// then re-proves the reply path whenever all brokers were reported down, so
// readiness comes back on its own once Kafka does, with or without traffic,
// and sends a heartbeat through the reply topic every cfg.Heartbeat
// (keepalive.go).
func (r *Broker) supervise() {
	defer close(r.superviseDone)
	wait := firstRetry
	for {
		err := r.connect()
		if err == nil {
			break
		}
		if r.lifetime.Err() != nil {
			return
		}
		r.cfg.Logger.Warn("kafka not reachable yet; retrying", "in", wait.String(), "err", err)
		if !kafkabroker.Sleep(r.lifetime, wait) {
			return
		}
		wait = min(2*wait, maxRetry)
	}
	r.ready.Store(true)
	r.started.Store(true)
	r.outage.Up()
	r.cfg.Logger.Info("kafka requester ready", "reply_topic", r.replyTopic, "tasks_topic", r.cfg.TasksTopic)

	var beat <-chan time.Time
	if r.cfg.Heartbeat > 0 {
		t := time.NewTicker(r.cfg.Heartbeat)
		defer t.Stop()
		beat = t.C
	}
	for {
		select {
		case <-r.lifetime.Done():
			return
		case <-beat:
			r.heartbeat()
		case <-r.wentDown:
			if !r.reprove() {
				return
			}
		}
	}
}

// reprove re-proves the reply path every reprobeEvery until it works, after
// all brokers were reported down; it reports false when Close came first.
func (r *Broker) reprove() bool {
	for r.brokersDown.Load() {
		if err := r.prove(reprobeTimeout, true); err == nil {
			r.brokersDown.Store(false)
			r.outage.Up()
			r.cfg.Logger.Info("kafka reachable again: reply path proven")
			break
		}
		if !kafkabroker.Sleep(r.lifetime, reprobeEvery) {
			return false
		}
	}
	return true
}

func (r *Broker) connect() error {
	if err := topics.Ensure(r.lifetime, r.admin, r.cfg.TasksTopic, r.cfg.TasksPartitions, nil); err != nil {
		return fmt.Errorf("requester: %w", err)
	}
	if err := r.ensureReplyTopic(r.lifetime); err != nil {
		return err
	}
	if !r.assigned {
		// From the beginning of a topic made for us: no reply can slip past.
		assignment := []kafka.TopicPartition{{Topic: &r.replyTopic, Partition: 0, Offset: 0}}
		if r.cfg.SharedReplies {
			shared, err := r.replies.SharedAssignment(r.lifetime, r.admin)
			if err != nil {
				return fmt.Errorf("requester: %w", err)
			}
			assignment = append(assignment, shared...)
		}
		if err := r.consumer.Assign(assignment); err != nil {
			return fmt.Errorf("requester: assign reply topic: %w", err)
		}
		r.assigned = true
		go r.replyLoop()
	}
	return r.prove(probeTimeout, true)
}

// deliveryLoop drains delivery reports, so the producer never blocks, and
// fails the request of any task that could not be delivered.
func (r *Broker) deliveryLoop() {
	defer close(r.deliveryDone)
	for ev := range r.producer.Events() {
		switch e := ev.(type) {
		case *kafka.Message:
			if e.TopicPartition.Error == nil {
				r.brokersDown.Store(false)
				r.endOutage()
				continue
			}
			r.metrics.produceErrors.Inc()
			if id, ok := e.Opaque.(string); ok {
				r.replies.Complete(id, replies.Outcome{Err: fmt.Errorf("requester: deliver task: %w: %w", domain.ErrUnavailable, e.TopicPartition.Error)})
			}
		case kafka.Error:
			r.noteError(e)
		}
	}
}

// replyLoop reads the reply topics until Close (package replies).
func (r *Broker) replyLoop() {
	defer close(r.replyDone)
	r.replies.Read(r.lifetime, func() {
		r.brokersDown.Store(false)
		r.endOutage()
	}, r.noteError)
}

// endOutage ends an outage once Kafka answers, unless the reply path is not
// proven yet (Ready still fails then: the outage goes on).
func (r *Broker) endOutage() {
	if r.ready.Load() {
		r.outage.Up()
	}
}

func (r *Broker) noteError(e kafka.Error) {
	if r.refusedAtStart(e) {
		return
	}
	if e.Code() == kafka.ErrAllBrokersDown {
		r.outage.Down(time.Now(), e, false)
	}
	if e.Code() == kafka.ErrAllBrokersDown && !r.brokersDown.Swap(true) {
		select {
		case r.wentDown <- struct{}{}:
		default:
		}
	}
	r.errs.Note("requester", e)
}
