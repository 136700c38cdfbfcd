// Package check holds the tests of the monitoring files beside it: the
// Grafana dashboard (strict against the Grafana schema), the Prometheus
// rules and alerts (promtool), every PromQL expression (parsed), every
// metric they name (exported by the real binaries), and a real Prometheus
// running the project's scrape config against a real server and worker.
//
// It is a module of its own so that the Grafana SDK and Prometheus's own
// packages, which only these tests need, stay out of the service's go.mod.
// Run it with `go tool task test:observability` (part of `go tool task test`).
package check
