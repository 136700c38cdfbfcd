package replies

import (
	"context"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
)

// lateReply marks the arrival span of a reply nobody waited for any more.
var lateReply = attribute.Bool("rps.reply.late", true)

// Read reads this instance's reply topic (and in shared mode the shared
// one) until lifetime ends, and wakes the waiting requests. heard is called
// for every message (Kafka answers), noteError for every client error.
func (r *Router) Read(lifetime context.Context, heard func(), noteError func(kafka.Error)) {
	for lifetime.Err() == nil {
		switch e := r.cfg.Consumer.Poll(100).(type) {
		case *kafka.Message:
			heard()
			if *e.TopicPartition.Topic != r.cfg.OwnTopic {
				r.takeShared(e) // only assigned in shared mode
				continue
			}
			res, err := kafkabroker.DecodeReply(e)
			if err != nil {
				r.cfg.Metrics.Bad.Inc()
				r.cfg.Logger.Warn("undecodable reply dropped", "topic", r.cfg.OwnTopic, "offset", int64(e.TopicPartition.Offset), "err", err)
				continue
			}
			arrival := r.startArrival(lifetime, e, res.TaskID)
			if !r.Complete(res.TaskID, Outcome{Res: res}) && !strings.HasPrefix(res.TaskID, ProbePrefix) {
				r.cfg.Metrics.Late.Inc()
				r.cfg.Logger.Debug("late or unknown reply dropped", "correlation_id", res.TaskID)
				arrival.SetAttributes(lateReply)
			}
			arrival.End()
		case kafka.Error:
			noteError(e)
		}
	}
}

// startArrival starts the span of a reply's arrival, "receive <reply
// topic>", a child of the worker's reply span through the reply's headers.
// It starts when the worker produced the reply, so its length is the reply's
// own wait (broker, fetch); it ends when the request has it. Replies without
// a trace context (probes, an untraced worker) get a span that records
// nothing, so the probes add no traces.
func (r *Router) startArrival(lifetime context.Context, m *kafka.Message, id string) trace.Span {
	tracer := r.cfg.Tracer
	if !tracer.On() {
		return trace.SpanFromContext(lifetime) // a no-op span
	}
	ctx := tracer.Extract(lifetime, m)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return trace.SpanFromContext(ctx) // non-recording
	}
	now := time.Now()
	_, span := tracer.Start(ctx, "receive "+r.cfg.OwnTopic, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(kafkatrace.ProducedAt(m, now)), trace.WithAttributes(kafkatrace.Received(m, "receive", id)...))
	return span
}
