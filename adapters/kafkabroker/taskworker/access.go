package taskworker

import (
	"context"
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// watchAccess reads the producer's events while New makes its first calls
// to the cluster, through the ctx it returns; they are only errors, since
// nothing is produced yet. When Kafka turns the producer away for its
// settings (a failed SASL login or TLS handshake, kafkabroker.AccessError,
// with user its sasl.username), it cancels that ctx at once, rather than
// let an admin call time out saying nothing of why. refused ends the watch
// (Run's delivery loop reads the events from then on) and returns that
// error in place of the calls' err, else err.
func (w *Runner) watchAccess(ctx context.Context, user string) (_ context.Context, refused func(err error) error) {
	ctx, refuse := context.WithCancelCause(ctx)
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
	return ctx, func(err error) error {
		close(stop)
		<-watched
		var access *kafkabroker.AccessError
		if cause := context.Cause(ctx); err != nil && errors.As(cause, &access) {
			err = cause
		}
		refuse(nil)
		return err
	}
}
