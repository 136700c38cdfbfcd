package requester

import (
	"context"
	"errors"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// lateReply marks the arrival span of a reply nobody waited for any more.
var lateReply = attribute.Bool("rps.reply.late", true)

// sendTraced sends msg under its producer span, "send <tasks topic>", whose
// context the task's headers carry to the worker.
func (r *Broker) sendTraced(ctx context.Context, msg *kafka.Message, id string) error {
	span := r.tracer.StartSend(ctx, msg, id)
	err := r.send(msg)
	observability.Fail(span, err)
	span.End()
	return err
}

// endWait ends the "reply wait" span: from the task's send until its reply,
// or the failure, reached the request.
func endWait(span trace.Span, res domain.Result, err error) {
	switch {
	case err != nil:
		observability.Fail(span, err)
	case res.Error != "":
		observability.Fail(span, errors.New(res.Error))
	}
	span.End()
}

// startArrival starts the span of a reply's arrival, "receive <reply
// topic>", a child of the worker's reply span through the reply's headers.
// It starts when the worker produced the reply, so its length is the reply's
// own wait (broker, fetch); it ends when the request has it. Replies without
// a trace context (probes, an untraced worker) get a span that records
// nothing, so the probes add no traces.
func (r *Broker) startArrival(m *kafka.Message, id string) trace.Span {
	if !r.tracer.On() {
		return trace.SpanFromContext(r.lifetime) // a no-op span
	}
	ctx := r.tracer.Extract(r.lifetime, m)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return trace.SpanFromContext(ctx) // non-recording
	}
	now := time.Now()
	_, span := r.tracer.Start(ctx, "receive "+r.replyTopic, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(kafkatrace.ProducedAt(m, now)), trace.WithAttributes(kafkatrace.Received(m, "receive", id)...))
	return span
}
