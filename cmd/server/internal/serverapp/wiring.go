package serverapp

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/workerwatch"
	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
	"github.com/1000x-rps-server/rps-server/adapters/traced"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/cmd/internal/startup"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

// closeTimeout bounds how long closing one port may take at shutdown.
const closeTimeout = 10 * time.Second

// serverPorts are the adapters behind the use case, chosen by config, and how
// to close the ones opened here, in order (broker first: it may still deliver
// replies), then the Redis client they share.
type serverPorts struct {
	// failed delivers the error of a port that gave up for good (the Kafka
	// broker turned away at start); nil when no port can.
	failed  <-chan error
	gate    ports.ConcurrencyGate
	broker  ports.TaskBroker
	idem    ports.IdempotencyStore
	closers []func(context.Context) error
	// redis is the process's one Redis client, shared by the Redis
	// adapters; nil without Redis. It is closed after them.
	redis rueidis.Client
	// tracing is handed to the broker and the API; when it is on, the gate
	// is wrapped in spans (adapters/traced).
	tracing observability.Tracing
}

// openGate opens the gate cfg names: Redis (on p's client) when a URL is
// set, else memory.
func (p *serverPorts) openGate(ctx context.Context, cfg configs.Config, log *slog.Logger, reg prometheus.Registerer) error {
	if !cfg.UsesRedis() {
		g, err := memgate.New(cfg.Gate.Capacity)
		if err != nil {
			return fmt.Errorf("memory gate: %w", err)
		}
		if cfg.UsesKafka() {
			log.Warn("gate is in memory: the capacity applies per instance, not cluster-wide; set REDIS_URL to share it")
		}
		log.Info("gate: in memory", "capacity", cfg.Gate.Capacity)
		p.gate = p.traceGate(g, "memory")
		return nil
	}
	gc := redisgate.Config{
		Key:            cfg.Gate.Key,
		Capacity:       cfg.Gate.Capacity,
		Lease:          cfg.GateLease(),
		FailOpen:       cfg.Gate.FailOpen,
		CommandTimeout: cfg.Redis.CommandTimeout,
		Logger:         log,
		Registerer:     reg,
	}
	// The mode is chosen here, once: blocks of gate.block_size, or one Redis
	// call per acquire and per release when it is 1.
	var g interface {
		ports.ConcurrencyGate
		Close()
	}
	var err error
	if cfg.Gate.BlockSize > 1 {
		g, err = redisgate.NewBlockGate(ctx, p.redis, redisgate.BlockConfig{Config: gc, Size: cfg.Gate.BlockSize, Idle: cfg.Gate.BlockIdle})
	} else {
		g, err = redisgate.NewPerRequestGate(ctx, p.redis, gc)
	}
	if err != nil {
		return fmt.Errorf("redis gate: %w", err)
	}
	p.gate = p.traceGate(g, "redis")
	p.closers = append(p.closers, func(context.Context) error { g.Close(); return nil })
	return nil
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
		p.closers = append(p.closers, func(context.Context) error { b.Close(); return nil })
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
	p.closers = append(p.closers, b.Close)
	return nil
}

// openRedis builds the Redis client the Redis adapters share, when cfg
// names a Redis.
func (p *serverPorts) openRedis(ctx context.Context, cfg configs.Config, log *slog.Logger) error {
	if !cfg.UsesRedis() {
		return nil
	}
	client, err := startup.OpenRedis(ctx, cfg.Redis, "server", log)
	if err != nil {
		return err
	}
	p.redis = client
	return nil
}

// close closes the ports in the order they were opened (broker, then gate),
// then the Redis client they used.
func (p *serverPorts) close(log *slog.Logger) {
	for _, c := range p.closers {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		if err := c(ctx); err != nil {
			log.Warn("close port", "err", err)
		}
		cancel()
	}
	if p.redis != nil {
		p.redis.Close()
	}
}
