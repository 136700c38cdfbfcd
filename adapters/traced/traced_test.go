package traced_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/adapters/memledger"
	"github.com/1000x-rps-server/rps-server/adapters/traced"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

func recorder(t *testing.T) (*tracetest.SpanRecorder, observability.Tracing) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, observability.TracingWith(tp)
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func TestGate_OneClientSpanPerCall_ChildrenOfTheRequest(t *testing.T) {
	rec, tr := recorder(t)
	inner, err := memgate.New(1, domain.SharePolicy{})
	require.NoError(t, err)
	gate := traced.Gate(inner, tr, "memory")

	ctx, req := tr.Tracer("test").Start(context.Background(), "POST /queue")
	slot, err := gate.Acquire(ctx, "a", domain.Client{})
	require.NoError(t, err)
	_, err = gate.Acquire(ctx, "b", domain.Client{})
	require.ErrorIs(t, err, domain.ErrAtCapacity, "the decorator returns the port's own error")
	require.NoError(t, gate.Release(ctx, slot))
	require.NoError(t, gate.Ready(ctx))
	req.End()

	spans := rec.Ended()
	require.Len(t, spans, 4, "acquire, acquire, release, request; Ready is not traced")
	for i, want := range []string{"gate.acquire", "gate.acquire", "gate.release"} {
		s := spans[i]
		assert.Equal(t, want, s.Name())
		assert.Equal(t, trace.SpanKindClient, s.SpanKind())
		assert.Equal(t, req.SpanContext().SpanID(), s.Parent().SpanID(), "%s is a child of the request", want)
		assert.Equal(t, codes.Unset, s.Status().Code, "a full gate is an answer, not a failed call")
		v, _ := attr(s, "db.system.name")
		assert.Equal(t, "memory", v.AsString())
	}
	_, refused := attr(spans[0], "rps.gate.refused")
	assert.False(t, refused)
	v, refused := attr(spans[1], "rps.gate.refused")
	assert.True(t, refused && v.AsBool(), "the refusal is visible on the span")
}

type failingGate struct{ *memgate.Gate }

func (failingGate) Acquire(context.Context, string, domain.Client) (ports.Slot, error) {
	return ports.Slot{}, fmt.Errorf("redis down: %w", domain.ErrUnavailable)
}

func TestGate_AFailedCallIsAFailedSpan(t *testing.T) {
	rec, tr := recorder(t)
	_, err := traced.Gate(failingGate{}, tr, "redis").Acquire(context.Background(), "a", domain.Client{})
	require.ErrorIs(t, err, domain.ErrUnavailable)
	require.Len(t, rec.Ended(), 1)
	s := rec.Ended()[0]
	assert.Equal(t, codes.Error, s.Status().Code)
	require.NotEmpty(t, s.Events())
	assert.Equal(t, "exception", s.Events()[0].Name)
}

func TestLedger_SpanSaysWhenTheRecordAnswered(t *testing.T) {
	rec, tr := recorder(t)
	ledger := traced.Ledger(memledger.New(time.Hour), tr, "redis")
	got, err := ledger.Record(context.Background(), "task-1", "GIFT-A")
	require.NoError(t, err)
	assert.Equal(t, "GIFT-A", got)
	got, err = ledger.Record(context.Background(), "task-1", "GIFT-B")
	require.NoError(t, err)
	assert.Equal(t, "GIFT-A", got, "a redelivery answers with the first value")

	spans := rec.Ended()
	require.Len(t, spans, 2)
	for i, replayed := range []bool{false, true} {
		assert.Equal(t, "ledger.record", spans[i].Name())
		assert.Equal(t, trace.SpanKindClient, spans[i].SpanKind())
		v, ok := attr(spans[i], "rps.ledger.replayed")
		require.True(t, ok)
		assert.Equal(t, replayed, v.AsBool())
	}
}

type procFunc func(context.Context, domain.Task) domain.Result

func (f procFunc) Process(ctx context.Context, t domain.Task) domain.Result { return f(ctx, t) }

func TestProcessor_HandleSpanCarriesTheHandlersContext(t *testing.T) {
	rec, tr := recorder(t)
	var seen trace.SpanContext
	proc := traced.Processor(procFunc(func(ctx context.Context, task domain.Task) domain.Result {
		seen = trace.SpanContextFromContext(ctx)
		if task.ID == "bad" {
			return domain.Result{TaskID: task.ID, Error: "boom"}
		}
		return domain.Result{TaskID: task.ID, Value: "GIFT-1"}
	}), tr)
	res := proc.Process(context.Background(), domain.Task{ID: "t1", Kind: "get_gift_code", RequestID: "r1"})
	assert.Equal(t, "GIFT-1", res.Value)
	assert.Equal(t, "boom", proc.Process(context.Background(), domain.Task{ID: "bad", Kind: "get_gift_code"}).Error)

	spans := rec.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, "handle get_gift_code", spans[0].Name())
	assert.Equal(t, spans[1].SpanContext(), seen, "the handler runs inside its span (a ledger call would hang under it)")
	assert.Equal(t, codes.Unset, spans[0].Status().Code)
	assert.Equal(t, codes.Error, spans[1].Status().Code)
}

// The span says the client's class and the limit that refused it, never
// the client's key (a hash of an API key or an address).
func TestGate_SpanCarriesTheClassAndTheRefusingLimit(t *testing.T) {
	rec, tr := recorder(t)
	inner, err := memgate.New(5, domain.SharePolicy{Enabled: true, Classes: map[string]domain.ClassLimits{
		"batch": {Weight: 1, Ceiling: 1},
	}})
	require.NoError(t, err)
	gate := traced.Gate(inner, tr, "memory")
	who := domain.Client{Key: "secret-hash", Class: "batch"}
	_, err = gate.Acquire(context.Background(), "a", who)
	require.NoError(t, err)
	_, err = gate.Acquire(context.Background(), "b", who)
	require.ErrorIs(t, err, domain.ErrAtCapacity)

	spans := rec.Ended()
	require.Len(t, spans, 2)
	for _, s := range spans {
		v, _ := attr(s, "rps.client.class")
		assert.Equal(t, "batch", v.AsString())
		for _, kv := range s.Attributes() {
			assert.NotContains(t, kv.Value.String(), "secret-hash", "the client's key is never on a span")
		}
	}
	_, limited := attr(spans[0], "rps.gate.limit")
	assert.False(t, limited)
	v, _ := attr(spans[1], "rps.gate.limit")
	assert.Equal(t, string(domain.LimitCeiling), v.AsString())
}
