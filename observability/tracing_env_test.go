package observability_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"

	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/tests/otlptest"
)

// These tests set process environment variables, as a deployment does, so
// none of them runs in parallel.

// flush exports what tr holds and ends it.
func flush(t *testing.T, tr observability.Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, tr.Shutdown(ctx))
}

// Spans reach a collector over either protocol, however the environment or
// the project's own setting names it, named by OTEL_RESOURCE_ATTRIBUTES.
func TestTracing_ExportsByTheEnvironment(t *testing.T) {
	type start func(testing.TB, *otlptest.Receiver) string
	protocols := map[string]start{"http/protobuf": otlptest.StartHTTP, "grpc": otlptest.StartGRPC}
	cases := map[string]func(t *testing.T, protocol, url string) observability.TracingConfig{
		"OTEL_EXPORTER_OTLP_ENDPOINT": func(t *testing.T, _, url string) observability.TracingConfig {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
			return observability.TracingConfig{Endpoint: url} // the config reads that variable too
		},
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT alone": func(t *testing.T, protocol, url string) observability.TracingConfig {
			if protocol != "grpc" {
				url += "/v1/traces" // the signal's own endpoint is the full URL
			}
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)
			return observability.TracingConfig{}
		},
		"the project's own setting": func(*testing.T, string, string) observability.TracingConfig {
			return observability.TracingConfig{Endpoint: "set below"}
		},
	}
	for protocol, serve := range protocols {
		for name, setup := range cases {
			t.Run(protocol+"/"+name, func(t *testing.T) {
				recv := &otlptest.Receiver{}
				url := serve(t, recv)
				t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
				t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,service.namespace=gifts")
				cfg := setup(t, protocol, url)
				if cfg.Endpoint == "set below" {
					cfg.Endpoint = url
				}
				cfg.SampleRatio, cfg.DefaultName, cfg.ServiceVersion = 1, "rps-test", "v9.9.9"

				tr, err := observability.NewTracing(context.Background(), cfg)
				require.NoError(t, err)
				require.True(t, tr.On())
				_, span := tr.Tracer("test").Start(context.Background(), "work")
				span.End()
				flush(t, tr)

				spans := recv.Spans()
				require.Len(t, spans, 1)
				assert.Equal(t, "work", spans[0].GetName())
				assert.Equal(t, "rps-test", spans[0].Service)
				assert.Equal(t, "v9.9.9", spans[0].Resource["service.version"])
				assert.Equal(t, "staging", spans[0].Resource["deployment.environment.name"])
				assert.Equal(t, "gifts", spans[0].Resource["service.namespace"])
			})
		}
	}
}

// The service name: the project's setting over OTEL_RESOURCE_ATTRIBUTES
// over the binary's default.
func TestTracing_ServiceName(t *testing.T) {
	for name, c := range map[string]struct{ attrs, setting, want string }{
		"default":            {want: "rps-test"},
		"resource attribute": {attrs: "service.name=from-attrs", want: "from-attrs"},
		"setting wins":       {attrs: "service.name=from-attrs", setting: "gift-server", want: "gift-server"},
	} {
		t.Run(name, func(t *testing.T) {
			recv := &otlptest.Receiver{}
			url := otlptest.StartHTTP(t, recv)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", c.attrs)
			tr, err := observability.NewTracing(context.Background(), observability.TracingConfig{
				Endpoint: url, SampleRatio: 1, ServiceName: c.setting, DefaultName: "rps-test",
			})
			require.NoError(t, err)
			_, span := tr.Tracer("test").Start(context.Background(), "work")
			span.End()
			flush(t, tr)
			require.Len(t, recv.Spans(), 1)
			assert.Equal(t, c.want, recv.Spans()[0].Service)
		})
	}
}

