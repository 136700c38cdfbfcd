package observability

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// The OpenTelemetry variables NewTracing itself looks at; the SDK, autoexport
// and autoprop read them (and the rest) on their own.
const (
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envExporter       = "OTEL_TRACES_EXPORTER"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envSampler        = "OTEL_TRACES_SAMPLER"
	envPropagators    = "OTEL_PROPAGATORS"
)

// getenv is a variable's trimmed value.
func getenv(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// tracingWanted is the project's switch: the SDK has none of its own (it
// ignores OTEL_SDK_DISABLED), and off must cost nothing, so NewTracing
// decides before it builds anything.
func tracingWanted(endpoint string) bool {
	if strings.EqualFold(getenv(envSDKDisabled), "true") {
		return false
	}
	switch getenv(envExporter) {
	case "none":
		return false
	case "":
		return endpoint != "" || getenv(envTracesEndpoint) != ""
	default:
		return true
	}
}

// newSpanExporter returns the exporter the environment names (autoexport),
// and its name for the log. An endpoint that is not the environment's
// OTEL_EXPORTER_OTLP_ENDPOINT came from the project's own setting (a YAML
// file, an RPS_ variable, a .env file), which the exporters cannot see: it
// stands in for that variable when the exporter is OTLP.
func newSpanExporter(ctx context.Context, endpoint string) (sdktrace.SpanExporter, string, error) {
	name := getenv(envExporter)
	var exp sdktrace.SpanExporter
	var err error
	if (name == "" || name == "otlp") && endpoint != "" && endpoint != getenv(envEndpoint) {
		exp, err = otlpExporterTo(ctx, endpoint)
	} else {
		exp, err = autoexport.NewSpanExporter(ctx)
	}
	if err != nil {
		return nil, "", fmt.Errorf("tracing: exporter: %w", err)
	}
	if name == "" || name == "otlp" {
		name = "otlp " + otlpProtocol()
	}
	return exp, name, nil
}

// otlpExporterTo exports to the collector at endpoint (a base URL, as
// OTEL_EXPORTER_OTLP_ENDPOINT is) over the protocol the environment names,
// the other OTEL_EXPORTER_OTLP_* variables still applying.
func otlpExporterTo(ctx context.Context, endpoint string) (sdktrace.SpanExporter, error) {
	switch p := otlpProtocol(); p {
	case "grpc":
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint))
	case "http/protobuf":
		return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(endpoint, "/")+"/v1/traces"))
	default:
		return nil, fmt.Errorf("OTLP protocol %q: want grpc or http/protobuf", p)
	}
}

// otlpProtocol is the OTLP protocol of traces, as autoexport chooses it.
func otlpProtocol() string {
	for _, name := range []string{envTracesProtocol, envProtocol} {
		if p := getenv(name); p != "" {
			return p
		}
	}
	return "http/protobuf"
}

// samplerUnlessEnv is parent-based sampling at ratio, or nil when
// OTEL_TRACES_SAMPLER is set: the SDK then takes its sampler from there.
func samplerUnlessEnv(ratio float64) sdktrace.Sampler {
	if getenv(envSampler) != "" {
		return nil
	}
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
}

// samplerDescription names s, or the environment's sampler when s is nil.
func samplerDescription(s sdktrace.Sampler) string {
	if s == nil {
		return strings.TrimSpace(envSampler + "=" + getenv(envSampler) + " " + getenv(envSampler+"_ARG"))
	}
	return s.Description()
}

// propagatorFromEnv is the propagators OTEL_PROPAGATORS names, through
// autoprop, or W3C trace context and baggage when it is unset. autoprop
// would skip a name it does not know; a typo is refused here instead, as
// the config refuses an unknown variable.
func propagatorFromEnv() (propagation.TextMapPropagator, error) {
	v := getenv(envPropagators)
	if v == "" {
		return defaultPropagator(), nil
	}
	names := strings.Split(v, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	p, err := autoprop.TextMapPropagator(names...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %s: %w", envPropagators, err)
	}
	return p, nil
}

// defaultPropagator is W3C trace context and baggage, the specification's
// default.
func defaultPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// newResource names the process: cfg's defaults first, then what
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME say over them, then
// cfg.ServiceName over all.
func newResource(ctx context.Context, cfg TracingConfig) (*resource.Resource, error) {
	var defaults []attribute.KeyValue
	if cfg.DefaultName != "" {
		defaults = append(defaults, semconv.ServiceName(cfg.DefaultName))
	}
	if cfg.ServiceVersion != "" {
		defaults = append(defaults, semconv.ServiceVersion(cfg.ServiceVersion))
	}
	opts := []resource.Option{
		resource.WithAttributes(defaults...),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv(),
	}
	if cfg.ServiceName != "" {
		opts = append(opts, resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)))
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return res, nil
}

// serviceName is the service.name res carries.
func serviceName(res *resource.Resource) string {
	v, _ := res.Set().Value(semconv.ServiceNameKey)
	return v.AsString()
}
