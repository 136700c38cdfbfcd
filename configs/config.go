// Package configs holds the one typed configuration of both binaries
// (cmd/server and cmd/worker) and its loader.
//
// Layers, lowest precedence first: the built-in defaults (Default), a YAML
// file, a .env file, the environment. Every key has a variable of the
// project's own, RPS_ + the key's path in upper case with __ between levels
// (gate.capacity is RPS_GATE__CAPACITY), and the Python original's names
// (REDIS_URL, RATE_LIMIT_CAPACITY, …) keep working, as do a key's aliases
// (schema.go) in YAML and RPS_ form. Within one layer an RPS_ variable beats
// the original's name for the same key, and a key's own name its alias;
// across layers the higher layer wins whichever name it uses. A secret's RPS_
// variable + _FILE names a file holding it (secrets.go). Adapters never read the
// environment: cmd loads this once and hands each adapter its settings.
package configs

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration. YAML keys and RPS_ variables follow the
// koanf tags: gate.capacity is RPS_GATE__CAPACITY.
type Config struct {
	HTTP    HTTPConfig    `koanf:"http"`
	Task    TaskConfig    `koanf:"task"`
	Gate    GateConfig    `koanf:"gate"`
	Redis   RedisConfig   `koanf:"redis"`
	Kafka   KafkaConfig   `koanf:"kafka"`
	Worker  WorkerConfig  `koanf:"worker"`
	Log     LogConfig     `koanf:"log"`
	Debug   DebugConfig   `koanf:"debug"`
	Tracing TracingConfig `koanf:"tracing"`

	Idempotency IdempotencyConfig `koanf:"idempotency"`
	Fair        FairConfig        `koanf:"fair"`
}

