package observability

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// ObserveWithTrace records v in obs, with the trace id of the span in ctx as
// an exemplar when that span is being recorded (tracing on and sampled), so
// a slow bucket on a dashboard leads to a trace of one such request.
// Exemplars are exposed only in the OpenMetrics format: serve /metrics with
// promhttp.HandlerOpts{EnableOpenMetrics: true}.
func ObserveWithTrace(ctx context.Context, obs prometheus.Observer, v float64) {
	span := trace.SpanFromContext(ctx)
	if eo, ok := obs.(prometheus.ExemplarObserver); ok && span.IsRecording() && span.SpanContext().IsSampled() {
		eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": span.SpanContext().TraceID().String()})
		return
	}
	obs.Observe(v)
}
