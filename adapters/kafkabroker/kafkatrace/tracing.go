// Package kafkatrace carries a trace across Kafka: the spans of each side of
// the broker and their context in message headers.
package kafkatrace

import (
	"context"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/observability"
)

// Tracer makes the spans of one side of the broker and carries their
// context through message headers. Made from a Tracing that is off, it
// records nothing and still passes a caller's traceparent along.
type Tracer struct {
	trace.Tracer
	prop propagation.TextMapPropagator
	on   bool
}

// New returns the broker's tracer of tr.
func New(tr observability.Tracing) Tracer {
	return Tracer{Tracer: tr.Tracer("github.com/1000x-rps-server/rps-server/adapters/kafkabroker"), prop: tr.Propagator(), on: tr.On()}
}

// On reports whether spans are recorded; when not, callers skip building
// their attributes (the no-op spans would drop them).
func (t Tracer) On() bool { return t.on }

// StartSend starts the producer span of msg, "send <topic>", as a child of
// ctx, and writes its context into msg's headers (the task's or the reply's
// traceparent). It covers the hand-over to the client; the time until the
// other side takes the message is that side's wait span.
func (t Tracer) StartSend(ctx context.Context, msg *kafka.Message, id string) trace.Span {
	if !t.on {
		t.prop.Inject(ctx, Carrier(msg))
		return trace.SpanFromContext(ctx)
	}
	topic := *msg.TopicPartition.Topic
	ctx, span := t.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(messaging(topic, "send", id, semconv.MessagingOperationTypeSend)...))
	t.prop.Inject(ctx, Carrier(msg))
	return span
}

// Extract returns ctx carrying the trace context of m's headers, if any.
func (t Tracer) Extract(ctx context.Context, m *kafka.Message) context.Context {
	return t.prop.Extract(ctx, Carrier(m))
}

// StartProcess starts the spans of the task in m, taken into processing at
// now, in the trace its headers carry (children of the server's send span):
// "<tasks topic> queue wait", from its produce to now (broker, fetch, a
// free slot of Concurrency), ended at once; and "process <tasks topic>",
// the consumer span the handler's and the reply's spans hang under, which
// the caller ends. The returned ctx lives as long as ctx (the worker's
// drain).
func (t Tracer) StartProcess(ctx context.Context, m *kafka.Message, topic, id string, now time.Time) (context.Context, trace.Span) {
	ctx = t.Extract(ctx, m)
	if !t.on {
		return ctx, trace.SpanFromContext(ctx) // passes the task's traceparent on to the reply
	}
	attrs := trace.WithAttributes(Received(m, "process", id)...)
	_, wait := t.Start(ctx, topic+" queue wait", trace.WithTimestamp(ProducedAt(m, now)), attrs)
	wait.End(trace.WithTimestamp(now))
	return t.Start(ctx, "process "+topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(now), attrs)
}

// ProducedAt is when m was handed to its producer (its CreateTime, to the
// millisecond), never later than now: the start of a wait span.
func ProducedAt(m *kafka.Message, now time.Time) time.Time {
	if m.TimestampType != kafka.TimestampCreateTime || m.Timestamp.IsZero() || m.Timestamp.After(now) {
		return now
	}
	return m.Timestamp
}

// Received are the attributes of a span about m as its consumer took it.
func Received(m *kafka.Message, op, id string) []attribute.KeyValue {
	topic := ""
	if m.TopicPartition.Topic != nil {
		topic = *m.TopicPartition.Topic
	}
	return append(messaging(topic, op, id, semconv.MessagingOperationTypeProcess),
		semconv.MessagingDestinationPartitionID(strconv.Itoa(int(m.TopicPartition.Partition))),
		semconv.MessagingKafkaOffset(int(m.TopicPartition.Offset)))
}

func messaging(topic, op, id string, opType attribute.KeyValue) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKafka, semconv.MessagingDestinationName(topic), semconv.MessagingOperationName(op), opType,
		semconv.MessagingMessageConversationID(id),
	}
}
