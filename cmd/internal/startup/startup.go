// Package startup is how both binaries begin and end, written once: main
// (-version, signals, the exit code), the config (checked by the adapters'
// own rules as well as its generic ones), the logger, the profiler when asked
// for, the process's metrics registry and its tracing, and the order in which
// what they opened is closed (Closers).
// It is internal to cmd: only the binaries start processes.
package startup

import (
	"context"
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
	closers  Closers
}

// flushTimeout bounds exporting the last spans at exit.
const flushTimeout = 5 * time.Second

// Begin loads the config of the binary build names from args and environ,
// checked by the adapters' rules too (rulesOf), logs to logOut, logs its version and the (redacted) config once (and, at
// debug, the Kubernetes service-link variables it skipped), sets the
// garbage collector's target unless GOGC does and the soft memory limit from
// the container's unless GOMEMLIMIT does, registers
// the rps_build_info gauge and serves the profiler if the config asks for it.
// -print-config and -check-config are Main's: it exits before run.
func Begin(ctx context.Context, build observability.BuildInfo, args, environ []string, logOut io.Writer) (*Process, error) {
	a, err := configs.ParseArgs(build.Binary, args, environ)
	if err != nil {
		return nil, err
	}
	cfg, origins, err := configs.LoadWithOrigins(a.Options(environ, rulesOf(build.Binary)...))
	if err != nil {
		return nil, err
	}
	log, err := observability.NewLogger(logOut, observability.LogConfig{
		Level: cfg.Log.Level, Format: cfg.Log.Format, TraceIDs: cfg.UsesTracing(),
	})
	if err != nil {
		return nil, fmt.Errorf("logger: %w", err)
	}
	log.Info("starting "+build.Binary, "version", build.Version, "config", cfg)
	if links := configs.ServiceLinkVariables(environ); len(links) > 0 {
		log.Debug("Kubernetes service-link variables ignored, not settings (enableServiceLinks: false leaves them out)", "names", links)
	}
	tuneGC(environ, log)
	tuneMemoryLimit(environ, memlimit.FromCgroup, log)
	p := &Process{Config: cfg, Origins: origins, Log: log, Registry: observability.NewRegistry()}
	if err := observability.RegisterBuildInfo(p.Registry, build); err != nil {
		return nil, err
	}
	if p.Tracing, err = startTracing(ctx, cfg.Tracing, build, log); err != nil {
		return nil, err
	}
	p.closers.Add(p.flushSpans)
	if cfg.Debug.PProfAddr != "" {
		_, stopPProf, err := observability.ServePProf(ctx, cfg.Debug.PProfAddr, log)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.closers.AddFunc(stopPProf)
	}
	return p, nil
}

// startTracing exports spans when cfg names an endpoint, as the service
// "rps-<binary>" unless cfg names it.
func startTracing(ctx context.Context, cfg configs.TracingConfig, build observability.BuildInfo, log *slog.Logger) (observability.Tracing, error) {
	name := cfg.ServiceName
	if name == "" {
		name = "rps-" + build.Binary
	}
	tr, err := observability.NewTracing(ctx, observability.TracingConfig{
		Endpoint: cfg.Endpoint, SampleRatio: cfg.SampleRatio, ServiceName: name, ServiceVersion: build.Version,
	})
	if err != nil {
		return tr, err
	}
	if tr.On() {
		log.Info("tracing on: spans exported over OTLP/HTTP", "service", name, "sample_ratio", cfg.SampleRatio)
	}
	return tr, nil
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
