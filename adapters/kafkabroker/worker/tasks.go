package worker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Pacing of reply retries: a reply whose delivery failed is produced again
// (the task is not run again), so a broker outage delays commits rather than
// stalling a partition until the next restart.
const (
	firstReplyRetry = 100 * time.Millisecond
	maxReplyRetry   = 2 * time.Second
	queueFullPause  = 5 * time.Millisecond
)

// reply is one task's answer on its way; its delivery report finishes the
// task's offset.
type reply struct {
	msg      *kafka.Message
	ticket   ticket
	attempts int
	// ctx carries the task's request id into the reply's log lines
	// (observability.WithRequestID); it is not used for cancellation.
	ctx context.Context
}

// dispatch runs one task in its own goroutine, at most Concurrency at once.
func (w *Runner) dispatch(ctx context.Context, m *kafka.Message) {
	tp := m.TopicPartition
	tk := w.offsets.start(tp.Partition, int64(tp.Offset))
	task, replyTo, err := kafkabroker.DecodeTask(m)
	if err != nil {
		w.metrics.processed.WithLabelValues(outcomePoison).Inc()
		w.cfg.Logger.Warn("poison task skipped", "partition", tp.Partition, "offset", int64(tp.Offset), "err", err)
		w.finish(tk)
		return
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return // not started, so not done: redelivered
	}
	w.unsettled.Add(1)
	w.metrics.inFlight.Inc()
	// The task's request id goes into its context, so the handler and every
	// log line about the task carry it, as the server's lines do.
	taskCtx := observability.WithRequestID(w.abandon, task.RequestID)
	go func() {
		started := time.Now()
		// The task runs to completion during the drain (its reply is owed);
		// its ctx is cancelled only when the drain deadline passes.
		res := w.proc.Process(taskCtx, task)
		<-w.sem
		w.metrics.processing.Observe(time.Since(started).Seconds())
		res.TaskID = task.ID
		outcome := outcomeOK
		if res.Error != "" {
			outcome, res.Value = outcomeError, "" // a reply is a result or an error
		}
		w.metrics.processed.WithLabelValues(outcome).Inc()
		w.cfg.Logger.DebugContext(taskCtx, "task done", "kind", string(task.Kind), "correlation_id", task.ID, "outcome", outcome)
		msg, err := kafkabroker.EncodeReply(res, replyTo)
		if err != nil { // cannot happen with string fields; never stall on it
			w.cfg.Logger.ErrorContext(taskCtx, "reply not encodable; task skipped", "correlation_id", task.ID, "err", err)
			w.settle(&reply{ticket: tk, ctx: taskCtx}, true)
			return
		}
		w.send(&reply{msg: msg, ticket: tk, ctx: taskCtx})
	}()
}

// send produces r, waiting out a full local queue; it gives up only when
// the drain deadline passed or the producer is closed.
func (w *Runner) send(r *reply) {
	r.msg.Opaque = r
	for {
		err := w.produce(r.msg)
		if err == nil {
			return
		}
		if !kafkabroker.IsQueueFull(err) || !kafkabroker.Sleep(w.abandon, queueFullPause) {
			w.cfg.Logger.WarnContext(r.ctx, "reply not sent; the task will be redelivered", "partition", r.ticket.partition, "offset", r.ticket.offset, "err", err)
			w.settle(r, false)
			return
		}
	}
}

func (w *Runner) produce(msg *kafka.Message) error {
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		return errors.New("worker closed")
	}
	return w.producer.Produce(msg, nil) //nolint:wrapcheck // classified by the caller
}

// deliveryLoop settles each reply by its delivery report: delivered, or its
// reply topic gone, finishes the task; any other failure produces it again.
func (w *Runner) deliveryLoop() {
	for ev := range w.producer.Events() {
		switch e := ev.(type) {
		case *kafka.Message:
			r, ok := e.Opaque.(*reply)
			if !ok {
				continue
			}
			switch err := e.TopicPartition.Error; {
			case err == nil:
				w.settle(r, true)
			case kafkabroker.IsUnknownTopic(err):
				w.metrics.orphans.Inc()
				w.cfg.Logger.DebugContext(r.ctx, "reply topic gone; reply dropped", "topic", *r.msg.TopicPartition.Topic, "offset", r.ticket.offset)
				w.settle(r, true)
			default:
				w.metrics.replyErrors.Inc()
				w.retry(r, err)
			}
		case kafka.Error:
			w.errs.Note("producer", e)
		}
	}
}

// retry produces r again after a pause that grows with its attempts.
func (w *Runner) retry(r *reply, cause error) {
	if w.abandon.Err() != nil {
		w.settle(r, false)
		return
	}
	r.attempts++
	pause := min(firstReplyRetry<<min(r.attempts-1, 5), maxReplyRetry)
	w.cfg.Logger.WarnContext(r.ctx, "reply not delivered; retrying", "partition", r.ticket.partition, "offset", r.ticket.offset,
		"attempt", r.attempts, "in", pause.String(), "err", cause)
	time.AfterFunc(pause, func() { w.send(r) })
}

// settle ends a reply's life; done says whether its task counts as answered.
func (w *Runner) settle(r *reply, done bool) {
	if done {
		w.finish(r.ticket)
	}
	w.metrics.inFlight.Dec()
	if w.unsettled.Add(-1) == 0 {
		select {
		case w.idle <- struct{}{}:
		default:
		}
	}
}

// finish marks a task answered and stores the offset up to which every task
// of its partition is answered; auto-commit sends it to the group.
func (w *Runner) finish(tk ticket) {
	w.storeMu.Lock()
	defer w.storeMu.Unlock()
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	next, ok := w.offsets.finish(tk)
	if !ok || w.closed {
		return
	}
	topic := w.cfg.TasksTopic
	if _, err := w.consumer.StoreOffsets([]kafka.TopicPartition{{Topic: &topic, Partition: tk.partition, Offset: kafka.Offset(next)}}); err != nil {
		w.cfg.Logger.Debug("store offset (partition revoked?)", "partition", tk.partition, "err", err)
		return
	}
	w.metrics.committed.WithLabelValues(strconv.Itoa(int(tk.partition))).Set(float64(next))
}
