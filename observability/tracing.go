package observability

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracingConfig turns tracing on and says where spans go.
type TracingConfig struct {
	// Endpoint is the OTLP/HTTP collector's base URL (spans go to
	// Endpoint/v1/traces); empty leaves tracing off.
	Endpoint string
	// SampleRatio is the share of new traces recorded; a request that comes
	// with a traceparent follows its caller's sampling decision.
	SampleRatio float64
	// ServiceName and ServiceVersion name the process in every span.
	ServiceName, ServiceVersion string
}

// Tracing is how a process traces: a tracer provider and the propagator that
// carries trace context across HTTP and Kafka. It is passed to the adapters,
// never set globally. The zero value is off: a no-op provider (a span costs
// tens of nanoseconds and no allocation) with the W3C propagator, so an
// incoming traceparent still reaches the worker.
type Tracing struct {
	provider trace.TracerProvider // nil when off
	shutdown func(context.Context) error
}

// NewTracing starts exporting spans over OTLP/HTTP when cfg names an
// endpoint; otherwise it returns the zero Tracing. Other OTEL_EXPORTER_OTLP_*
// variables (headers, timeout, compression) are honoured by the exporter,
// and OTEL_RESOURCE_ATTRIBUTES by the resource.
func NewTracing(ctx context.Context, cfg TracingConfig) (Tracing, error) {
	if cfg.Endpoint == "" {
		return Tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/")+"/v1/traces"))
	if err != nil {
		return Tracing{}, fmt.Errorf("tracing: exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(cfg.ServiceVersion)),
	)
	if err != nil {
		return Tracing{}, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return Tracing{provider: tp, shutdown: tp.Shutdown}, nil
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

// Propagator carries W3C trace context and baggage, on or off.
func (Tracing) Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
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
