// Package observability builds what every process reports through: its
// logger (carrying the request id through contexts, so every log line of a
// request can be joined), its own metrics registry, admin listeners kept
// apart from the service's port (profiler, metrics of the worker), and which
// build is running (-version, rps_build_info).
package observability
