package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisledger"
	"github.com/1000x-rps-server/rps-server/adapters/traced"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

// workerApp is the worker's application: the Kafka consumer over the tasks
// (wrapped in the issuance ledger when Redis is configured), its admin
// listener, and how to close them.
type workerApp struct {
	consumer *taskworker.Runner
	// readiness is what /readyz and rps_ready check: joining the group is
	// the worker's own; the ledger's Redis, when there is one, is shared.
	readiness observability.Readiness
	closers   startup.Closers
	log       *slog.Logger
	// tracing is handed to the consumer; when it is on, the handlers and
	// the ledger are wrapped in spans (adapters/traced).
	tracing observability.Tracing
	// pprofOnAdmin serves the profiler on the admin listener (startup.Process).
	pprofOnAdmin bool
}

// newWorker opens the ledger, the Kafka worker and the admin listener that
// proc's config names. On error it closes what it opened.
func newWorker(ctx context.Context, proc *startup.Process) (*workerApp, error) {
	w := &workerApp{tracing: proc.Tracing, log: proc.Log, pprofOnAdmin: proc.PProfOnAdmin}
	if err := w.open(ctx, proc.Config, proc.Log, proc.Registry); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *workerApp) open(ctx context.Context, cfg configs.Config, log *slog.Logger, reg *prometheus.Registry) error {
	tasks, err := app.NewProcessTask(app.DefaultHandlers(rand.Reader)...)
	if err != nil {
		return err
	}
	log.Info("task kinds", "kinds", tasks.Kinds())
	var handlers ports.TaskProcessor = tasks
	if w.tracing.On() {
		handlers = traced.Processor(tasks, w.tracing)
	}
	proc, err := w.exactlyOnce(ctx, cfg, handlers, log, reg)
	if err != nil {
		return err
	}
	w.consumer, err = taskworker.New(ctx, taskworker.Config{
		Bootstrap:       cfg.Kafka.Bootstrap,
		TasksTopic:      cfg.Kafka.TasksTopic,
		TasksPartitions: cfg.Kafka.TasksPartitions,
		ResultsTopic:    cfg.Kafka.ResultsTopic,
		Group:           cfg.Worker.Group,
		Concurrency:     cfg.Worker.Concurrency,
		DrainTimeout:    cfg.Worker.DrainTimeout,
		ReplyTimeout:    cfg.Task.ReplyTimeout,
		Settings:        cfg.Kafka.Settings,
		Logger:          log,
		Registerer:      reg,
		Tracing:         w.tracing,
		DeadLetterTopic: cfg.Worker.DeadLetterTopic,
		MaxTaskAge:      cfg.MaxTaskAge(),
		Kinds:           tasks.Kinds(),
	}, proc)
	if err != nil {
		return fmt.Errorf("kafka worker: %w", err)
	}
	w.readiness.Own = w.consumer.Ready
	if err := observability.RegisterReadiness(reg, w.readiness.Check); err != nil {
		return err
	}
	if cfg.Worker.AdminAddr == "" {
		log.Warn("worker.admin_addr is empty: no /healthz, /readyz or /metrics to probe or scrape")
		return nil
	}
	bound, stopAdmin, err := observability.ServeAdmin(ctx, cfg.Worker.AdminAddr, adminHandler(reg, w.readiness, w.pprofOnAdmin))
	if err != nil {
		return fmt.Errorf("worker.admin_addr: %w", err)
	}
	log.Info("admin listening: /healthz, /readyz, /metrics", "addr", bound)
	w.closers.AddFunc(stopAdmin)
	return nil
}

// exactlyOnce wraps the tasks in the Redis issuance ledger, so a task Kafka
// redelivers answers with the code it issued first. Without Redis the worker
// still runs, at-least-once, and says so. The ledger runs on the worker's
// one Redis client, closed after it.
func (w *workerApp) exactlyOnce(ctx context.Context, cfg configs.Config, tasks ports.TaskProcessor, log *slog.Logger, reg prometheus.Registerer) (ports.TaskProcessor, error) {
	if !cfg.UsesRedis() {
		log.Warn("no REDIS_URL: issuance is at-least-once; a task redelivered after a crash or rebalance issues a second code")
		return tasks, nil
	}
	client, err := startup.OpenRedis(ctx, cfg.Redis, "worker", log)
	if err != nil {
		return nil, err
	}
	w.closers.AddFunc(client.Close)
	ledger, err := redisledger.New(client, redisledger.Config{
		Prefix: cfg.Worker.LedgerPrefix, TTL: cfg.Worker.LedgerTTL, Window: cfg.LedgerRecordWindow(),
		CommandTimeout: cfg.Redis.CommandTimeout,
		Registerer:     reg,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	w.closers.AddFunc(ledger.Close)
	w.readiness.Dependencies = append(w.readiness.Dependencies, observability.Dependency{Name: "redis", Check: ledger.Ready})
	var record ports.IssuanceLedger = ledger
	if w.tracing.On() {
		record = traced.Ledger(ledger, w.tracing, "redis")
	}
	proc, err := app.NewExactlyOnce(tasks, record)
	if err != nil {
		return nil, err
	}
	log.Info("issuance: exactly-once per task (redis ledger)", "ttl", cfg.Worker.LedgerTTL.String(),
		"window", cfg.LedgerRecordWindow().String(), "max_task_age", cfg.MaxTaskAge().String(), "prefix", cfg.Worker.LedgerPrefix)
	return proc, nil
}

// run consumes until ctx is done, then drains (see taskworker.Runner.Run).
func (w *workerApp) run(ctx context.Context) error { return w.consumer.Run(ctx) }

// close closes what open opened, last first.
func (w *workerApp) close() { w.closers.Close(w.log) }
