// Command server is the HTTP front of the service: it admits POST /queue
// through the concurrency gate and waits for a worker's reply. With no Redis
// and no Kafka configured it runs embedded: in-memory gate, in-process worker.
package main

import (
	"context"
	"io"
	"os"

	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/cmd/server/internal/serverapp"
	"github.com/1000x-rps-server/rps-server/observability"
)

// version is stamped at link time: go build -ldflags "-X main.version=v1.2.3".
var version string

func main() {
	startup.Main("server", version, func(ctx context.Context, build observability.BuildInfo) error {
		return run(ctx, build, os.Args[1:], os.Environ(), os.Stderr, nil)
	})
}

// run starts the server and blocks until ctx is cancelled (a signal), the
// listener fails or a port gives up for good, then shuts down in order. When ready is not nil it receives
// the listening address once the server accepts connections.
func run(ctx context.Context, build observability.BuildInfo, args, environ []string, logOut io.Writer, ready chan<- string) error {
	proc, err := startup.Begin(ctx, build, args, environ, logOut)
	if err != nil {
		return err
	}
	defer proc.Close()
	application, err := serverapp.New(ctx, proc.Config, proc.Log, proc.Registry, proc.Tracing)
	if err != nil {
		return err
	}
	defer application.Close()
	if addr := proc.Config.HTTP.AdminAddr; addr != "" {
		stopAdmin, err := serveAdmin(ctx, addr, proc.Registry, proc.PProfOnAdmin, proc.Log)
		if err != nil {
			return err
		}
		defer stopAdmin()
	}
	httpCfg := proc.Config.HTTP
	httpCfg.ShutdownDelay = preStopDelay(proc.Config, proc.Origins)
	return serve(ctx, httpCfg, application.API, proc.Log, ready, application.Failed())
}
