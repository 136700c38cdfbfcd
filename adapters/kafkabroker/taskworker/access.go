package taskworker

import (
	"context"
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

// ensureTopics creates the tasks topic, and the dead-letter topic when one
// is set, unless they exist. Meanwhile it reads the producer's events, which
// are only errors before anything is produced: when Kafka turns the
// producer away for its settings (a failed SASL login or TLS handshake,
// kafkabroker.AccessError, with user its sasl.username), it fails at once
// with that error rather than time out on an admin call that says nothing
// of why.
func (w *Runner) ensureTopics(ctx context.Context, admin *kafka.AdminClient, user string) error {
	ctx, refuse := context.WithCancelCause(ctx)
	defer refuse(nil)
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case ev := <-w.producer.Events():
				e, ok := ev.(kafka.Error)
				if !ok || ctx.Err() != nil { // refused (the brokers seen down since are no outage), or given up
					continue
				}
				if err := kafkabroker.AccessDenied(e, user); err != nil {
					refuse(err)
					continue
				}
				w.noteError("producer", e)
			}
		}
	}()
	err := topics.Ensure(ctx, admin, w.cfg.TasksTopic, w.cfg.TasksPartitions, nil)
	if err == nil && w.cfg.DeadLetterTopic != "" {
		err = topics.Ensure(ctx, admin, w.cfg.DeadLetterTopic, w.cfg.TasksPartitions, nil)
	}
	close(stop)
	<-watched // deliveryLoop reads the events from here on
	var access *kafkabroker.AccessError
	if cause := context.Cause(ctx); err != nil && errors.As(cause, &access) {
		return cause
	}
	return err
}
