// Package startup is how both binaries begin and end, written once: main
// (-version, signals, the exit code), the config (checked by the adapters'
// own rules as well as its generic ones), the logger, the profiler when asked
// for, the process's metrics registry and its tracing, and the order in which
// what they opened is closed (Closers).
// It is internal to cmd: only the binaries start processes.
package startup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Process is what a binary has once started: its config (and where each
// value was set), its logger, its metrics registry and its tracing. Close
// stops what Begin started (the profiler, the span exporter).
type Process struct {
	Config   configs.Config
	Origins  configs.Origins
	Log      *slog.Logger
	Registry *prometheus.Registry
	Tracing  observability.Tracing
	// PProfOnAdmin says the profiler goes on the binary's admin listener,
	// which the binary opens: debug.pprof_addr names that listener's
	// address, so Begin opened no listener of the profiler's own.
	PProfOnAdmin bool
	closers      Closers
}

// flushTimeout bounds exporting the last spans at exit.
const flushTimeout = 5 * time.Second

// Begin loads the config of the binary build names from args and environ,
// checked by the adapters' rules too (rulesOf), logs to logOut, logs its version and the (redacted) config once (and, at
// debug, the Kubernetes service-link variables it skipped), sets the
// garbage collector's target unless GOGC does and the soft memory limit from
// the container's unless GOMEMLIMIT does, starts tracing as the config and
// OpenTelemetry's variables say, registers the rps_build_info gauge and
// serves the profiler if the config asks for it (on a listener of its own,
// unless it names the binary's admin listener). -print-config and
// -check-config are Main's: it exits before run.
func Begin(ctx context.Context, build observability.BuildInfo, args, environ []string, logOut io.Writer) (*Process, error) {
	a, err := configs.ParseArgs(build.Binary, args, environ)
	if err != nil {
		return nil, err
	}
	cfg, origins, err := configs.LoadWithOrigins(a.Options(environ, rulesOf(build.Binary)...))
	if err != nil {
		return nil, err
	}
	tr, err := startTracing(ctx, cfg.Tracing, build)
	if err != nil {
		return nil, err
	}
	log, err := observability.NewLogger(logOut, observability.LogConfig{
		Level: cfg.Log.Level, Format: cfg.Log.Format, TraceIDs: tr.On(),
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("logger: %w", err), tr.Shutdown(ctx))
	}
	log.Info("starting "+build.Binary, "version", build.Version, "config", cfg, "tracing", tr)
	if links := configs.ServiceLinkVariables(environ); len(links) > 0 {
		log.Debug("Kubernetes service-link variables ignored, not settings (enableServiceLinks: false leaves them out)", "names", links)
	}
	tuneGC(environ, log)
	tuneMemoryLimit(environ, memlimit.FromCgroup, log)
	p := &Process{Config: cfg, Origins: origins, Log: log, Registry: observability.NewRegistry(), Tracing: tr}
	p.closers.Add(p.flushSpans)
	if err := observability.RegisterBuildInfo(p.Registry, build); err != nil {
		p.Close()
		return nil, err
	}
	p.PProfOnAdmin = cfg.Debug.PProfAddr != "" && cfg.Debug.PProfAddr == adminAddr(build.Binary, cfg)
	if p.PProfOnAdmin {
		log.Warn("pprof profiler on the admin listener; keep this address private", "addr", cfg.Debug.PProfAddr)
	}
	if cfg.Debug.PProfAddr != "" && !p.PProfOnAdmin {
		_, stopPProf, err := observability.ServePProf(ctx, cfg.Debug.PProfAddr, log)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.closers.AddFunc(stopPProf)
	}
	return p, nil
}

// adminAddr is the address of binary's admin listener, empty when it has
// none: http.admin_addr for the server, worker.admin_addr for the worker.
func adminAddr(binary string, cfg configs.Config) string {
	switch binary {
	case "server":
		return cfg.HTTP.AdminAddr
	case "worker":
		return cfg.Worker.AdminAddr
	}
	return ""
}

// startTracing builds the process's tracing from cfg and OpenTelemetry's
// variables (observability.NewTracing), as the service "rps-<binary>"
// unless cfg or OTEL_RESOURCE_ATTRIBUTES names it.
func startTracing(ctx context.Context, cfg configs.TracingConfig, build observability.BuildInfo) (observability.Tracing, error) {
	return observability.NewTracing(ctx, observability.TracingConfig{
		Endpoint: cfg.Endpoint, SampleRatio: cfg.SampleRatio,
		ServiceName: cfg.ServiceName, DefaultName: "rps-" + build.Binary, ServiceVersion: build.Version,
	})
}

// Close stops the profiler, if it runs, and flushes the spans not yet
// exported.
func (p *Process) Close() { p.closers.Close(p.Log) }

// flushSpans exports the spans not yet exported, within flushTimeout.
func (p *Process) flushSpans(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := p.Tracing.Shutdown(ctx); err != nil {
		p.Log.Warn("spans lost at exit", "err", err)
	}
	return nil
}
