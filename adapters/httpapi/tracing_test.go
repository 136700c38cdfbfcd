package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

const (
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
	callerParent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

func post(api http.Handler, traceparent string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/queue", nil)
	if traceparent != "" {
		r.Header.Set("traceparent", traceparent)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, r)
	return rec
}

func TestTracing_ServerSpanPerRequest_HonoursTraceparent_EchoesTheTraceID(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	var logs bytes.Buffer
	log, err := observability.NewLogger(&logs, observability.LogConfig{Level: "info", Format: "json", TraceIDs: true})
	require.NoError(t, err)
	api, sub := newAPI(t, func(c *httpapi.Config) { c.Tracing = observability.TracingWith(tp); c.Logger = log })

	var inSubmit trace.SpanContext
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(ctx context.Context, _ domain.Client, _ domain.Kind, _ string) (domain.Result, error) {
			inSubmit = trace.SpanContextFromContext(ctx)
			return domain.Result{Value: "GIFT-1"}, nil
		})
	resp := post(api, callerParent)
	require.Equal(t, http.StatusOK, resp.Code)
	assert.Equal(t, callerTrace, resp.Header().Get(httpapi.HeaderTraceID))

	spans := rec.Ended()
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, "POST /queue", s.Name())
	assert.Equal(t, trace.SpanKindServer, s.SpanKind())
	assert.Equal(t, callerTrace, s.SpanContext().TraceID().String(), "the caller's trace is continued")
	assert.Equal(t, callerSpan, s.Parent().SpanID().String())
	assert.True(t, s.Parent().IsRemote())
	assert.Equal(t, s.SpanContext(), inSubmit, "the use case runs inside the server span")

	// A failure is a failed span with its status, and its log line names the trace.
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, errors.New("boom"))
	resp = post(api, "")
	require.Equal(t, http.StatusInternalServerError, resp.Code)
	require.Len(t, rec.Ended(), 2)
	failed := rec.Ended()[1]
	assert.Equal(t, codes.Error, failed.Status().Code)
	assert.Equal(t, failed.SpanContext().TraceID().String(), resp.Header().Get(httpapi.HeaderTraceID), "a new trace when the caller sent none")
	var line map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line), logs.String())
	assert.Equal(t, failed.SpanContext().TraceID().String(), line["trace_id"])
	assert.Equal(t, failed.SpanContext().SpanID().String(), line["span_id"])

	// Probes and /metrics make no spans.
	for _, path := range []string{"/healthz", "/metrics"} {
		require.Equal(t, http.StatusOK, get(api, path).Code)
	}
	assert.Len(t, rec.Ended(), 2)
}

func TestTracing_OffStillPassesTheCallersTraceparentToTheUseCase(t *testing.T) {
	api, sub := newAPI(t, func(c *httpapi.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	var inSubmit trace.SpanContext
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(ctx context.Context, _ domain.Client, _ domain.Kind, _ string) (domain.Result, error) {
			inSubmit = trace.SpanContextFromContext(ctx)
			return domain.Result{Value: "GIFT-1"}, nil
		}).Times(2)
	resp := post(api, callerParent)
	require.Equal(t, http.StatusOK, resp.Code)
	assert.Equal(t, callerTrace, inSubmit.TraceID().String())
	assert.Equal(t, callerSpan, inSubmit.SpanID().String(), "off: the caller's span is the parent the task carries on")
	assert.Equal(t, callerTrace, resp.Header().Get(httpapi.HeaderTraceID))

	resp = post(api, "")
	assert.False(t, inSubmit.IsValid(), "off and no traceparent: no trace at all")
	assert.Empty(t, resp.Header().Get(httpapi.HeaderTraceID))
}
