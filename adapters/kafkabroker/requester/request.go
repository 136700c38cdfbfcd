package requester

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Request implements ports.TaskBroker. It returns domain.ErrUnavailable at
// once when Ready fails (reply path not proven yet, or all brokers reported
// down), the local queue is full or the requester is closed, and later when
// the task could not be delivered (message.timeout.ms; about twice that with
// the idempotent producer); domain.ErrTimedOut (also wrapping
// context.DeadlineExceeded) at ctx's deadline; ctx.Err() when cancelled.
func (r *Broker) Request(ctx context.Context, task domain.Task) (domain.Result, error) {
	if err := task.Validate(); err != nil {
		return domain.Result{}, err
	}
	start := time.Now()
	if ctx.Err() != nil { // an expired deadline: do not send work nobody waits for
		return domain.Result{}, ctxError(ctx, start)
	}
	if err := r.Ready(ctx); err != nil { // fail fast: 503 now rather than 504 later
		r.outage.Down(start, err, true)
		return domain.Result{}, err
	}
	msg, err := kafkabroker.EncodeTask(task, r.cfg.TasksTopic, r.replyTopic)
	if err != nil {
		return domain.Result{}, err
	}
	msg.Opaque = task.ID
	ch, err := r.replies.Register(task.ID)
	if err != nil {
		return domain.Result{}, err
	}
	defer r.replies.Unregister(task.ID)
	if err := r.sendTraced(ctx, msg, task.ID); err != nil {
		r.outage.Down(start, err, true)
		return domain.Result{}, fmt.Errorf("requester: send task: %w", err)
	}
	ctx, wait := r.tracer.Start(ctx, "reply wait")
	select {
	case o := <-ch:
		if o.Err == nil {
			observability.ObserveWithTrace(ctx, r.metrics.roundTrip, time.Since(start).Seconds())
		}
		endWait(wait, o.Res, o.Err)
		return o.Res, o.Err
	case <-ctx.Done():
		err := ctxError(ctx, start)
		endWait(wait, domain.Result{}, err)
		return domain.Result{}, err
	}
}

// send produces msg; every failure is domain.ErrUnavailable and counted.
func (r *Broker) send(msg *kafka.Message) error {
	r.sendMu.RLock()
	defer r.sendMu.RUnlock()
	if r.closed {
		return fmt.Errorf("requester closed: %w", domain.ErrUnavailable)
	}
	if err := r.producer.Produce(msg, nil); err != nil {
		r.metrics.produceErrors.Inc()
		if kafkabroker.IsQueueFull(err) {
			return fmt.Errorf("local queue full: %w", domain.ErrUnavailable)
		}
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return nil
}

func ctxError(ctx context.Context, start time.Time) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("requester: %w after %s: %w", domain.ErrTimedOut, time.Since(start).Round(time.Millisecond), ctx.Err())
	}
	return ctx.Err()
}
