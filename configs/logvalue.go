package configs

import (
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// LogValue logs the effective config, every key, with secrets masked: the
// password in redis.url and librdkafka settings that hold credentials.
func (c Config) LogValue() slog.Value {
	dur := func(key string, d time.Duration) slog.Attr { return slog.String(key, d.String()) } // JSON would print ns
	settings := make([]slog.Attr, 0, len(c.Kafka.Settings))
	for _, name := range slices.Sorted(maps.Keys(c.Kafka.Settings)) {
		v := c.Kafka.Settings[name]
		if secretSetting(name) {
			v = "xxxxx"
		}
		settings = append(settings, slog.String(name, v))
	}
	return slog.GroupValue(
		slog.Group("http",
			slog.String("addr", c.HTTP.Addr()),
			dur("read_header_timeout", c.HTTP.ReadHeaderTimeout),
			dur("read_timeout", c.HTTP.ReadTimeout),
			dur("write_timeout", c.HTTP.WriteTimeout),
			dur("idle_timeout", c.HTTP.IdleTimeout),
			dur("request_timeout", c.HTTP.RequestTimeout),
			slog.Int64("body_limit", c.HTTP.BodyLimit),
			dur("shutdown_grace", c.HTTP.ShutdownGrace),
			dur("retry_after", c.HTTP.RetryAfter),
			slog.String("trusted_proxies", c.HTTP.TrustedProxies),
		),
		slog.Group("gate",
			slog.Int("capacity", c.Gate.Capacity),
			slog.Bool("fail_open", c.Gate.FailOpen),
			slog.String("key", c.Gate.Key),
			dur("lease_margin", c.Gate.LeaseMargin),
			dur("release_timeout", c.Gate.ReleaseTimeout),
		),
		slog.Group("redis",
			slog.String("url", redactURL(c.Redis.URL)),
			dur("max_flush_delay", c.Redis.MaxFlushDelay),
			dur("dial_timeout", c.Redis.DialTimeout),
			dur("command_timeout", c.Redis.CommandTimeout),
		),
		slog.Group("kafka",
			slog.String("bootstrap", c.Kafka.Bootstrap),
			slog.String("tasks_topic", c.Kafka.TasksTopic),
			slog.String("results_topic", c.Kafka.ResultsTopic),
			dur("reply_timeout", c.Kafka.ReplyTimeout),
			slog.Int("tasks_partitions", c.Kafka.TasksPartitions),
			slog.Attr{Key: "settings", Value: slog.GroupValue(settings...)},
		),
		slog.Group("worker",
			slog.Int("concurrency", c.Worker.Concurrency),
			slog.String("group", c.Worker.Group),
			slog.String("metrics_addr", c.Worker.MetricsAddr),
			dur("ledger_ttl", c.Worker.LedgerTTL),
			slog.String("ledger_prefix", c.Worker.LedgerPrefix),
		),
		slog.Group("log",
			slog.String("level", c.Log.Level),
			slog.String("format", c.Log.Format),
		),
		slog.Group("debug",
			slog.String("pprof_addr", c.Debug.PProfAddr),
		),
		slog.Group("idempotency",
			dur("ttl", c.Idempotency.TTL),
			slog.String("prefix", c.Idempotency.Prefix),
		),
	)
}

// redactURL masks the password of a URL as xxxxx, even of one that does not
// parse (it is then cut at the last "@").
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		return "xxxxx" + raw[at:]
	}
	return raw
}

// secretSetting reports whether a librdkafka property holds a credential
// (sasl.password, ssl.key.password, ssl.key.pem, …).
func secretSetting(name string) bool {
	for _, s := range []string{"password", "secret", "pem", "token", "sasl.oauthbearer.config"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
