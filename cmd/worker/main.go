// Command worker consumes tasks from Kafka, runs them through the
// ProcessTask use case and replies to the server instance that asked.
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/worker"
	"github.com/1000x-rps-server/rps-server/adapters/redisledger"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		stop()
		os.Exit(1) //nolint:gocritic // stop() ran above; nothing else is deferred
	}
}

// run consumes tasks until ctx is cancelled, then drains: in-flight tasks
// finish, their replies are flushed and their offsets committed.
func run(ctx context.Context, args, environ []string, logOut io.Writer) error {
	cfg, err := configs.FromArgs("worker", args, environ)
	if err != nil {
		return err
	}
	log, err := observability.NewLogger(logOut, observability.LogConfig{Level: cfg.Log.Level, Format: cfg.Log.Format})
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	if !cfg.UsesKafka() {
		return errors.New("no Kafka configured: set KAFKA_BOOTSTRAP_SERVERS (the embedded server runs its worker in process)")
	}
	log.Info("starting worker", "config", cfg)
	if cfg.Debug.PProfAddr != "" {
		_, stopPProf, err := observability.ServePProf(ctx, cfg.Debug.PProfAddr, log)
		if err != nil {
			return err
		}
		defer stopPProf()
	}

	reg := observability.NewRegistry()

	tasks, err := app.NewProcessTask(app.DefaultHandlers(rand.Reader)...)
	if err != nil {
		return err
	}
	log.Info("task kinds", "kinds", tasks.Kinds())
	proc, closeLedger, err := exactlyOnce(cfg, tasks, log)
	if err != nil {
		return err
	}
	defer closeLedger()
	runner, err := worker.New(ctx, worker.Config{
		Bootstrap:       cfg.Kafka.Bootstrap,
		TasksTopic:      cfg.Kafka.TasksTopic,
		TasksPartitions: cfg.Kafka.TasksPartitions,
		Group:           cfg.Worker.Group,
		Concurrency:     cfg.Worker.Concurrency,
		DrainTimeout:    cfg.Worker.DrainTimeout,
		ReplyTimeout:    cfg.Kafka.ReplyTimeout,
		Settings:        cfg.Kafka.Settings,
		Logger:          log,
		Registerer:      reg,
	}, proc)
	if err != nil {
		return fmt.Errorf("kafka worker: %w", err)
	}

	if cfg.Worker.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(ctx, cfg.Worker.MetricsAddr, reg, runner)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	return runner.Run(ctx)
}

// exactlyOnce wraps the tasks in the Redis issuance ledger, so a task Kafka
// redelivers answers with the code it issued first. Without Redis the worker
// still runs, at-least-once, and says so.
func exactlyOnce(cfg configs.Config, tasks ports.TaskProcessor, log *slog.Logger) (ports.TaskProcessor, func(), error) {
	if !cfg.UsesRedis() {
		log.Warn("no REDIS_URL: issuance is at-least-once; a task redelivered after a crash or rebalance issues a second code")
		return tasks, func() {}, nil
	}
	ledger, err := redisledger.New(redisledger.Config{
		URL: cfg.Redis.URL, Prefix: cfg.Worker.LedgerPrefix, TTL: cfg.Worker.LedgerTTL,
		DialTimeout: cfg.Redis.DialTimeout, CommandTimeout: cfg.Redis.CommandTimeout, MaxFlushDelay: cfg.Redis.MaxFlushDelay,
	})
	if err != nil {
		return nil, nil, err
	}
	proc, err := app.NewExactlyOnce(tasks, ledger)
	if err != nil {
		ledger.Close()
		return nil, nil, err
	}
	log.Info("issuance: exactly-once per task (redis ledger)", "ttl", cfg.Worker.LedgerTTL.String(), "prefix", cfg.Worker.LedgerPrefix)
	return proc, ledger.Close, nil
}

// serveMetrics exposes /metrics and /readyz for the worker on addr.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, runner *worker.Runner) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := runner.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}, nil
}
