package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisledger"
	"github.com/1000x-rps-server/rps-server/adapters/traced"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
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
	// Both are read through started and ledger, set as they open: the
	// admin listener answers from the start, while the worker waits for
	// Redis.
	readiness observability.Readiness
	started   atomic.Pointer[taskworker.Runner]
	ledger    atomic.Pointer[redisledger.Ledger]
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
	if err := w.serveAdmin(ctx, cfg, log, reg); err != nil {
		return err
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
	w.started.Store(w.consumer)
	return nil
}

// serveAdmin starts the admin listener and the readiness gauge, before
// anything that may wait: a worker waiting for Redis answers /healthz (it
// is alive) and /readyz (503, starting).
func (w *workerApp) serveAdmin(ctx context.Context, cfg configs.Config, log *slog.Logger, reg *prometheus.Registry) error {
	w.readiness.Own = w.ready
	if cfg.UsesRedis() {
		w.readiness.Dependencies = append(w.readiness.Dependencies, observability.Dependency{Name: "redis", Check: w.ledgerReady})
	}
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
	client, err := reachRedis(ctx, cfg.Redis, log)
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
	w.ledger.Store(ledger)
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

// errStarting is the worker's readiness before its consumer exists (it
// may be waiting for Redis).
var errStarting = errors.New("starting")

// ready is the worker's own readiness: joined its consumer group.
func (w *workerApp) ready(ctx context.Context) error {
	c := w.started.Load()
	if c == nil {
		return errStarting
	}
	return c.Ready(ctx)
}

// ledgerReady is the ledger's Redis as a shared dependency: down until it
// was reached.
func (w *workerApp) ledgerReady(ctx context.Context) error {
	l := w.ledger.Load()
	if l == nil {
		return startup.ErrRedisNotReached
	}
	return l.Ready(ctx)
}

// reachRedis opens the worker's Redis client, waiting for a Redis that
// does not answer yet (a cluster starting in any order) instead of exiting
// into a crash loop: the worker joins its group only once it can issue
// codes exactly once, so the other workers take the tasks meanwhile. A
// Redis that answers but refuses the client (a password, a certificate)
// is a setting to fix, and stops the start, as does ctx ending.
func reachRedis(ctx context.Context, cfg configs.RedisConfig, log *slog.Logger) (rueidis.Client, error) {
	start, wait := time.Now(), startup.FirstRedisReach
	client, err := startup.OpenRedis(ctx, cfg, "worker", log)
	if err == nil || !errors.Is(err, domain.ErrUnavailable) {
		return client, err
	}
	log.Warn("redis unreachable at start: waiting for it before consuming; /readyz answers 503 meanwhile", "err", err)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redis unreachable since the start (%s): %w", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		case <-timer.C:
		}
		client, err = startup.OpenRedis(ctx, cfg, "worker", log)
		switch {
		case err == nil:
			log.Warn("redis reached: consuming", "after", time.Since(start).Round(time.Millisecond))
			return client, nil
		case !errors.Is(err, domain.ErrUnavailable):
			return nil, err
		}
		log.Debug("redis still unreachable", "err", err)
		wait = min(2*wait, startup.MaxRedisReach)
		timer.Reset(wait)
	}
}

// run consumes until ctx is done, then drains (see taskworker.Runner.Run).
func (w *workerApp) run(ctx context.Context) error { return w.consumer.Run(ctx) }

// close closes what open opened, last first.
func (w *workerApp) close() { w.closers.Close(w.log) }
