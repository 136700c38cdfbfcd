package observability

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ServeAdmin serves h on a listener of its own at addr, apart from the
// service's port, for what operators and scrapers ask and users never should
// (profiles, metrics of a process with no API, readiness). It returns the
// address it listens on (addr may name port 0) and stop, which shuts the
// listener down: requests get a second to finish, then are cut.
func ServeAdmin(ctx context.Context, addr string, h http.Handler) (bound string, stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("admin listen: %w", err)
	}
	// No write timeout: a CPU profile or trace streams for its -seconds.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(shutdownCtx) != nil {
			_ = srv.Close() // a profile still streaming is cut short
		}
		<-done
	}, nil
}
