package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/observability"
)

// serveAdmin opens the server's admin listener at addr (http.admin_addr),
// so the API's port serves the API only, and returns its stop. It stays
// open while the API drains, so shutdown can still be scraped.
func serveAdmin(ctx context.Context, addr string, reg prometheus.Gatherer, pprof bool, log *slog.Logger) (stop func(), err error) {
	bound, stop, err := observability.ServeAdmin(ctx, addr, adminHandler(reg, pprof))
	if err != nil {
		return nil, fmt.Errorf("http.admin_addr: %w", err)
	}
	log.Info("admin listening: /metrics apart from the API", "addr", bound)
	return stop, nil
}

// adminHandler serves /metrics and, when debug.pprof_addr names this
// listener, the profiler.
func adminHandler(reg prometheus.Gatherer, pprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", observability.MetricsHandler(reg))
	if pprof {
		observability.AddPProf(mux)
	}
	return mux
}
