// Package startup is how both binaries begin, written once: the config, the
// logger, the profiler when asked for, and the process's metrics registry.
// It is internal to cmd: only the binaries start processes.
package startup

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Process is what a binary has once started: its config, its logger and
// its metrics registry. Close stops what Begin started (the profiler).
type Process struct {
	Config   configs.Config
	Log      *slog.Logger
	Registry *prometheus.Registry
	close    func()
}

// Begin loads the config of the binary build names from args and environ,
// logs to logOut, logs its version and the (redacted) config once, registers
// the rps_build_info gauge and serves the profiler if the config asks for it.
func Begin(ctx context.Context, build observability.BuildInfo, args, environ []string, logOut io.Writer) (*Process, error) {
	cfg, err := configs.FromArgs(build.Binary, args, environ)
	if err != nil {
		return nil, err
	}
	log, err := observability.NewLogger(logOut, observability.LogConfig{Level: cfg.Log.Level, Format: cfg.Log.Format})
	if err != nil {
		return nil, fmt.Errorf("logger: %w", err)
	}
	log.Info("starting "+build.Binary, "version", build.Version, "config", cfg)
	p := &Process{Config: cfg, Log: log, Registry: observability.NewRegistry(), close: func() {}}
	if err := observability.RegisterBuildInfo(p.Registry, build); err != nil {
		return nil, err
	}
	if cfg.Debug.PProfAddr != "" {
		_, stopPProf, err := observability.ServePProf(ctx, cfg.Debug.PProfAddr, log)
		if err != nil {
			return nil, err
		}
		p.close = stopPProf
	}
	return p, nil
}

// Close stops the profiler, if it runs.
func (p *Process) Close() { p.close() }
