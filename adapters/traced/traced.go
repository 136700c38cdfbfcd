// Package traced decorates the ports with OpenTelemetry spans, so each call
// of the gate, the ledger and the task handlers is a segment of the request's
// trace without any adapter or use case knowing about tracing. The Redis
// client has no served instrumentation (rueidisotel), and a decorator sees
// every adapter of a port alike. cmd wraps the ports only when tracing is
// on, so tracing off costs nothing here.
package traced

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

const tracerName = "github.com/1000x-rps-server/rps-server/adapters/traced"

// Gate wraps gate: "gate.acquire" and "gate.release" client spans. store
// names what the gate runs on ("redis", "memory"), as db.system.name.
func Gate(gate ports.ConcurrencyGate, tr observability.Tracing, store string) ports.ConcurrencyGate {
	return tracedGate{inner: gate, tracer: tr.Tracer(tracerName), system: semconv.DBSystemNameKey.String(store)}
}

type tracedGate struct {
	inner  ports.ConcurrencyGate
	tracer trace.Tracer
	system attribute.KeyValue
}

// Refused is set on an acquire the gate refused because it was full: an
// answer (429), not a failure of the call.
var Refused = attribute.Bool("rps.gate.refused", true)

// The attributes of the fair share on an acquire: the client's class
// (never its key, which may identify a person) and the limit that refused.
const (
	ClassKey = attribute.Key("rps.client.class")
	LimitKey = attribute.Key("rps.gate.limit")
)

func (g tracedGate) Acquire(ctx context.Context, id string, client domain.Client) (ports.Slot, error) {
	ctx, span := g.tracer.Start(ctx, "gate.acquire", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(g.system, attribute.String("rps.slot", id), ClassKey.String(client.ClassOf())))
	defer span.End()
	slot, err := g.inner.Acquire(ctx, id, client)
	if errors.Is(err, domain.ErrAtCapacity) {
		span.SetAttributes(Refused)
		if r, ok := errors.AsType[*domain.Refusal](err); ok {
			span.SetAttributes(LimitKey.String(string(r.Limit)))
		}
		return slot, err
	}
	observability.Fail(span, err)
	return slot, err
}

func (g tracedGate) Release(ctx context.Context, slot ports.Slot) error {
	ctx, span := g.tracer.Start(ctx, "gate.release", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(g.system, attribute.String("rps.slot", slot.ID)))
	defer span.End()
	err := g.inner.Release(ctx, slot)
	observability.Fail(span, err)
	return err
}

// Ready is not traced: probes every few seconds would bury the requests.
func (g tracedGate) Ready(ctx context.Context) error { return g.inner.Ready(ctx) }

// Ledger wraps ledger: a "ledger.record" client span per call, marked
// rps.ledger.replayed when the task had already been issued a value (a
// redelivery answered from the record).
func Ledger(ledger ports.IssuanceLedger, tr observability.Tracing, store string) ports.IssuanceLedger {
	return tracedLedger{inner: ledger, tracer: tr.Tracer(tracerName), system: semconv.DBSystemNameKey.String(store)}
}

type tracedLedger struct {
	inner  ports.IssuanceLedger
	tracer trace.Tracer
	system attribute.KeyValue
}

func (l tracedLedger) Record(ctx context.Context, taskID, value string) (string, error) {
	ctx, span := l.tracer.Start(ctx, "ledger.record", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(l.system, attribute.String("rps.task_id", taskID)))
	defer span.End()
	stored, err := l.inner.Record(ctx, taskID, value)
	observability.Fail(span, err)
	if err == nil {
		span.SetAttributes(attribute.Bool("rps.ledger.replayed", stored != value))
	}
	return stored, err
}

// Processor wraps the task handlers: a "handle <kind>" span per task, failed
// when the result carries an error. Wrap the handlers themselves (ProcessTask),
// inside the exactly-once ledger, so the handler and the ledger are two
// segments side by side.
func Processor(proc ports.TaskProcessor, tr observability.Tracing) ports.TaskProcessor {
	return tracedProcessor{inner: proc, tracer: tr.Tracer(tracerName)}
}

type tracedProcessor struct {
	inner  ports.TaskProcessor
	tracer trace.Tracer
}

func (p tracedProcessor) Process(ctx context.Context, task domain.Task) domain.Result {
	ctx, span := p.tracer.Start(ctx, "handle "+string(task.Kind), trace.WithAttributes(
		attribute.String("rps.task_id", task.ID), attribute.String("rps.request_id", task.RequestID)))
	defer span.End()
	res := p.inner.Process(ctx, task)
	if res.Error != "" {
		observability.Fail(span, errors.New(res.Error))
	}
	return res
}
