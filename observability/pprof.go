package observability

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ServePProf serves Go's profiler (net/http/pprof under /debug/pprof/) on a
// listener of its own at addr, apart from the service's port, so profiles
// are never exposed where the API is. It is meant for an admin address on
// loopback, and off unless asked for. It returns the address it listens on
// (addr may name port 0) and stop, which shuts the listener down.
//
//	go tool pprof -seconds 30 http://127.0.0.1:6060/debug/pprof/profile
func ServePProf(ctx context.Context, addr string, log *slog.Logger) (bound string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pprof listen: %w", err)
	}
	// No write timeout: a CPU profile or trace streams for its -seconds.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	log.Warn("pprof profiler listening; keep this address private", "addr", ln.Addr().String())
	return ln.Addr().String(), func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(shutdownCtx) != nil {
			_ = srv.Close() // a profile still streaming is cut short
		}
		<-done
	}, nil
}
