package taskworker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker/offsets"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Pacing of reply retries: a reply whose delivery failed transiently is
// produced again (the task is not run again), so a short broker outage
// delays commits rather than losing replies; retries end at the reply
// timeout (reply.giveUpAt).
const (
	firstReplyRetry = 100 * time.Millisecond
	maxReplyRetry   = 2 * time.Second
	queueFullPause  = 5 * time.Millisecond
)

// reply is one message a task owes, on its way: its reply, or its copy to
// the dead-letter topic. The delivery report of its task's last message
// finishes the task's offset.
type reply struct {
	msg    *kafka.Message
	ticket offsets.Ticket
	// deadLetter marks msg as a poison task's copy to the dead-letter topic.
	deadLetter bool
	// then is the task's next message, sent once this one is delivered or
	// given up; the task is settled after its last.
	then *reply
	// giveUpAt ends the retries of a transient failure: the reply timeout
	// after the first try, when no request waits for the reply any more.
	giveUpAt time.Time
	attempts int
	// ctx carries the task's request id into the reply's log lines
	// (observability.WithRequestID); it is not used for cancellation.
	ctx context.Context
}

// errClosed is Produce refused because the clients are closing.
var errClosed = errors.New("worker closed")

// dispatch runs one task on a task goroutine (spawn), at most Concurrency at once,
// with at most twice Concurrency tasks taken and not yet settled.
func (w *Runner) dispatch(ctx context.Context, m *kafka.Message) {
	tp := m.TopicPartition
	tk := w.offsets.Start(tp.Partition, int64(tp.Offset))
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return // not started, so not done: redelivered
	}
	w.unsettled.Add(1)
	w.metrics.inFlight.Inc()
	task, replyTo, reason, err := w.decode(m)
	if reason != "" {
		w.poison(m, tk, task, replyTo, reason, err)
		return
	}
	if age, stale := w.stale(m); stale {
		w.metrics.stale.Inc()
		w.failures.warn(observability.WithRequestID(context.Background(), task.RequestID), "stale",
			"task older than the oldest a worker runs; skipped unrun", "correlation_id", task.ID,
			"age", age.Round(time.Millisecond).String(), "max_task_age", w.cfg.MaxTaskAge.String(),
			"partition", tk.Partition, "offset", tk.Offset)
		w.settle(&reply{ticket: tk}, true)
		return
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		w.settle(&reply{ticket: tk}, false) // not started, so not done: redelivered
		return
	}
	w.spawn(func() {
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
		w.answer(ctx, res, replyTo, tk, nil)
	})
}

// taskIdle is how long a task goroutine that is done waits for the next
// task before it ends. Reused, its stack (grown by the tracing and the
// handler) serves the next task as it is; a new goroutine per task grew
// one every time (runtime.newstack was 6.7 % of the worker's CPU).
const taskIdle = time.Second

// spawn runs fn on a task goroutine waiting for work, or on a new one.
func (w *Runner) spawn(fn func()) {
	select {
	case w.next <- fn:
	default:
		go w.taskLoop(fn)
	}
}

// taskLoop runs fn, then each task handed to it, until it has waited
// taskIdle for one or the worker is abandoned (the end of Run).
func (w *Runner) taskLoop(fn func()) {
	idle := time.NewTimer(taskIdle)
	defer idle.Stop()
	for {
		fn()
		idle.Reset(taskIdle)
		select {
		case fn = <-w.next:
		case <-idle.C:
			return
		case <-w.abandon.Done():
			return
		}
	}
}

// decode reads m's task, or says why it is poison.
func (w *Runner) decode(m *kafka.Message) (task domain.Task, replyTo, poison string, err error) {
	if task, replyTo, err = kafkabroker.DecodeTask(m); err != nil {
		return task, "", poisonUndecodable, err
	}
	if err = w.route.Check(replyTo); err != nil {
		return task, "", poisonUnroutable, err
	}
	if w.kinds != nil && !w.kinds[task.Kind] {
		return task, replyTo, poisonUnknownKind, fmt.Errorf("%w: %q", domain.ErrUnknownKind, task.Kind)
	}
	return task, replyTo, "", nil
}

