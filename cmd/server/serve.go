package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/configs"
)

// shutdownDelayKey is the pre-stop delay's key.
const shutdownDelayKey = "http.shutdown_delay"

// preStopDelay is how long the server stays up unready after SIGTERM:
// http.shutdown_delay, except in the embedded mode when no layer set it.
// The delay is for load balancers, which an embedded server (one process on
// a laptop, nothing shared) has none of: Ctrl-C exits at once. Set, even to
// its default, the delay holds in every mode.
func preStopDelay(cfg configs.Config, origins configs.Origins) time.Duration {
	if cfg.Embedded() && !origins.Set(shutdownDelayKey) {
		return 0
	}
	return cfg.HTTP.ShutdownDelay
}

// serve runs the HTTP server until ctx is done, then stops in two steps.
// Pre-stop: /readyz turns 503 at once while requests are still served for the
// shutdown delay, so load balancers take the instance out before its listener
// closes (closing at once meant refused connections, never a 503). Drain: the
// listener closes and in-flight requests get up to the shutdown grace to
// finish (and release their slots); only then are the ports closed by run.
// An error from failed (a port that gave up for good at start: the server
// was never ready) stops it at once and is returned.
func serve(ctx context.Context, cfg configs.HTTPConfig, api *httpapi.API, log *slog.Logger, ready chan<- string, failed <-chan error) error {
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes, // more gets 431 from net/http itself
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// A client that ignores a 429's Retry-After has its connection's next
	// request read only after it; Shutdown ends the holds, the deferred stop
	// those of any other exit.
	defer api.Pace(srv)()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case err := <-failed:
		_ = srv.Close() // never ready: no request to drain
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve: %w", serr))
		}
		return err
	case <-ctx.Done():
	}

	api.Drain()
	if cfg.ShutdownDelay > 0 {
		log.Info("shutting down: unready, still serving", "delay", cfg.ShutdownDelay.String())
		select {
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		case <-time.After(cfg.ShutdownDelay):
		}
	}
	log.Info("shutting down: draining", "grace", cfg.ShutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown after %s: %w", time.Since(start).Round(time.Millisecond), err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("drained", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}
