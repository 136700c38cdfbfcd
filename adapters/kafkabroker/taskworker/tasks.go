package taskworker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker/offsets"
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
	ticket   offsets.Ticket
	attempts int
	// ctx carries the task's request id into the reply's log lines
	// (observability.WithRequestID); it is not used for cancellation.
	ctx context.Context
}

// dispatch runs one task in its own goroutine, at most Concurrency at once.
func (w *Runner) dispatch(ctx context.Context, m *kafka.Message) {
	tp := m.TopicPartition
	tk := w.offsets.Start(tp.Partition, int64(tp.Offset))
	task, replyTo, err := kafkabroker.DecodeTask(m)
	if err == nil {
		err = w.route.Check(replyTo)
	}
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
	go func() {
		started := time.Now()
		if !m.Timestamp.IsZero() { // clocks of other hosts may run ahead
			w.metrics.queueWait.Observe(max(0, started.Sub(m.Timestamp).Seconds()))
		}
		// The task runs to completion during the drain (its reply is owed);
		// its ctx is cancelled only when the drain deadline passes.
		ctx, span := w.tracer.StartProcess(w.abandon, m, w.cfg.TasksTopic, task.ID, started)
		defer span.End()
		// The task's request id goes into its context, so the handler and
		// every log line about the task carry it, as the server's lines do.
		ctx = observability.WithRequestID(ctx, task.RequestID)
		res := w.proc.Process(ctx, task)
		<-w.sem
		observability.ObserveWithTrace(ctx, w.metrics.processing, time.Since(started).Seconds())
		res.TaskID = task.ID
		outcome := outcomeOK
		if res.Error != "" {
			outcome, res.Value = outcomeError, "" // a reply is a result or an error
		}
		w.metrics.processed.WithLabelValues(outcome).Inc()
		w.cfg.Logger.DebugContext(ctx, "task done", "kind", string(task.Kind), "correlation_id", task.ID, "outcome", outcome)
		msg, err := w.route.Encode(res, replyTo)
		if err != nil { // cannot happen with string fields; never stall on it
			w.cfg.Logger.ErrorContext(ctx, "reply not encodable; task skipped", "correlation_id", task.ID, "err", err)
			w.settle(&reply{ticket: tk, ctx: ctx}, true)
			return
		}
		w.sendTraced(ctx, &reply{msg: msg, ticket: tk, ctx: ctx}, task.ID)
	}()
}

// send produces r, waiting out a full local queue; it gives up only when
// the drain deadline passed or the producer is closed. A reply topic the
// producer already knows is gone fails here at once, not in a delivery
// report: an orphan all the same, so its task is finished (left unfinished,
// it froze its partition's commits until the next rebalance).
func (w *Runner) send(r *reply) {
	r.msg.Opaque = r
	for {
		err := w.produce(r.msg)
		if err == nil {
			return
		}
		if kafkabroker.IsUnknownTopic(err) {
			w.orphan(r)
			return
		}
		if !kafkabroker.IsQueueFull(err) || !kafkabroker.Sleep(w.abandon, queueFullPause) {
			w.cfg.Logger.WarnContext(r.ctx, "reply not sent; the task will be redelivered", "partition", r.ticket.Partition, "offset", r.ticket.Offset, "err", err)
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
				w.outage.Up()
				w.settle(r, true)
			case kafkabroker.IsUnknownTopic(err):
				w.orphan(r)
			default:
				w.metrics.replyErrors.Inc()
				w.retry(r, err)
			}
		case kafka.Error:
			w.noteError("producer", e)
		}
	}
}

// orphan drops r, whose reply topic is gone (the server that asked shut
// down), and finishes its task: nobody is left to answer.
func (w *Runner) orphan(r *reply) {
	w.metrics.orphans.Inc()
	w.cfg.Logger.DebugContext(r.ctx, "reply topic gone; reply dropped", "topic", *r.msg.TopicPartition.Topic, "offset", r.ticket.Offset)
	w.settle(r, true)
}

// retry produces r again after a pause that grows with its attempts.
func (w *Runner) retry(r *reply, cause error) {
	if w.abandon.Err() != nil {
		w.settle(r, false)
		return
	}
	r.attempts++
	w.outage.Down(time.Now(), cause, true)
	pause := min(firstReplyRetry<<min(r.attempts-1, 5), maxReplyRetry)
	w.cfg.Logger.DebugContext(r.ctx, "reply not delivered; retrying", "partition", r.ticket.Partition, "offset", r.ticket.Offset,
		"attempt", r.attempts, "in", pause.String(), "err", cause)
	time.AfterFunc(pause, func() { w.send(r) })
}

// noteError logs a client error (rate-limited) and marks the start of an
// outage when librdkafka reports every broker down.
func (w *Runner) noteError(client string, e kafka.Error) {
	if e.Code() == kafka.ErrAllBrokersDown {
		w.outage.Down(time.Now(), e, false)
	}
	w.errs.Note(client, e)
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
func (w *Runner) finish(tk offsets.Ticket) {
	w.storeMu.Lock()
	defer w.storeMu.Unlock()
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	next, ok := w.offsets.Finish(tk)
	if !ok || w.closed {
		return
	}
	topic := w.cfg.TasksTopic
	if _, err := w.consumer.StoreOffsets([]kafka.TopicPartition{{Topic: &topic, Partition: tk.Partition, Offset: kafka.Offset(next)}}); err != nil {
		w.cfg.Logger.Debug("store offset (partition revoked?)", "partition", tk.Partition, "err", err)
		return
	}
	w.metrics.committed.WithLabelValues(strconv.Itoa(int(tk.Partition))).Set(float64(next))
}

// lag is Lag of this runner, nil once it is closed.
func (w *Runner) lag() map[int32]int64 {
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		return nil
	}
	return offsets.Lag(w.consumer, w.cfg.TasksTopic, w.offsets)
}
