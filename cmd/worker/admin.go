package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/observability"
)

// adminHandler serves the worker's admin listener, its only one:
// /healthz (alive: never asks Kafka or Redis), /readyz (joined the group;
// the shared dependencies listed, never unready for them) and /metrics,
// and the profiler when debug.pprof_addr names this listener.
func adminHandler(reg prometheus.Gatherer, readiness observability.Readiness, pprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", observability.MetricsHandler(reg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		rep := readiness.Check(ctx)
		w.Header().Set("Content-Type", "application/json")
		if rep.Err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write(rep.Body(notReadyReason(rep.Err)))
	})
	if pprof {
		observability.AddPProf(mux)
	}
	return mux
}

// readyTimeout bounds one /readyz, so a hung Redis cannot hang the probe
// past the orchestrator's own timeout.
const readyTimeout = 2 * time.Second

// notReadyReason is the public reason the worker is not ready: still
// starting (waiting for Redis), or not yet in its consumer group.
func notReadyReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errStarting):
		return "starting"
	}
	return "not yet joined the consumer group"
}