// HTTPConfig is the server's listener and its timeouts.
type HTTPConfig struct {
	Host              string        `koanf:"host"`
	Port              int           `koanf:"port"` // 0 picks a free port (tests)
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	ReadTimeout       time.Duration `koanf:"read_timeout"`
	WriteTimeout      time.Duration `koanf:"write_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	// RequestTimeout is each request's deadline; it must exceed
	// task.reply_timeout so a slow reply becomes a 504, not a dropped
	// connection.
	RequestTimeout time.Duration `koanf:"request_timeout"`
	BodyLimit      int64         `koanf:"body_limit"` // bytes of a POST /queue body
	// MaxHeaderBytes bounds a request's line and headers; more is a 431. Go's
	// own default (1 MiB) let 300 connections take 500 MB.
	MaxHeaderBytes int `koanf:"max_header_bytes"`
	// ShutdownDelay is the pre-stop time after SIGTERM: /readyz answers 503
	// while requests are still served, so a load balancer stops sending
	// traffic before the listener closes. 0 drains at once (tests). The
	// embedded server, which no load balancer fronts, skips it unless set.
	ShutdownDelay time.Duration `koanf:"shutdown_delay" min:"0"`
	ShutdownGrace time.Duration `koanf:"shutdown_grace"` // drain time after the delay
	RetryAfter    time.Duration `koanf:"retry_after"`    // sent with 429, 409 and 503
	// RefusalPause bounds how long a keep-alive connection that ignores
	// Retry-After (refused again before the last 429's had passed) waits
	// before its next request is read: the new Retry-After, at most this. A
	// client that honours Retry-After never notices; a flood that ignores it
	// cannot make refusals the server's main work. Requests through a proxy
	// (forwarding headers, or a peer in TrustedProxies) are never held. 0
	// reads at once.
	RefusalPause time.Duration `koanf:"refusal_pause" min:"0"`
	// TrustedProxies are the comma-separated CIDRs (or IPs) of the proxies
	// whose X-Forwarded-For is believed for the client's address; empty (the
	// default) believes no forwarded header and takes the peer's address.
	TrustedProxies string `koanf:"trusted_proxies"`
	// AdminAddr moves GET /metrics off the API's port to a listener of its
	// own (host:port), so the public port serves the API only; empty (the
	// default) serves /metrics beside the API.
	AdminAddr string `koanf:"admin_addr"`
}

// Addr is the listen address, host:port.
func (c HTTPConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// TaskConfig is how a task is waited for, whichever broker carries it (Kafka
// or the in-process one).
type TaskConfig struct {
	// ReplyTimeout is how long a request waits for its task's reply (then
	// 504). It also makes the gate's lease (GateLease) and, with Kafka, the
	// clients' delivery and session timeouts; the Kafka adapter's rules
	// (kafkabroker.Validate, run by start-up) bound it. Also read as
	// kafka.reply_timeout (an alias) and KAFKA_GIFT_CODE_TIMEOUT.
	ReplyTimeout time.Duration `koanf:"reply_timeout"`
}

// GateConfig is the concurrency gate.
type GateConfig struct {
	Capacity int `koanf:"capacity"` // max requests in flight, cluster-wide
	// FailOpen admits requests when Redis cannot be asked; the default
	// (false) refuses them with 503, so an outage never overloads workers.
	FailOpen bool `koanf:"fail_open"`
	// Key is the Redis key of the gate; the {hash tag} keeps it on one Redis
	// Cluster slot. Instances that share a gate must share the key.
	Key string `koanf:"key"`
	// LeaseMargin is added to task.reply_timeout to make a slot's lease: a
	// crashed holder's slot is freed after that long. It must exceed
	// ReleaseTimeout by 0.1 % of the lease, so that the lease outlives every
	// request holding its slot (GateHold; the gate's rules, run at start).
	LeaseMargin    time.Duration `koanf:"lease_margin"`
	ReleaseTimeout time.Duration `koanf:"release_timeout"` // bound on giving a slot back
	// BlockSize is how many slots an instance leases from Redis in one call
	// and then hands out locally, without a round trip per request; 1 is
	// the per-request mode (one acquire and one release call per request).
	// Measured in benchmarks/README.md and the redisgate tests.
	BlockSize int `koanf:"block_size"`
	// BlockIdle is how long a leased slot may sit unused on an instance
	// before it goes back to Redis for the other instances, and how often
	// an instance syncs with Redis, and how long it answers acquires with
	// Redis's last refusal without asking again (block mode only; bounded
	// by the gate's rules, run at start).
	BlockIdle time.Duration `koanf:"block_idle"`
}

// RedisConfig is the Redis connection, one client per process shared by the
// gate, the idempotency store and the ledger. An empty URL means no Redis:
// the gate runs in memory (the embedded mode). The original defaulted to
// redis://localhost:6379/0; we default to embedded on purpose, so a first run
// needs nothing installed.
type RedisConfig struct {
	// URL is redis://[user:password@]host:port[/db], or rediss://… for TLS;
	// rueidis's query parameters (addr=, master_set=, skip_verify, …) work too.
	URL string `koanf:"url" redact:"url"`
	// Username and Password are the ACL credentials; set, they replace the
	// URL's, so the password need not sit in the URL. Password alone
	// authenticates as the default user.
	Username string `koanf:"username"`
	Password string `koanf:"password" redact:"value"`
	// ClientName names this process's connections in CLIENT LIST; empty:
	// rps-server or rps-worker. A client_name= in the URL wins.
	ClientName string `koanf:"client_name"`
	// MaxFlushDelay lets rueidis gather concurrent commands into one write
	// (0 writes at once); the default's measurements: benchmarks/README.md.
	MaxFlushDelay  time.Duration `koanf:"max_flush_delay" min:"0"`
	DialTimeout    time.Duration `koanf:"dial_timeout"`
	CommandTimeout time.Duration `koanf:"command_timeout"`

	TLS      RedisTLSConfig      `koanf:"tls"`
	Sentinel RedisSentinelConfig `koanf:"sentinel"`
	Cluster  RedisClusterConfig  `koanf:"cluster"`
}

// RedisTLSConfig is how a rediss:// connection checks the server and proves
// the client; the settings need a rediss:// URL.
type RedisTLSConfig struct {
	// CAFile is a PEM file of the CAs that sign the server's certificate;
	// empty: the system's roots.
	CAFile string `koanf:"ca_file"`
	// CertFile and KeyFile are the client's certificate and key (PEM), for
	// a server that asks for one (tls-auth-clients); both or neither.
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
	// ServerName is the name the server's certificate must carry; empty: the
	// URL's host.
	ServerName string `koanf:"server_name"`
	// InsecureSkipVerify accepts any server certificate. Off by default;
	// for tests only.
	InsecureSkipVerify bool `koanf:"insecure_skip_verify"`
}

// RedisSentinelConfig points the client at Redis Sentinel: with MasterSet
// set, the URL's host (and any addr= in it) are the sentinels, which name
// the master. The data nodes get redis.username/password and redis.tls; the
// sentinels get redis.tls and the credentials below.
type RedisSentinelConfig struct {
	MasterSet string `koanf:"master_set"`
	Username  string `koanf:"username"`
	Password  string `koanf:"password" redact:"value"`
}

// RedisClusterConfig points the client at Redis Cluster.
type RedisClusterConfig struct {
	// Addrs are more seed nodes (comma-separated host:port) beside the URL's
	// host; the client learns the rest of the cluster from them. Keep the
	// gate key's {hash tag}: its keys must share a slot.
	Addrs string `koanf:"addrs"`
}

// KafkaConfig is the Kafka connection and topics. An empty Bootstrap means no
// Kafka: the server runs its worker in process (the embedded mode).
type KafkaConfig struct {
	Bootstrap    string `koanf:"bootstrap"` // comma-separated host:port list
	TasksTopic   string `koanf:"tasks_topic"`
	ResultsTopic string `koanf:"results_topic"` // prefix of each server's reply topic
	// TasksPartitions is used when the tasks topic must be created; run no
	// more workers than this.
	TasksPartitions int `koanf:"tasks_partitions"`
	// ReplyMode is where a server instance hears replies: "own" (its own
	// reply topic only) or "shared" (also the shared ResultsTopic, where the
	// Python original's workers reply; for mixed fleets during a migration).
	ReplyMode string `koanf:"reply_mode"`
	// Settings are raw librdkafka properties (e.g. "linger.ms"), applied over
	// the adapter's tuned defaults; the adapter's rules bound those it
	// derives from task.reply_timeout. Never nil after Load.
	Settings map[string]string `koanf:"settings"`
	// ReplyTopicHeartbeat is how often a server sends a probe through its
	// reply topic, the sign of life the janitors look for.
	ReplyTopicHeartbeat time.Duration `koanf:"reply_topic_heartbeat"`
	// ReplyTopicGrace is how long a reply topic may go without a record
	// before the janitor of a live server deletes it (its instance is
	// gone); at least three heartbeats. Same on every server.
	ReplyTopicGrace time.Duration `koanf:"reply_topic_grace"`
}

// WorkerConfig is the worker process.
type WorkerConfig struct {
	Concurrency int    `koanf:"concurrency"` // tasks run at once per worker
	Group       string `koanf:"group"`       // Kafka consumer group of the workers
	// AdminAddr serves the worker's /healthz, /readyz and /metrics (it has
	// no other port); empty turns it off. Also read as worker.metrics_addr
	// (an alias).
	AdminAddr string `koanf:"admin_addr"`
	// DrainTimeout bounds the drain after SIGTERM; tasks unanswered then
	// are left uncommitted and redelivered to the group.
	DrainTimeout time.Duration `koanf:"drain_timeout"`
	// LedgerTTL is how long the value issued for a keyed task (one run
	// under an Idempotency-Key) is remembered, in Redis under LedgerPrefix +
	// task id: the key reruns its task as the same id until the key
	// expires, so keep it at least the servers' idempotency.ttl.
	LedgerTTL time.Duration `koanf:"ledger_ttl"`
	// LedgerWindow is how long the value issued for any other task is
	// remembered: through its redeliveries, as a worker runs no task older
	// than half of it (MaxTaskAge). It bounds the ledger's memory to the
	// rate times the window (docs/operations-ledger.md); a LedgerTTL below
	// it shortens it (LedgerRecordWindow).
	LedgerWindow time.Duration `koanf:"ledger_window"`
	LedgerPrefix string        `koanf:"ledger_prefix"`
	// DeadLetterTopic receives a copy of each task a worker can never
	// process (undecodable, unknown kind), with the reason in a header;
	// empty (the default) only counts and logs them.
	DeadLetterTopic string `koanf:"dead_letter_topic"`
	// Watch makes servers answer 503 at once while no worker consumes the
	// tasks topic (a task sent would only wait out its deadline); false
	// never refuses for that.
	Watch bool `koanf:"watch"`
	// WatchGroups are the comma-separated consumer groups whose members
	// count as workers for that check; empty: Group. While none consumes,
	// servers also look for any other group that does.
	WatchGroups string `koanf:"watch_groups"`
	// RebalanceGrace is how long a watched group in a rebalance still
	// counts as consuming (its tasks are served once it completes); a
	// longer rebalance counts as no worker.
	RebalanceGrace time.Duration `koanf:"rebalance_grace"`
}

// WatchedWorkerGroups are the consumer groups whose members count as
// workers for the servers' check (worker.watch_groups, else worker.group),
// none when worker.watch is off.
func (c Config) WatchedWorkerGroups() []string {
	if !c.Worker.Watch {
		return nil
	}
	var groups []string
	for g := range strings.SplitSeq(c.Worker.WatchGroups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return []string{c.Worker.Group}
	}
	return groups
}

// LogConfig selects the log level (debug, info, warn, error) and format
// (auto: coloured text on a terminal, JSON otherwise; text; json).
type LogConfig struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// DebugConfig holds what helps to look inside a running process.
type DebugConfig struct {
	// PProfAddr serves Go's profiler (/debug/pprof/) on a listener of its
	// own, e.g. 127.0.0.1:6060; empty (the default) turns it off. Keep it
	// on loopback: profiles reveal the process's internals. The address of
	// the binary's admin listener (http.admin_addr, worker.admin_addr) puts
	// it on that listener instead.
	PProfAddr string `koanf:"pprof_addr"`
}

// IdempotencyConfig is how POST /queue remembers Idempotency-Key requests
// (in Redis when redis.url is set, in memory otherwise).
type IdempotencyConfig struct {
	// TTL is how long a key's outcome is kept for retries. Keep it no longer
	// than the workers' worker.ledger_ttl: a retry after a 5xx relies on the
	// ledger's record of the key's task.
	TTL    time.Duration `koanf:"ttl"`
	Prefix string        `koanf:"prefix"` // Redis key prefix
	// Capacity bounds the keys the in-memory store (no Redis) keeps; a new
	// key beyond it pushes out the oldest. Redis is bounded by its own
	// maxmemory (docs/operations.md, "Redis sizing").
	Capacity int `koanf:"capacity"`
}

// Reply modes of kafka.reply_mode.
const (
	ReplyModeOwn    = "own"
	ReplyModeShared = "shared"
)

// SharedReplies reports whether a server instance also reads the shared
// results topic (kafka.reply_mode: shared).
func (c Config) SharedReplies() bool { return strings.EqualFold(c.Kafka.ReplyMode, ReplyModeShared) }

// TracingConfig is OpenTelemetry tracing, off by default. OpenTelemetry's
// own variables work too: OTEL_EXPORTER_OTLP_ENDPOINT sets Endpoint and
// OTEL_SERVICE_NAME sets ServiceName (an RPS_ variable wins, as for the
// original's names); the others (protocol, sampler, propagators, resource)
// are read by the tracing itself (observability.NewTracing). Off, the
// trace context still passes from the HTTP request to the worker, so a
// caller's trace is not cut.
type TracingConfig struct {
	// Endpoint is the collector's OTLP base URL, e.g. http://jaeger:4318
	// (over OTLP/HTTP spans go to /v1/traces; OTEL_EXPORTER_OTLP_PROTOCOL=grpc
	// sends to it over gRPC); set, it turns tracing on.
	Endpoint string `koanf:"endpoint" redact:"url"`
	// SampleRatio is the share of new traces recorded, 0 to 1; a request
	// that comes with a traceparent follows its caller's decision.
	SampleRatio float64 `koanf:"sample_ratio"`
	// ServiceName names the process in traces; empty: rps-server or rps-worker.
	ServiceName string `koanf:"service_name"`
}

// GateLease is how long a gate slot is leased: the reply timeout plus
// gate.lease_margin, so a crashed holder's slot is freed only after its
// request has ended.
func (c Config) GateLease() time.Duration { return c.Task.ReplyTimeout + c.Gate.LeaseMargin }

// GateHold is the longest a request holds its gate slot: it waits for its
// reply for up to task.reply_timeout, then gives the slot back within
// gate.release_timeout. The lease must cover it (the gate's rules, run at
// start).
func (c Config) GateHold() time.Duration { return c.Task.ReplyTimeout + c.Gate.ReleaseTimeout }

// LedgerRecordWindow is how long the ledger keeps an unkeyed task's
// record: worker.ledger_window, or worker.ledger_ttl when that is shorter
// (a config that shortened every record with it still does).
func (c Config) LedgerRecordWindow() time.Duration {
	return min(c.Worker.LedgerWindow, c.Worker.LedgerTTL)
}

// MaxTaskAge is the oldest task a worker runs: half the ledger's window.
// Any task still run is then younger than its record, which was written
// after the task was sent, so a redelivery always finds what was issued;
// the other half allows for the clocks of servers, workers and Redis to
// differ. An older task's request has long stopped waiting (the startup
// rules keep it well past task.reply_timeout), so it is skipped.
func (c Config) MaxTaskAge() time.Duration { return c.LedgerRecordWindow() / 2 }

// UsesRedis reports whether the gate is shared through Redis.
func (c Config) UsesRedis() bool { return c.Redis.URL != "" }

// UsesKafka reports whether tasks go through Kafka to separate workers.
func (c Config) UsesKafka() bool { return c.Kafka.Bootstrap != "" }

// Embedded reports whether the server runs embedded: neither Redis nor
// Kafka, one process that shares nothing (a laptop, a first run).
func (c Config) Embedded() bool { return !c.UsesRedis() && !c.UsesKafka() }

// UsesTracing reports whether the config names a collector, which turns
// tracing on; OpenTelemetry's variables may too (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
// or keep it off (OTEL_SDK_DISABLED).
func (c Config) UsesTracing() bool { return c.Tracing.Endpoint != "" }

// Default is the built-in configuration: the embedded mode (no Redis, no
// Kafka) with the original's capacity, topics and timeouts.
func Default() Config {
	return Config{
		HTTP: HTTPConfig{
			Host:              "0.0.0.0",
			Port:              8000,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			RequestTimeout:    15 * time.Second,
			BodyLimit:         4096,
			MaxHeaderBytes:    32 << 10,
			ShutdownDelay:     5 * time.Second,
			ShutdownGrace:     20 * time.Second,
			RetryAfter:        time.Second,
			RefusalPause:      time.Second,
		},
		Task: TaskConfig{ReplyTimeout: 10 * time.Second},
		Gate: GateConfig{
			Capacity:       100,
			Key:            "{rps}:gate",
			LeaseMargin:    5 * time.Second,
			ReleaseTimeout: 2 * time.Second,
			BlockSize:      8,
			BlockIdle:      20 * time.Millisecond,
		},
		Redis: RedisConfig{
			MaxFlushDelay:  20 * time.Microsecond,
			DialTimeout:    2 * time.Second,
			CommandTimeout: 2 * time.Second,
		},
		Kafka: KafkaConfig{
			TasksTopic:      "tasks",
			ResultsTopic:    "results",
			TasksPartitions: 6,
			ReplyMode:       ReplyModeOwn,
			Settings:        map[string]string{},

			ReplyTopicHeartbeat: 10 * time.Second,
			ReplyTopicGrace:     time.Minute,
		},
		Worker: WorkerConfig{
			Concurrency:    1000,
			Group:          "gift-service-workers",
			AdminAddr:      "0.0.0.0:9100",
			DrainTimeout:   30 * time.Second,
			LedgerTTL:      24 * time.Hour,
			LedgerWindow:   10 * time.Minute,
			LedgerPrefix:   "rps:issued:",
			Watch:          true,
			RebalanceGrace: 30 * time.Second,
		},
		Log:         LogConfig{Level: "info", Format: "auto"},
		Tracing:     TracingConfig{SampleRatio: 1},
		Idempotency: IdempotencyConfig{TTL: 24 * time.Hour, Prefix: "rps:idem:", Capacity: 100_000},
		Fair:        FairConfig{Enabled: true, Identity: IdentityIP, Header: "X-API-Key", IPv6Prefix: 64, Headroom: 0.1},
	}
}
