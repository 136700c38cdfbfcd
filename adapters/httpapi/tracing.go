package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/observability"
)

// HeaderTraceID carries the request's trace id back to the caller, so a slow
// or failed response leads straight to its trace.
const HeaderTraceID = "X-Trace-Id"

// traceServer wraps h in otelhttp's server span when tracing is on: it
// honours an incoming W3C traceparent and records method, route, status and
// errors under current semantic conventions. otelhttp rather than otelecho:
// otelhttp is maintained and served at its current version, while otelecho
// is deprecated upstream (its successor is not served), so it would pin the
// service to a frozen module. Probes and /metrics are left out: they would
// bury the requests. Off, h is returned as is.
func traceServer(h http.Handler, tr observability.Tracing) http.Handler {
	if !tr.On() {
		return h
	}
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(tr.Provider()),
		otelhttp.WithPropagators(tr.Propagator()),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // RED metrics come from echoprometheus
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
	)
}

// traceContext names the server span after the matched route ("POST
// /queue", which otelhttp cannot know before echo routes) and tags it with
// the request id; off, it only takes the caller's traceparent into the
// context, so the task still carries it to the worker. Either way the
// response names the trace id in X-Trace-Id.
func traceContext(tr observability.Tracing) echo.MiddlewareFunc {
	prop := tr.Propagator()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !tr.On() {
				if req.Header.Get("traceparent") != "" {
					c.SetRequest(req.WithContext(prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))))
				}
			} else if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
				route := c.Path()
				span.SetName(req.Method + " " + route)
				span.SetAttributes(semconv.HTTPRoute(route), attribute.String("rps.request_id", observability.RequestID(req.Context())))
			}
			if sc := trace.SpanContextFromContext(c.Request().Context()); sc.IsValid() {
				c.Response().Header().Set(HeaderTraceID, sc.TraceID().String())
			}
			return next(c)
		}
	}
}
