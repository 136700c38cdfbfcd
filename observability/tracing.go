package observability

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracingConfig is the project's own say on tracing; OpenTelemetry's
// environment variables say the rest (see NewTracing).
type TracingConfig struct {
	// Endpoint is a collector's OTLP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
	// would give it (spans go to Endpoint/v1/traces over HTTP, to Endpoint
	// itself over gRPC). Set, it turns tracing on.
	Endpoint string
	// SampleRatio is the share of new traces recorded; a request that comes
	// with a traceparent follows its caller's sampling decision.
	// OTEL_TRACES_SAMPLER, when set, replaces it.
	SampleRatio float64
	// ServiceName names the process in every span, over the service.name of
	// OTEL_RESOURCE_ATTRIBUTES; empty leaves that one, or else DefaultName.
	ServiceName string
	// DefaultName and ServiceVersion name the process when the environment
	// does not.
	DefaultName, ServiceVersion string
}

// Tracing is how a process traces: a tracer provider and the propagator that
// carries trace context across HTTP and Kafka. It is passed to the adapters,
// never set globally. The zero value is off: a no-op provider (a span costs
// tens of nanoseconds and no allocation) with the W3C propagator, so an
// incoming traceparent still reaches the worker.
type Tracing struct {
	provider   trace.TracerProvider          // nil when off
	propagator propagation.TextMapPropagator // nil: W3C trace context and baggage
	shutdown   func(context.Context) error
	about      []slog.Attr // what NewTracing chose, for the start-up log
}

// NewTracing builds the process's tracing from cfg and OpenTelemetry's
// environment variables, which are read from the process environment as the
// SDK reads them:
//   - on or off: on when cfg names an endpoint, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//     is set, or OTEL_TRACES_EXPORTER names an exporter; off, whatever else is
//     set, when OTEL_TRACES_EXPORTER is "none" or OTEL_SDK_DISABLED is
//     "true" (the Go SDK itself ignores that one);
//   - the exporter: autoexport's, from OTEL_TRACES_EXPORTER,
//     OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf or grpc) and the other
//     OTEL_EXPORTER_OTLP_* variables, except that an endpoint cfg has from
//     elsewhere than OTEL_EXPORTER_OTLP_ENDPOINT (the project's own setting)
//     names the collector;
//   - the sampler: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, else
//     parent-based at cfg.SampleRatio;
//   - the propagators, on or off: OTEL_PROPAGATORS (autoprop: tracecontext,
//     baggage, b3, b3multi, jaeger, xray, ottrace, none), else W3C trace
//     context and baggage; an unknown name is an error;
//   - the resource: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, under
//     cfg.ServiceName.
func NewTracing(ctx context.Context, cfg TracingConfig) (Tracing, error) {
	prop, err := propagatorFromEnv()
	if err != nil {
		return Tracing{}, err
	}
	if !tracingWanted(cfg.Endpoint) {
		return Tracing{propagator: prop}, nil
	}
	res, err := newResource(ctx, cfg)
	if err != nil {
		return Tracing{}, err
	}
	exp, exporter, err := newSpanExporter(ctx, cfg.Endpoint)
	if err != nil {
		return Tracing{}, err
	}
	sampler := samplerUnlessEnv(cfg.SampleRatio)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler), // nil: the SDK's, from OTEL_TRACES_SAMPLER
	)
	t := Tracing{provider: tp, propagator: prop, shutdown: tp.Shutdown}
	t.about = []slog.Attr{
		slog.String("exporter", exporter),
		slog.String("service", serviceName(res)),
		slog.String("sampler", samplerDescription(sampler)),
		slog.Any("propagates", t.Propagator().Fields()),
	}
	return t, nil
}

// TracingWith traces into tp, which the caller shuts down (tests, with a
// tracetest.SpanRecorder).
func TracingWith(tp trace.TracerProvider) Tracing { return Tracing{provider: tp} }

// On reports whether spans are recorded.
func (t Tracing) On() bool { return t.provider != nil }

// Provider returns the tracer provider: a no-op one when off.
func (t Tracing) Provider() trace.TracerProvider {
	if t.provider == nil {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Tracer returns the named tracer (the instrumenting package's import path).
func (t Tracing) Tracer(name string) trace.Tracer { return t.Provider().Tracer(name) }

// Propagator carries trace context (and baggage) in and out, on or off: the
// ones OTEL_PROPAGATORS names, W3C trace context and baggage by default.
func (t Tracing) Propagator() propagation.TextMapPropagator {
	if t.propagator == nil {
		return defaultPropagator()
	}
	return t.propagator
}

// LogValue says, for the start-up log, how spans are exported, sampled and
// named, and which headers carry their context.
func (t Tracing) LogValue() slog.Value {
	if !t.On() {
		return slog.GroupValue(slog.Bool("on", false), slog.Any("propagates", t.Propagator().Fields()))
	}
	return slog.GroupValue(append([]slog.Attr{slog.Bool("on", true)}, t.about...)...)
}

// Shutdown flushes the spans not yet exported, bounded by ctx.
func (t Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flush: %w", err)
	}
	return nil
}

// Fail marks span failed with err (nil does nothing): the span's status and
// an exception event, as OpenTelemetry's conventions ask.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