// stale reports whether m is older than MaxTaskAge, and its age. A message
// without a timestamp (TimestampNotAvailable) is never stale.
func (w *Runner) stale(m *kafka.Message) (time.Duration, bool) {
	if w.cfg.MaxTaskAge <= 0 || m.TimestampType == kafka.TimestampNotAvailable || m.Timestamp.IsZero() {
		return 0, false
	}
	age := time.Since(m.Timestamp)
	return age, age > w.cfg.MaxTaskAge
}

// poison settles a task that can never be processed: counted, logged once
// per reason, copied to the dead-letter topic when one is set. A task of an
// unknown kind is answered with the error first, so its request fails at
// once rather than at its deadline.
func (w *Runner) poison(m *kafka.Message, tk offsets.Ticket, task domain.Task, replyTo, reason string, cause error) {
	w.metrics.processed.WithLabelValues(outcomePoison).Inc()
	w.metrics.poison.WithLabelValues(reason).Inc()
	ctx := observability.WithRequestID(context.Background(), task.RequestID)
	w.failures.warn(ctx, "poison/"+reason, "poison task skipped", "reason", reason,
		"partition", tk.Partition, "offset", tk.Offset, "dead_letter_topic", w.cfg.DeadLetterTopic, "err", cause)
	var dead *reply
	if w.cfg.DeadLetterTopic != "" {
		dead = &reply{msg: deadLetter(m, w.cfg.DeadLetterTopic, w.cfg.Group, reason, cause), ticket: tk, deadLetter: true, ctx: ctx}
	}
	if reason == poisonUnknownKind {
		w.answer(ctx, domain.Result{TaskID: task.ID, Error: cause.Error()}, replyTo, tk, dead)
		return
	}
	if dead == nil {
		w.settle(&reply{ticket: tk}, true)
		return
	}
	w.send(dead)
}

// answer sends res as the reply to its task, then the task's next message.
func (w *Runner) answer(ctx context.Context, res domain.Result, replyTo string, tk offsets.Ticket, then *reply) {
	msg, err := w.route.Encode(res, replyTo)
	if err != nil { // cannot happen with string fields; never stall on it
		w.cfg.Logger.ErrorContext(ctx, "reply not encodable; task skipped", "correlation_id", res.TaskID, "err", err)
		w.end(&reply{ticket: tk, ctx: ctx, then: then})
		return
	}
	w.sendTraced(ctx, &reply{msg: msg, ticket: tk, ctx: ctx, then: then}, res.TaskID)
}

// send produces r, waiting out a full local queue for as long as r may be
// retried. A failure Produce reports at once (a topic the producer already
// knows is gone, a message larger than the client allows) is handled as
// the same failure in a delivery report would be.
func (w *Runner) send(r *reply) {
	r.msg.Opaque = r
	if r.giveUpAt.IsZero() {
		r.giveUpAt = time.Now().Add(w.cfg.ReplyTimeout)
	}
	for {
		err := w.produce(r.msg)
		switch {
		case err == nil:
			return
		case errors.Is(err, errClosed):
			w.settle(r, false) // redelivered
			return
		}
		if verdict, _ := kafkabroker.ClassifyDelivery(err); verdict != kafkabroker.DeliveryQueueFull {
			w.failed(r, err)
			return
		}
		if time.Now().After(r.giveUpAt) {
			w.giveUp(r, reasonExpired, err)
			return
		}
		if !kafkabroker.Sleep(w.abandon, queueFullPause) {
			w.settle(r, false) // the drain deadline passed: redelivered
			return
		}
	}
}

func (w *Runner) produce(msg *kafka.Message) error {
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		return errClosed
	}
	return w.producer.Produce(msg, nil) //nolint:wrapcheck // classified by the caller
}

// deliveryLoop settles each message by its delivery report.
func (w *Runner) deliveryLoop() {
	for ev := range w.producer.Events() {
		switch e := ev.(type) {
		case *kafka.Message:
			r, ok := e.Opaque.(*reply)
			if !ok {
				continue
			}
			if err := e.TopicPartition.Error; err != nil {
				w.failed(r, err)
				continue
			}
			w.outage.Up()
			if r.deadLetter {
				w.metrics.deadLetters.WithLabelValues(deadLetterSent).Inc()
			}
			w.end(r)
		case kafka.Error:
			w.noteError("producer", e)
		}
	}
}

