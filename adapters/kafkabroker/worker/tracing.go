package worker

import (
	"context"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
)

// startProcess starts the spans of the task in m, taken into processing at
// now, in the trace its headers carry (children of the server's send span):
// "<tasks topic> queue wait", from its produce to now (broker, fetch, a
// free slot of Concurrency), ended at once; and "process <tasks topic>",
// the consumer span the handler's and the reply's spans hang under, which
// the caller ends. The returned ctx lives as long as the worker's drain.
func (w *Runner) startProcess(m *kafka.Message, id string, now time.Time) (context.Context, trace.Span) {
	ctx := w.tracer.Extract(w.abandon, m)
	if !w.tracer.On() {
		return ctx, trace.SpanFromContext(ctx) // passes the task's traceparent on to the reply
	}
	attrs := trace.WithAttributes(kafkatrace.Received(m, "process", id)...)
	_, wait := w.tracer.Start(ctx, w.cfg.TasksTopic+" queue wait", trace.WithTimestamp(kafkatrace.ProducedAt(m, now)), attrs)
	wait.End(trace.WithTimestamp(now))
	return w.tracer.Start(ctx, "process "+w.cfg.TasksTopic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(now), attrs)
}

// sendTraced sends r under its producer span, "send <reply topic>", whose
// context the reply's headers carry back to the server. A retry of the same
// reply carries the same context.
func (w *Runner) sendTraced(ctx context.Context, r *reply, id string) {
	span := w.tracer.StartSend(ctx, r.msg, id)
	w.send(r)
	span.End()
}
