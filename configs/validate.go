package configs

import (
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/1000x-rps-server/rps-server/configs/internal/formats"
	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// minHeaderBytes is the least http.max_header_bytes: below it ordinary
// browsers' and proxies' headers would be refused.
const minHeaderBytes = 1024

// KeyError is an invalid setting: the keys involved (the offending one
// first) and what is wrong, e.g. "gate.capacity must be at least 1 (got 0)".
// Load adds where the keys were set; a Rule returns one for that.
type KeyError struct {
	Keys []string
	Msg  string
}

func (e *KeyError) Error() string { return "config: " + e.Msg }

// origins says which variables or files set the keys, for Load's message:
// "; set by RATE_LIMIT_CAPACITY in the environment".
func (e *KeyError) origins(from map[string]string) string { return keytree.SetBy(e.Keys, from) }

// Rule is a check of the loaded config that belongs to a component using it
// (an adapter's limits), which configs does not know: start-up hands rules
// to Load, which runs them after its own checks. A rule returns nil, or a
// *KeyError naming the keys at fault so that the message says where they
// were set.
type Rule func(Config) error

// check is one rule: when bad, key must be want, and got is what it is.
type check struct {
	bad  bool
	key  string
	want string
	got  any
}

// Validate returns the first invalid setting as one line naming its key and
// its value, e.g. "config: gate.capacity must be at least 1 (got 0)".
func (c Config) Validate() error {
	for _, ch := range c.checks() {
		if ch.bad {
			return &KeyError{Keys: []string{ch.key}, Msg: fmt.Sprintf("%s must be %s (got %s)", ch.key, ch.want, keytree.Show(ch.got))}
		}
	}
	if fe := c.fairError(); fe != nil {
		return fe
	}
	if fe := c.coupled(); fe != nil {
		return fe
	}
	return nil
}

func (c Config) checks() []check {
	var level slog.Level
	checks := []check{
		{c.HTTP.Port < 0 || c.HTTP.Port > 65535, "http.port", "between 1 and 65535, or 0 for a free port", c.HTTP.Port},
		{c.HTTP.BodyLimit < 1, "http.body_limit", "at least 1", c.HTTP.BodyLimit},
		{c.HTTP.MaxHeaderBytes < minHeaderBytes, "http.max_header_bytes", fmt.Sprintf("at least %d", minHeaderBytes), c.HTTP.MaxHeaderBytes},
		{c.Gate.Capacity < 1, "gate.capacity", "at least 1", c.Gate.Capacity},
		{c.Gate.Key == "", "gate.key", "set", c.Gate.Key},
		{c.Gate.BlockSize < 1, "gate.block_size", "at least 1 (1: one Redis call per acquire and per release)", c.Gate.BlockSize},
		{!formats.RedisURL(c.Redis.URL), "redis.url", "redis://[user:password@]host:port[/db] or rediss://…", keytree.RedactURL(c.Redis.URL)},
		{!formats.HostPorts(c.Redis.Cluster.Addrs), "redis.cluster.addrs", "a comma-separated list of host:port, or empty", c.Redis.Cluster.Addrs},
		{!formats.HostPorts(c.Kafka.Bootstrap), "kafka.bootstrap", "a comma-separated list of host:port", c.Kafka.Bootstrap},
		{c.Kafka.TasksTopic == "", "kafka.tasks_topic", "set", c.Kafka.TasksTopic},
		{c.Kafka.ResultsTopic == "", "kafka.results_topic", "set", c.Kafka.ResultsTopic},
		{c.Kafka.ResultsTopic == c.Kafka.TasksTopic, "kafka.results_topic", "different from kafka.tasks_topic", c.Kafka.ResultsTopic},
		{c.Kafka.TasksPartitions < 1, "kafka.tasks_partitions", "at least 1", c.Kafka.TasksPartitions},
		{!formats.OneOf(c.Kafka.ReplyMode, ReplyModeOwn, ReplyModeShared), "kafka.reply_mode", "own or shared", c.Kafka.ReplyMode},
		{c.Worker.Concurrency < 1, "worker.concurrency", "at least 1", c.Worker.Concurrency},
		{c.Worker.Group == "", "worker.group", "set", c.Worker.Group},
		{c.Worker.LedgerTTL < time.Second, "worker.ledger_ttl", "at least 1s", c.Worker.LedgerTTL},
		{c.Worker.LedgerPrefix == "", "worker.ledger_prefix", "set", c.Worker.LedgerPrefix},
		{level.UnmarshalText([]byte(c.Log.Level)) != nil, "log.level", "debug, info, warn or error", c.Log.Level},
		{!formats.OneOf(c.Log.Format, "auto", "text", "json"), "log.format", "auto, text or json", c.Log.Format},
		{!formats.ListenAddr(c.Worker.AdminAddr), "worker.admin_addr", "host:port, or empty for off", c.Worker.AdminAddr},
		{!formats.ListenAddr(c.HTTP.AdminAddr), "http.admin_addr", "host:port, or empty for /metrics on the API's port", c.HTTP.AdminAddr},
		{c.HTTP.Port != 0 && c.HTTP.AdminAddr == c.HTTP.Addr(), "http.admin_addr", "another address than the API's (http.host:http.port)", c.HTTP.AdminAddr},
		{!formats.ListenAddr(c.Debug.PProfAddr), "debug.pprof_addr", "host:port, or empty for off", c.Debug.PProfAddr},
		{!formats.CIDRs(c.HTTP.TrustedProxies), "http.trusted_proxies", "a comma-separated list of CIDRs or IPs, or empty", c.HTTP.TrustedProxies},
		{c.Idempotency.TTL < time.Second, "idempotency.ttl", "at least 1s", c.Idempotency.TTL},
		{c.Idempotency.Prefix == "", "idempotency.prefix", "set", c.Idempotency.Prefix},
		{c.Idempotency.Capacity < 1, "idempotency.capacity", "at least 1", c.Idempotency.Capacity},
		{!formats.Endpoint(c.Tracing.Endpoint), "tracing.endpoint", "an http:// or https:// URL, or empty for off", keytree.RedactURL(c.Tracing.Endpoint)},
		{c.Tracing.SampleRatio < 0 || c.Tracing.SampleRatio > 1, "tracing.sample_ratio", "between 0 and 1", c.Tracing.SampleRatio},
	}
	// Every duration must be positive unless its field is tagged min:"0":
	// a new duration key is checked without a line here.
	for _, f := range keytree.Flatten(keytree.Tree("", reflect.ValueOf(c))) {
		if f.Value.Type() != keytree.DurationType {
			continue
		}
		d := time.Duration(f.Value.Int())
		if f.Tag.Get("min") == "0" {
			checks = append(checks, check{d < 0, f.Key, "0 or more", d})
			continue
		}
		checks = append(checks, check{d <= 0, f.Key, "positive", d})
	}
	return checks
}
