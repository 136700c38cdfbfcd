package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePProf serves Go's profiler (net/http/pprof under /debug/pprof/) on a
// listener of its own at addr (a loopback address, checked by the flags), so
// the bench's own CPU can be profiled while it loads a server. It returns
// the address it listens on (addr may name port 0) and stop, which closes
// it at once: the bench calls stop as it exits, when a profile still
// streaming has nothing more to show. The bench is a module apart from the
// service, so it keeps this server of its own rather than import the
// service's observability package (and with it the service's dependencies).
func servePProf(ctx context.Context, addr string) (bound string, stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace streams for its -seconds.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), func() {
		_ = srv.Close()
		<-done
	}, nil
}