// failed handles a message whose delivery failed with err: produced again
// while that may help, else given up.
func (w *Runner) failed(r *reply, err error) {
	switch verdict, reason := kafkabroker.ClassifyDelivery(err); verdict {
	case kafkabroker.DeliveryRetry, kafkabroker.DeliveryQueueFull:
		w.metrics.replyErrors.Inc()
		w.retry(r, err)
	case kafkabroker.DeliveryTopicGone:
		if r.deadLetter {
			w.giveUp(r, reason, err)
			return
		}
		w.orphan(r)
	case kafkabroker.DeliveryFatal:
		w.breakNow(fmt.Errorf("producer failed: %w", err))
		w.settle(r, false) // redelivered to a worker that can answer it
	default:
		w.giveUp(r, reason, err)
	}
}

// orphan drops r, whose reply topic is gone (the server that asked shut
// down), and finishes its task: nobody is left to answer.
func (w *Runner) orphan(r *reply) {
	w.metrics.orphans.Inc()
	w.cfg.Logger.DebugContext(r.ctx, "reply topic gone; reply dropped", "topic", *r.msg.TopicPartition.Topic, "offset", r.ticket.Offset)
	w.end(r)
}

// giveUp drops r, which can never be delivered (or no longer matters), and
// settles its task as done: retrying it would only hold back every later
// task of its partition. Each reason is logged once.
func (w *Runner) giveUp(r *reply, reason string, cause error) {
	what := "reply"
	if r.deadLetter {
		what = "dead letter"
		w.metrics.deadLetters.WithLabelValues(deadLetterFailed).Inc()
	} else {
		w.metrics.undelivered.WithLabelValues(reason).Inc()
	}
	w.failures.warn(r.ctx, what+"/"+reason, what+" given up; its task is settled", "reason", reason,
		"topic", *r.msg.TopicPartition.Topic, "partition", r.ticket.Partition, "offset", r.ticket.Offset, "attempts", r.attempts+1, "err", cause)
	w.end(r)
}

// retry produces r again after a pause that grows with its attempts, until
// r.giveUpAt.
func (w *Runner) retry(r *reply, cause error) {
	if w.abandon.Err() != nil {
		w.settle(r, false)
		return
	}
	if !time.Now().Before(r.giveUpAt) {
		w.giveUp(r, reasonExpired, cause)
		return
	}
	r.attempts++
	w.outage.Down(time.Now(), cause, true)
	pause := min(firstReplyRetry<<min(r.attempts-1, 5), maxReplyRetry)
	w.cfg.Logger.DebugContext(r.ctx, "reply not delivered; retrying", "partition", r.ticket.Partition, "offset", r.ticket.Offset,
		"attempt", r.attempts, "in", pause.String(), "err", cause)
	time.AfterFunc(pause, func() { w.send(r) })
}

// noteError logs a client error (rate-limited), marks the start of an
// outage when librdkafka reports every broker down, and stops the worker
// on a fatal error.
func (w *Runner) noteError(client string, e kafka.Error) {
	if e.Code() == kafka.ErrAllBrokersDown {
		w.outage.Down(time.Now(), e, false)
	}
	if e.IsFatal() {
		cause := fmt.Errorf("%s failed: %w", client, e)
		if refused := kafkabroker.RefusedProtocol(e); client == "consumer" && refused != nil {
			cause = fmt.Errorf("%s failed: %w", client, refused)
		}
		w.breakNow(cause)
	}
	w.errs.Note(client, e)
}

// end closes r's message, delivered or given up: its task is settled as
// answered, or its next message sent. The next goes out on a goroutine of
// its own, never on the delivery loop's: send may wait out a full queue,
// which only the delivery loop drains.
func (w *Runner) end(r *reply) {
	if r.then != nil {
		go w.send(r.then)
		return
	}
	w.settle(r, true)
}

// settle ends a reply's life; done says whether its task counts as answered.
func (w *Runner) settle(r *reply, done bool) {
	if done {
		w.finish(r.ticket)
	}
	<-w.slots
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
