package serverapp

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/workerwatch"
	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/adapters/traced"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

// serverPorts are the adapters behind the use case, chosen by config, and how
// to close the ones opened here: the last opened first (startup.Closers), so
// the broker, opened after the stores, closes first (it may still deliver
// replies), and the Redis client last.
type serverPorts struct {
	// failed delivers the error of a port that gave up for good (the Kafka
	// broker turned away at start); nil when no port can.
	failed  <-chan error
	gate    ports.ConcurrencyGate
	broker  ports.TaskBroker
	idem    ports.IdempotencyStore
	closers startup.Closers
	// tracing is handed to the broker and the API; when it is on, the gate
	// is wrapped in spans (adapters/traced).
	tracing observability.Tracing
	// share is fair.*'s policy, made once: the gates enforce it, the API
	// names its classes.
	share domain.SharePolicy
}

// traceGate wraps g in client spans when tracing is on; off, g runs bare.
func (p *serverPorts) traceGate(g ports.ConcurrencyGate, store string) ports.ConcurrencyGate {
	if !p.tracing.On() {
		return g
	}
	return traced.Gate(g, p.tracing, store)
}

// openBroker opens the broker cfg names: Kafka when a bootstrap is set, else
// an in-process broker running handlers itself.
func (p *serverPorts) openBroker(cfg configs.Config, handlers []app.TaskHandler, log *slog.Logger, reg prometheus.Registerer) error {
	if !cfg.UsesKafka() {
		tasks, err := app.NewProcessTask(handlers...)
		if err != nil {
			return err
		}
		var proc ports.TaskProcessor = tasks
		if p.tracing.On() {
			proc = traced.Processor(tasks, p.tracing)
		}
		b, err := membroker.New(proc, cfg.Worker.Concurrency)
		if err != nil {
			return fmt.Errorf("in-process broker: %w", err)
		}
		log.Info("broker: in process", "worker_concurrency", cfg.Worker.Concurrency)
		p.broker = b
		p.closers.AddFunc(b.Close)
		return nil
	}
	b, err := requester.New(requester.Config{
		Bootstrap:       cfg.Kafka.Bootstrap,
		TasksTopic:      cfg.Kafka.TasksTopic,
		ResultsTopic:    cfg.Kafka.ResultsTopic,
		SharedReplies:   cfg.SharedReplies(),
		TasksPartitions: cfg.Kafka.TasksPartitions,
		ReplyTimeout:    cfg.Task.ReplyTimeout,
		Heartbeat:       cfg.Kafka.ReplyTopicHeartbeat,
		Grace:           cfg.Kafka.ReplyTopicGrace,
		Workers:         workerwatch.Settings{Groups: cfg.WatchedWorkerGroups(), RebalanceGrace: cfg.Worker.RebalanceGrace},
		Settings:        cfg.Kafka.Settings,
		Logger:          log,
		Registerer:      reg,
		Tracing:         p.tracing,
	})
	if err != nil {
		return fmt.Errorf("kafka broker: %w", err)
	}
	log.Info("broker: kafka (connecting; /readyz turns 200 once replies can be received)",
		"bootstrap", cfg.Kafka.Bootstrap, "tasks_topic", cfg.Kafka.TasksTopic, "reply_mode", cfg.Kafka.ReplyMode)
	if cfg.SharedReplies() {
		log.Warn("kafka.reply_mode is shared: this instance also reads every reply on the shared results topic (for a migration from the Python original; switch back to own once its workers are gone)",
			"results_topic", cfg.Kafka.ResultsTopic)
	}
	p.failed = b.Failed()
	p.broker = b
	p.closers.Add(b.Close)
	return nil
}

// close closes what p opened, the last opened first.
func (p *serverPorts) close(log *slog.Logger) { p.closers.Close(log) }
