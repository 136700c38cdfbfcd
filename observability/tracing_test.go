package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/tests/otlptest"
)

const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTracing_OffPassesTraceparentThroughWithoutRecording(t *testing.T) {
	tr, err := observability.NewTracing(context.Background(), observability.TracingConfig{})
	require.NoError(t, err)
	assert.False(t, tr.On())

	ctx := tr.Propagator().Extract(context.Background(), propagation.HeaderCarrier(http.Header{"Traceparent": {incoming}}))
	ctx, span := tr.Tracer("test").Start(ctx, "work")
	assert.False(t, span.IsRecording(), "off: nothing is recorded")
	span.End()

	out := http.Header{}
	tr.Propagator().Inject(ctx, propagation.HeaderCarrier(out))
	assert.Equal(t, incoming, out.Get("Traceparent"), "the caller's trace reaches the next hop unchanged")
	require.NoError(t, tr.Shutdown(context.Background()))
}

func TestTracing_OnWithAnEndpoint(t *testing.T) {
	tr, err := observability.NewTracing(context.Background(), observability.TracingConfig{
		Endpoint: otlptest.StartHTTP(t, &otlptest.Receiver{}), SampleRatio: 1, ServiceName: "rps-test",
	})
	require.NoError(t, err)
	assert.True(t, tr.On())
	_, span := tr.Tracer("test").Start(context.Background(), "work")
	assert.True(t, span.IsRecording())
	span.End()
	flush(t, tr)
}

func TestTracing_SampleRatioZeroStillFollowsASampledCaller(t *testing.T) {
	tr, err := observability.NewTracing(context.Background(), observability.TracingConfig{Endpoint: otlptest.StartHTTP(t, &otlptest.Receiver{}), SampleRatio: 0})
	require.NoError(t, err)
	defer flush(t, tr)
	_, root := tr.Tracer("test").Start(context.Background(), "new trace")
	assert.False(t, root.IsRecording(), "ratio 0: new traces are not sampled")
	ctx := tr.Propagator().Extract(context.Background(), propagation.HeaderCarrier(http.Header{"Traceparent": {incoming}}))
	_, child := tr.Tracer("test").Start(ctx, "caller's trace")
	assert.True(t, child.IsRecording(), "parent-based: a sampled caller is followed")
}

func TestLogger_TraceIDsWhenTracingIsOn(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := observability.TracingWith(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	ctx, span := tr.Tracer("test").Start(context.Background(), "request")
	defer span.End()

	for _, on := range []bool{true, false} {
		var buf bytes.Buffer
		log, err := observability.NewLogger(&buf, observability.LogConfig{Level: "info", Format: "json", TraceIDs: on})
		require.NoError(t, err)
		log.With("component", "test").InfoContext(ctx, "hello")
		log.Info("no context")
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Len(t, lines, 2)
		var withCtx, without map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &withCtx))
		require.NoError(t, json.Unmarshal([]byte(lines[1]), &without))
		if on {
			assert.Equal(t, span.SpanContext().TraceID().String(), withCtx["trace_id"])
			assert.Equal(t, span.SpanContext().SpanID().String(), withCtx["span_id"])
		} else {
			assert.NotContains(t, withCtx, "trace_id")
		}
		assert.NotContains(t, without, "trace_id")
	}
}

func TestObserveWithTrace_ExemplarOnlyForARecordedSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := observability.TracingWith(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latency_seconds", Buckets: []float64{0.1, 1}})

	observability.ObserveWithTrace(context.Background(), h, 0.05)
	ctx, span := tr.Tracer("test").Start(context.Background(), "request")
	observability.ObserveWithTrace(ctx, h, 0.5)
	span.End()

	var m dto.Metric
	require.NoError(t, h.Write(&m))
	buckets := m.GetHistogram().GetBucket()
	assert.Nil(t, buckets[0].GetExemplar(), "no span: no exemplar")
	require.NotNil(t, buckets[1].GetExemplar())
	assert.Equal(t, span.SpanContext().TraceID().String(), buckets[1].GetExemplar().GetLabel()[0].GetValue())
}
