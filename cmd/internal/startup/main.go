package startup

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/1000x-rps-server/rps-server/observability"
)

// Main is the main of the binary named binary, stamped with version: given
// the single argument -version it prints the build; given -print-config or
// -check-config it prints or checks the config and exits (configCommand);
// otherwise it calls run with a context that SIGINT or SIGTERM cancels, and
// exits 1 with run's error.
func Main(binary, version string, run func(context.Context, observability.BuildInfo) error) {
	build := observability.ReadBuildInfo(binary, version)
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(build)
		return
	}
	if code, done := configCommand(binary, os.Args[1:], os.Environ(), os.Stdout, os.Stderr); done {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, build); err != nil {
		fmt.Fprintln(os.Stderr, binary+":", err)
		stop()
		os.Exit(1) //nolint:gocritic // stop() ran above; nothing else is deferred
	}
}
