package configs

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Validate returns the first invalid setting as one line naming its key.
func (c Config) Validate() error {
	checks := []struct {
		bad  bool
		key  string
		want string
		got  any
	}{
		{c.HTTP.Port < 0 || c.HTTP.Port > 65535, "http.port", "between 0 and 65535", c.HTTP.Port},
		{c.HTTP.BodyLimit < 1, "http.body_limit", "at least 1", c.HTTP.BodyLimit},
		{c.HTTP.RequestTimeout <= c.Kafka.ReplyTimeout, "http.request_timeout", "longer than kafka.reply_timeout (" + c.Kafka.ReplyTimeout.String() + ")", c.HTTP.RequestTimeout},
		{c.Gate.Capacity < 1, "gate.capacity", "at least 1", c.Gate.Capacity},
		{c.Gate.Key == "", "gate.key", "not empty", c.Gate.Key},
		{c.Kafka.TasksTopic == "", "kafka.tasks_topic", "not empty", c.Kafka.TasksTopic},
		{c.Kafka.ResultsTopic == "" || c.Kafka.ResultsTopic == c.Kafka.TasksTopic, "kafka.results_topic", "not empty and not the tasks topic", c.Kafka.ResultsTopic},
		{c.Kafka.TasksPartitions < 1, "kafka.tasks_partitions", "at least 1", c.Kafka.TasksPartitions},
		{c.Kafka.ResultsPartitions < 1, "kafka.results_partitions", "at least 1", c.Kafka.ResultsPartitions},
		{c.Worker.Concurrency < 1, "worker.concurrency", "at least 1", c.Worker.Concurrency},
		{c.Worker.Group == "", "worker.group", "not empty", c.Worker.Group},
		{!oneOf(c.Log.Level, "debug", "info", "warn", "error"), "log.level", "debug, info, warn or error", c.Log.Level},
		{!oneOf(c.Log.Format, "auto", "text", "json"), "log.format", "auto, text or json", c.Log.Format},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("config: %s must be %s (got %v)", ch.key, ch.want, ch.got)
		}
	}
	for key, d := range map[string]time.Duration{
		"http.read_header_timeout": c.HTTP.ReadHeaderTimeout, "http.read_timeout": c.HTTP.ReadTimeout,
		"http.write_timeout": c.HTTP.WriteTimeout, "http.idle_timeout": c.HTTP.IdleTimeout,
		"http.request_timeout": c.HTTP.RequestTimeout, "http.shutdown_grace": c.HTTP.ShutdownGrace,
		"http.retry_after": c.HTTP.RetryAfter, "gate.lease_margin": c.Gate.LeaseMargin,
		"gate.release_timeout": c.Gate.ReleaseTimeout, "redis.dial_timeout": c.Redis.DialTimeout,
		"redis.command_timeout": c.Redis.CommandTimeout, "kafka.reply_timeout": c.Kafka.ReplyTimeout,
	} {
		if d <= 0 {
			return fmt.Errorf("config: %s must be positive (got %s)", key, d)
		}
	}
	if c.Redis.MaxFlushDelay < 0 {
		return fmt.Errorf("config: redis.max_flush_delay must not be negative (got %s)", c.Redis.MaxFlushDelay)
	}
	if err := validateRedisURL(c.Redis.URL); err != nil {
		return err
	}
	return validateBootstrap(c.Kafka.Bootstrap)
}

func validateRedisURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return fmt.Errorf("config: redis.url must be redis://[user:password@]host:port[/db] or rediss://… (got %q)", redact(raw))
	}
	return nil
}

func validateBootstrap(raw string) error {
	if raw == "" {
		return nil
	}
	for _, hp := range strings.Split(raw, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(hp))
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("config: kafka.bootstrap must be a comma-separated list of host:port (got %q)", raw)
		}
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return true
		}
	}
	return false
}

// redact hides a password in a URL that may not even parse.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		return "xxxxx" + raw[at:]
	}
	return raw
}
