package kafkatrace_test

import (
	"context"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/kafkatrace"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

func TestHeaderCarrier_GetSetKeys(t *testing.T) {
	m := &kafka.Message{Headers: []kafka.Header{{Key: "correlation_id", Value: []byte("c1")}, {Key: "traceparent", Value: []byte("old")}}}
	c := kafkatrace.Carrier(m)
	assert.Equal(t, "c1", c.Get("correlation_id"))
	assert.Empty(t, c.Get("missing"))
	c.Set("traceparent", "new")
	c.Set("tracestate", "k=v")
	assert.Equal(t, []string{"correlation_id", "traceparent", "tracestate"}, c.Keys(), "Set replaces a header of the same key")
	assert.Equal(t, "new", string(m.Headers[1].Value), "the message's own headers change")
}

// The task carries the server's send span to the worker, and its reply the
// worker's back, through the headers of the real codec's messages.
func TestTracer_ContextCrossesTheTaskAndTheReply(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := kafkatrace.New(observability.TracingWith(tp))

	ctx, req := tr.Start(context.Background(), "POST /queue")
	task := domain.Task{ID: "c1", Kind: "get_gift_code", RequestID: "r1"}
	msg, err := kafkabroker.EncodeTask(task, "tasks", "results.x")
	require.NoError(t, err)
	send := tr.StartSend(ctx, msg, task.ID)
	send.End()
	req.End()
	got, _, err := kafkabroker.DecodeTask(msg)
	require.NoError(t, err, "the trace headers do not upset the codec")
	assert.Equal(t, task, got)

	onWorker := trace.SpanContextFromContext(tr.Extract(context.Background(), msg))
	assert.Equal(t, send.SpanContext().TraceID(), onWorker.TraceID())
	assert.Equal(t, send.SpanContext().SpanID(), onWorker.SpanID(), "the worker's spans hang under the send span")
	spans := rec.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, "send tasks", spans[0].Name())
	assert.Equal(t, trace.SpanKindProducer, spans[0].SpanKind())

	reply, err := kafkabroker.EncodeReply(domain.Result{TaskID: "c1", Value: "GIFT-1"}, "results.x")
	require.NoError(t, err)
	workerCtx, process := tr.Start(tr.Extract(context.Background(), msg), "process tasks")
	tr.StartSend(workerCtx, reply, "c1").End()
	process.End()
	back := trace.SpanContextFromContext(tr.Extract(context.Background(), reply))
	assert.Equal(t, send.SpanContext().TraceID(), back.TraceID(), "the reply is in the request's trace")
	_, err = kafkabroker.DecodeReply(reply)
	require.NoError(t, err)
}

func TestTracer_OffPassesTheCallersTraceparentThrough(t *testing.T) {
	tr := kafkatrace.New(observability.Tracing{})
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": parent})
	msg, err := kafkabroker.EncodeTask(domain.Task{ID: "c1", Kind: "get_gift_code"}, "tasks", "results.x")
	require.NoError(t, err)
	tr.StartSend(ctx, msg, "c1").End()
	assert.Equal(t, parent, kafkatrace.Carrier(msg).Get("traceparent"))

	plain, err := kafkabroker.EncodeTask(domain.Task{ID: "c2", Kind: "get_gift_code"}, "tasks", "results.x")
	require.NoError(t, err)
	tr.StartSend(context.Background(), plain, "c2").End()
	assert.Len(t, plain.Headers, 1, "no trace, no header: the message is as before (reply_to alone)")
}
