// Package observability builds what every process reports through: its
// logger (carrying the request id, and the trace and span ids when tracing
// is on, through contexts, so every log line of a request can be joined),
// its tracing (OpenTelemetry, off by default, configured by the spec's
// OTEL_ variables, tracing.go),
// its own metrics registry (with trace-id exemplars, exemplar.go), admin listeners kept
// apart from the service's port (profiler, metrics), readiness (what is the
// instance's own and what every instance shares, readiness.go), and which
// build is running (-version, rps_build_info).
package observability
