// Command server is the HTTP front of the service: it admits POST /queue
// through the concurrency gate and waits for a worker's reply. With no Redis
// and no Kafka configured it runs embedded: in-memory gate, in-process worker.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		stop()
		os.Exit(1) //nolint:gocritic // stop() ran above; nothing else is deferred
	}
}

// run starts the server and blocks until ctx is cancelled (a signal) or the
// listener fails, then shuts down in order. When ready is not nil it receives
// the listening address once the server accepts connections.
func run(ctx context.Context, args, environ []string, logOut io.Writer, ready chan<- string) error {
	cfg, err := configs.FromArgs("server", args, environ)
	if err != nil {
		return err
	}
	log, err := observability.NewLogger(logOut, observability.LogConfig{Level: cfg.Log.Level, Format: cfg.Log.Format})
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	log.Info("starting server", "config", cfg)
	if cfg.Debug.PProfAddr != "" {
		_, stopPProf, err := observability.ServePProf(ctx, cfg.Debug.PProfAddr, log)
		if err != nil {
			return err
		}
		defer stopPProf()
	}

	reg := observability.NewRegistry()

	handlers := app.DefaultHandlers(rand.Reader)
	ports, err := newPorts(ctx, cfg, handlers, log, reg)
	if err != nil {
		return err
	}
	defer ports.close(log)

	submit, err := app.NewSubmitTask(ports.gate, ports.broker, app.SubmitTaskConfig{
		Kinds:          app.KindsOf(handlers),
		ReplyTimeout:   cfg.Kafka.ReplyTimeout,
		ReleaseTimeout: cfg.Gate.ReleaseTimeout,
		NewID:          uuid.NewString,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	// A key's run must not outlive its lease, or a retry could run beside it.
	once, err := app.NewSubmitOnce(submit, ports.idem, app.SubmitOnceConfig{
		Lease: cfg.HTTP.RequestTimeout + cfg.Gate.ReleaseTimeout, StoreTimeout: cfg.Redis.CommandTimeout,
	})
	if err != nil {
		return err
	}
	proxies, err := trustedProxies(cfg.HTTP.TrustedProxies)
	if err != nil {
		return err
	}
	api, err := httpapi.New(once, httpapi.Config{
		TrustedProxies: proxies,
		BodyLimit:      cfg.HTTP.BodyLimit,
		RequestTimeout: cfg.HTTP.RequestTimeout,
		RetryAfter:     cfg.HTTP.RetryAfter,
		Logger:         log,
		Registerer:     reg,
		Gatherer:       reg,
	})
	if err != nil {
		return err
	}
	return serve(ctx, cfg.HTTP, api, log, ready)
}

// serve runs the HTTP server until ctx is done, then drains it: /readyz turns
// 503 at once, in-flight requests get up to the shutdown grace to finish (and
// release their slots), and only then are the ports closed by run.
func serve(ctx context.Context, cfg configs.HTTPConfig, api *httpapi.API, log *slog.Logger, ready chan<- string) error {
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
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
	case <-ctx.Done():
	}

	log.Info("shutting down", "grace", cfg.ShutdownGrace.String())
	api.Drain()
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
