// Package configs holds the one typed configuration of both binaries and its
// loader: built-in defaults, then a YAML file, then a .env file, then the
// environment. Adapters never read the environment; cmd hands them this.
package configs

import (
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Config is the whole configuration. YAML keys and RPS_ variables follow the
// koanf tags: gate.capacity is RPS_GATE__CAPACITY.
type Config struct {
	HTTP   HTTPConfig   `koanf:"http"`
	Gate   GateConfig   `koanf:"gate"`
	Redis  RedisConfig  `koanf:"redis"`
	Kafka  KafkaConfig  `koanf:"kafka"`
	Worker WorkerConfig `koanf:"worker"`
	Log    LogConfig    `koanf:"log"`
}

// HTTPConfig is the server's listener and its timeouts.
type HTTPConfig struct {
	Host              string        `koanf:"host"`
	Port              int           `koanf:"port"` // 0 picks a free port (tests)
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	ReadTimeout       time.Duration `koanf:"read_timeout"`
	WriteTimeout      time.Duration `koanf:"write_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	// RequestTimeout is each request's deadline; it must exceed the reply
	// timeout so a slow reply becomes a 504, not a dropped connection.
	RequestTimeout time.Duration `koanf:"request_timeout"`
	BodyLimit      int64         `koanf:"body_limit"` // bytes of a POST /queue body
	ShutdownGrace  time.Duration `koanf:"shutdown_grace"`
	RetryAfter     time.Duration `koanf:"retry_after"` // sent with 429 and 503
}

// Addr is the listen address, host:port.
func (c HTTPConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// GateConfig is the concurrency gate.
type GateConfig struct {
	Capacity int `koanf:"capacity"` // max requests in flight, cluster-wide
	// FailOpen admits requests when Redis cannot be asked; the default
	// (false) refuses them with 503, so an outage never overloads workers.
	FailOpen bool `koanf:"fail_open"`
	// Key is the Redis key of the gate; the {hash tag} keeps it on one Redis
	// Cluster slot. Instances that share a gate must share the key.
	Key string `koanf:"key"`
	// LeaseMargin is added to the reply timeout to make a slot's lease: a
	// crashed holder's slot is freed after that long.
	LeaseMargin    time.Duration `koanf:"lease_margin"`
	ReleaseTimeout time.Duration `koanf:"release_timeout"`
}

// RedisConfig is the Redis connection. An empty URL means no Redis: the gate
// runs in memory. (The original defaulted to redis://localhost:6379/0; we
// default to the embedded mode so a first run needs nothing installed.)
type RedisConfig struct {
	URL string `koanf:"url"`
	// MaxFlushDelay lets rueidis gather concurrent commands into one write;
	// a few microseconds raise throughput under load.
	MaxFlushDelay  time.Duration `koanf:"max_flush_delay"`
	DialTimeout    time.Duration `koanf:"dial_timeout"`
	CommandTimeout time.Duration `koanf:"command_timeout"`
}

// KafkaConfig is the Kafka connection and topics. An empty Bootstrap means no
// Kafka: the server runs its worker in process.
type KafkaConfig struct {
	Bootstrap         string        `koanf:"bootstrap"`
	TasksTopic        string        `koanf:"tasks_topic"`
	ResultsTopic      string        `koanf:"results_topic"`
	ReplyTimeout      time.Duration `koanf:"reply_timeout"`
	TasksPartitions   int           `koanf:"tasks_partitions"`
	ResultsPartitions int           `koanf:"results_partitions"`
	// Settings are raw librdkafka properties (e.g. "linger.ms"), applied over
	// the adapter's tuned defaults.
	Settings map[string]string `koanf:"settings"`
}

// WorkerConfig is the worker process.
type WorkerConfig struct {
	Concurrency int    `koanf:"concurrency"` // tasks run at once per worker
	Group       string `koanf:"group"`       // Kafka consumer group of the workers
	// MetricsAddr serves the worker's /metrics and /readyz; empty turns it off.
	MetricsAddr string `koanf:"metrics_addr"`
}

// LogConfig selects the log level and format (auto, text or json).
type LogConfig struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// UsesRedis reports whether the gate is shared through Redis.
func (c Config) UsesRedis() bool { return c.Redis.URL != "" }

// UsesKafka reports whether tasks go through Kafka to separate workers.
func (c Config) UsesKafka() bool { return c.Kafka.Bootstrap != "" }

// LogValue logs the effective config with secrets masked.
func (c Config) LogValue() slog.Value {
	redisURL := c.Redis.URL
	if u, err := url.Parse(redisURL); err == nil && u.User != nil {
		redisURL = u.Redacted()
	}
	return slog.GroupValue(
		slog.String("http.addr", c.HTTP.Addr()),
		slog.Int("gate.capacity", c.Gate.Capacity),
		slog.Bool("gate.fail_open", c.Gate.FailOpen),
		slog.String("gate.key", c.Gate.Key),
		slog.String("redis.url", redisURL),
		slog.String("kafka.bootstrap", c.Kafka.Bootstrap),
		slog.String("kafka.tasks_topic", c.Kafka.TasksTopic),
		slog.String("kafka.results_topic", c.Kafka.ResultsTopic),
		slog.String("kafka.reply_timeout", c.Kafka.ReplyTimeout.String()),
		slog.Int("worker.concurrency", c.Worker.Concurrency),
		slog.String("log.level", c.Log.Level),
	)
}

// defaults are the built-in values; every key a user may set appears here.
func defaults() map[string]any {
	return map[string]any{
		"http.host":                "0.0.0.0",
		"http.port":                8000,
		"http.read_header_timeout": "5s",
		"http.read_timeout":        "10s",
		"http.write_timeout":       "30s",
		"http.idle_timeout":        "120s",
		"http.request_timeout":     "15s",
		"http.body_limit":          4096,
		"http.shutdown_grace":      "20s",
		"http.retry_after":         "1s",
		"gate.capacity":            100,
		"gate.fail_open":           false,
		"gate.key":                 "{rps}:gate",
		"gate.lease_margin":        "5s",
		"gate.release_timeout":     "2s",
		"redis.url":                "",
		"redis.max_flush_delay":    "0s",
		"redis.dial_timeout":       "2s",
		"redis.command_timeout":    "2s",
		"kafka.bootstrap":          "",
		"kafka.tasks_topic":        "tasks",
		"kafka.results_topic":      "results",
		"kafka.reply_timeout":      "10s",
		"kafka.tasks_partitions":   6,
		"kafka.results_partitions": 1,
		"kafka.settings":           map[string]any{},
		"worker.concurrency":       1000,
		"worker.group":             "gift-service-workers",
		"worker.metrics_addr":      "",
		"log.level":                "info",
		"log.format":               "auto",
	}
}