// OTEL_TRACES_SAMPLER replaces the configured ratio.
func TestTracing_SamplerFromTheEnvironment(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	tr, err := observability.NewTracing(context.Background(), observability.TracingConfig{Endpoint: otlptest.StartHTTP(t, &otlptest.Receiver{}), SampleRatio: 1})
	require.NoError(t, err)
	defer flush(t, tr)
	_, span := tr.Tracer("test").Start(context.Background(), "new trace")
	assert.False(t, span.IsRecording(), "always_off, whatever the ratio")
}

// OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none leave tracing off (the
// no-op provider) though an endpoint is set.
func TestTracing_OffByTheEnvironment(t *testing.T) {
	for name, v := range map[string][2]string{
		"sdk disabled":  {"OTEL_SDK_DISABLED", "true"},
		"exporter none": {"OTEL_TRACES_EXPORTER", "none"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(v[0], v[1])
			tr, err := observability.NewTracing(context.Background(), observability.TracingConfig{Endpoint: "http://127.0.0.1:1", SampleRatio: 1})
			require.NoError(t, err)
			assert.False(t, tr.On())
		})
	}
}

// OTEL_PROPAGATORS chooses the headers a trace travels in, on or off.
func TestTracing_PropagatorsFromTheEnvironment(t *testing.T) {
	for name, c := range map[string]struct {
		propagators string
		want        []string // headers injected
		not         []string
	}{
		"default":                 {want: []string{"Traceparent", "Baggage"}, not: []string{"B3"}},
		"b3":                      {propagators: "b3", want: []string{"B3"}, not: []string{"Traceparent", "Baggage"}},
		"b3multi":                 {propagators: "b3multi", want: []string{"X-B3-Traceid", "X-B3-Spanid"}, not: []string{"Traceparent"}},
		"baggage, tracecontext":   {propagators: "baggage, tracecontext", want: []string{"Traceparent", "Baggage"}, not: []string{"B3"}},
		"none":                    {propagators: "none", not: []string{"Traceparent", "Baggage", "B3"}},
		"tracecontext and jaeger": {propagators: "tracecontext,jaeger", want: []string{"Traceparent", "Uber-Trace-Id"}},
	} {
		for _, on := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/on=%v", name, on), func(t *testing.T) {
				t.Setenv("OTEL_PROPAGATORS", c.propagators)
				cfg := observability.TracingConfig{SampleRatio: 1}
				if on {
					cfg.Endpoint = otlptest.StartHTTP(t, &otlptest.Receiver{})
				}
				tr, err := observability.NewTracing(context.Background(), cfg)
				require.NoError(t, err)
				defer flush(t, tr)
				require.Equal(t, on, tr.On())

				// A caller's trace, with baggage, comes in by W3C headers.
				ctx := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}).
					Extract(context.Background(), propagation.HeaderCarrier(http.Header{"Traceparent": {incoming}, "Baggage": {"tenant=acme"}}))
				ctx, span := tr.Tracer("test").Start(ctx, "work")
				defer span.End()
				out := http.Header{}
				tr.Propagator().Inject(ctx, propagation.HeaderCarrier(out))
				for _, h := range c.want {
					assert.NotEmpty(t, out.Get(h), "%s injected; got %v", h, out)
				}
				for _, h := range c.not {
					assert.Empty(t, out.Get(h), "%s not injected; got %v", h, out)
				}
				if c.propagators == "b3" {
					assert.Contains(t, out.Get("B3"), "4bf92f3577b34da6a3ce929d0e0e4736-", "the caller's trace id travels in b3")
				}
			})
		}
	}
}

// A propagator name autoprop does not know stops start-up rather than being
// skipped in silence.
func TestTracing_UnknownPropagatorIsAnError(t *testing.T) {
	t.Setenv("OTEL_PROPAGATORS", "tracecontext,b4")
	_, err := observability.NewTracing(context.Background(), observability.TracingConfig{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "b4")
}

// A malformed OTEL_RESOURCE_ATTRIBUTES stops start-up rather than naming
// the spans wrongly.
func TestTracing_BadResourceAttributesAreAnError(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name")
	_, err := observability.NewTracing(context.Background(), observability.TracingConfig{Endpoint: "http://127.0.0.1:1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resource")
}
