package observability

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
)

// ServePProf serves Go's profiler (net/http/pprof under /debug/pprof/) on an
// admin listener at addr (see ServeAdmin), so profiles are never exposed
// where the API is. It is meant for an address on loopback, and off unless
// asked for.
//
//	go tool pprof -seconds 30 http://127.0.0.1:6060/debug/pprof/profile
func ServePProf(ctx context.Context, addr string, log *slog.Logger) (bound string, stop func(), err error) {
	mux := http.NewServeMux()
	AddPProf(mux)
	bound, stop, err = ServeAdmin(ctx, addr, mux)
	if err != nil {
		return "", nil, fmt.Errorf("pprof: %w", err)
	}
	log.Warn("pprof profiler listening; keep this address private", "addr", bound)
	return bound, stop, nil
}

// AddPProf registers Go's profiler under /debug/pprof/ on mux: a binary's
// admin listener, when debug.pprof_addr names that listener's address.
func AddPProf(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
