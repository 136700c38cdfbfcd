// Command worker consumes tasks from Kafka, runs them through the
// ProcessTask use case and replies to the server instance that asked.
package main

import (
	"context"
	"io"
	"os"

	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/observability"
)

// version is stamped at link time: go build -ldflags "-X main.version=v1.2.3".
var version string

func main() {
	startup.Main("worker", version, func(ctx context.Context, build observability.BuildInfo) error {
		return run(ctx, build, os.Args[1:], os.Environ(), os.Stderr)
	})
}

// run consumes tasks until ctx is cancelled, then drains: in-flight tasks
// finish, their replies are flushed and their offsets committed.
func run(ctx context.Context, build observability.BuildInfo, args, environ []string, logOut io.Writer) error {
	proc, err := startup.Begin(ctx, build, args, environ, logOut)
	if err != nil {
		return err
	}
	defer proc.Close() // Begin refused a config without Kafka
	w, err := newWorker(ctx, proc)
	if err != nil {
		return err
	}
	defer w.close()
	return w.run(ctx)
}
