package configs_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

// write puts content in a fresh temporary file and returns its path.
func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// layers makes the load options of a test case: the environment, and a
// YAML and a .env file with the contents given (none when empty).
func layers(t *testing.T, environ []string, yaml, dotEnv string) configs.LoadOptions {
	t.Helper()
	opts := configs.LoadOptions{Environ: environ}
	if yaml != "" {
		opts.ConfigFile = write(t, "c.yaml", yaml)
	}
	if dotEnv != "" {
		opts.DotEnvFile = write(t, ".env", dotEnv)
	}
	return opts
}

func load(t *testing.T, opts configs.LoadOptions) configs.Config {
	t.Helper()
	cfg, err := configs.Load(opts)
	require.NoError(t, err)
	return cfg
}

func TestDefaults_AreTheEmbeddedMode(t *testing.T) {
	cfg := load(t, configs.LoadOptions{})
	assert.Equal(t, configs.Default(), cfg)
	require.NoError(t, configs.Default().Validate())

	assert.False(t, cfg.UsesRedis(), "no Redis: in-memory gate")
	assert.False(t, cfg.UsesKafka(), "no Kafka: in-process broker")
	assert.Equal(t, "0.0.0.0:8000", cfg.HTTP.Addr())
	assert.Equal(t, 15*time.Second, cfg.HTTP.RequestTimeout)
	assert.Equal(t, int64(4096), cfg.HTTP.BodyLimit)
	assert.Equal(t, 100, cfg.Gate.Capacity)
	assert.False(t, cfg.Gate.FailOpen)
	assert.Equal(t, "{rps}:gate", cfg.Gate.Key)
	assert.Equal(t, 10*time.Second, cfg.Task.ReplyTimeout)
	assert.Equal(t, "tasks", cfg.Kafka.TasksTopic)
	assert.Equal(t, "results", cfg.Kafka.ResultsTopic)
	assert.NotNil(t, cfg.Kafka.Settings)
	assert.Empty(t, cfg.Kafka.Settings)
	assert.Equal(t, 1000, cfg.Worker.Concurrency)
	assert.Equal(t, "gift-service-workers", cfg.Worker.Group)
	assert.Equal(t, configs.LogConfig{Level: "info", Format: "auto"}, cfg.Log)
}

func TestExampleFile_EqualsTheDefaults(t *testing.T) {
	assert.Equal(t, configs.Default(), load(t, configs.LoadOptions{ConfigFile: "example.yaml"}),
		"example.yaml drifted from the defaults")
}

func TestLocalFile_PointsAtTheProjectsInfra(t *testing.T) {
	cfg := load(t, configs.LoadOptions{ConfigFile: "local.yaml"})
	assert.Equal(t, "redis://127.0.0.1:20379/0", cfg.Redis.URL)
	assert.Equal(t, "127.0.0.1:20092", cfg.Kafka.Bootstrap)
}

func TestPrecedence_DefaultsFileDotEnvEnvironment(t *testing.T) {
	yml := write(t, "c.yaml", "gate:\n  capacity: 10\nhttp:\n  port: 9001\n  host: 10.0.0.1\nkafka:\n  tasks_topic: from-yaml\n")
	env := write(t, ".env", "RATE_LIMIT_CAPACITY=20\nPORT=9002\n")
	cfg := load(t, configs.LoadOptions{ConfigFile: yml, DotEnvFile: env, Environ: []string{"PORT=9003"}})

	assert.Equal(t, "from-yaml", cfg.Kafka.TasksTopic, "the file beats the defaults")
	assert.Equal(t, "10.0.0.1", cfg.HTTP.Host, "the file beats the defaults")
	assert.Equal(t, 20, cfg.Gate.Capacity, ".env beats the file")
	assert.Equal(t, 9003, cfg.HTTP.Port, "the environment beats .env")
	assert.Equal(t, "results", cfg.Kafka.ResultsTopic, "a key nobody set keeps its default")
}

func TestPrefixedNameBeatsOriginalName(t *testing.T) {
	tests := []struct {
		name    string
		dotEnv  string
		environ []string
		want    int
	}{
		{name: "environment_prefixed_last", environ: []string{"RATE_LIMIT_CAPACITY=7", "RPS_GATE__CAPACITY=9"}, want: 9},
		{name: "environment_prefixed_first", environ: []string{"RPS_GATE__CAPACITY=9", "RATE_LIMIT_CAPACITY=7"}, want: 9},
		{name: "dotenv", dotEnv: "RATE_LIMIT_CAPACITY=7\nRPS_GATE__CAPACITY=9\n", want: 9},
		{name: "environment_original_beats_dotenv_prefixed", dotEnv: "RPS_GATE__CAPACITY=9\n", environ: []string{"RATE_LIMIT_CAPACITY=7"}, want: 7},
		{name: "later_pair_wins", environ: []string{"RPS_GATE__CAPACITY=9", "RPS_GATE__CAPACITY=11"}, want: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := configs.LoadOptions{Environ: tt.environ}
			if tt.dotEnv != "" {
				opts.DotEnvFile = write(t, ".env", tt.dotEnv)
			}
			assert.Equal(t, tt.want, load(t, opts).Gate.Capacity)
		})
	}
}

func TestOriginalNames_MapOntoTheirKeys(t *testing.T) {
	tests := []struct {
		env  string
		got  func(configs.Config) any
		want any
	}{
		{"KAFKA_BOOTSTRAP_SERVERS=k1:9092,k2:9092", func(c configs.Config) any { return c.Kafka.Bootstrap }, "k1:9092,k2:9092"},
		{"KAFKA_GIFT_CODE_TIMEOUT=10.0", func(c configs.Config) any { return c.Task.ReplyTimeout }, 10 * time.Second},
		{"KAFKA_GIFT_CODE_TIMEOUT=2.5", func(c configs.Config) any { return c.Task.ReplyTimeout }, 2500 * time.Millisecond},
		{"KAFKA_GIFT_CODE_TIMEOUT=3", func(c configs.Config) any { return c.Task.ReplyTimeout }, 3 * time.Second},
		{"KAFKA_GIFT_CODE_TIMEOUT=750ms", func(c configs.Config) any { return c.Task.ReplyTimeout }, 750 * time.Millisecond},
		{"TASKS_TOPIC=t", func(c configs.Config) any { return c.Kafka.TasksTopic }, "t"},
		{"RESULTS_TOPIC=r", func(c configs.Config) any { return c.Kafka.ResultsTopic }, "r"},
		{"REDIS_URL=redis://:secret@cache:6379/2", func(c configs.Config) any { return c.Redis.URL }, "redis://:secret@cache:6379/2"},
		{"RATE_LIMIT_CAPACITY=7", func(c configs.Config) any { return c.Gate.Capacity }, 7},
		{"WORKER_CONCURRENCY=3", func(c configs.Config) any { return c.Worker.Concurrency }, 3},
		{"HOST=127.0.0.1", func(c configs.Config) any { return c.HTTP.Host }, "127.0.0.1"},
		{"PORT=8080", func(c configs.Config) any { return c.HTTP.Port }, 8080},
		{"LOG_LEVEL=debug", func(c configs.Config) any { return c.Log.Level }, "debug"},
		{"LOG_LEVEL=WARNING", func(c configs.Config) any { return c.Log.Level }, "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got(load(t, configs.LoadOptions{Environ: []string{tt.env}})), "from the environment")
			dotEnv := write(t, ".env", tt.env+"\n")
			assert.Equal(t, tt.want, tt.got(load(t, configs.LoadOptions{DotEnvFile: dotEnv})), "from .env")
		})
	}
}

// task.reply_timeout is also read by its alias kafka.reply_timeout (YAML,
// RPS_KAFKA__REPLY_TIMEOUT) and the original's KAFKA_GIFT_CODE_TIMEOUT. In
// one layer the key's own name beats its alias, and an RPS_ name the
// original's; across layers the higher layer wins whichever name it uses.
func TestReplyTimeout_EveryNameSetsIt(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		dotEnv  string
		environ []string
		want    time.Duration
	}{
		{name: "key_in_yaml", yaml: "task:\n  reply_timeout: 3s\n", want: 3 * time.Second},
		{name: "alias_in_yaml", yaml: "kafka:\n  reply_timeout: 3s\n", want: 3 * time.Second},
		{name: "key_variable", environ: []string{"RPS_TASK__REPLY_TIMEOUT=3s"}, want: 3 * time.Second},
		{name: "alias_variable", environ: []string{"RPS_KAFKA__REPLY_TIMEOUT=3s"}, want: 3 * time.Second},
		{name: "original_variable", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=3"}, want: 3 * time.Second},
		{name: "alias_variable_in_dotenv", dotEnv: "RPS_KAFKA__REPLY_TIMEOUT=3s\n", want: 3 * time.Second},

		{name: "yaml_key_beats_alias", yaml: "kafka:\n  reply_timeout: 4s\ntask:\n  reply_timeout: 3s\n", want: 3 * time.Second},
		{name: "key_variable_beats_alias_variable", environ: []string{"RPS_TASK__REPLY_TIMEOUT=3s", "RPS_KAFKA__REPLY_TIMEOUT=4s"}, want: 3 * time.Second},
		{name: "key_variable_beats_alias_variable_either_order", environ: []string{"RPS_KAFKA__REPLY_TIMEOUT=4s", "RPS_TASK__REPLY_TIMEOUT=3s"}, want: 3 * time.Second},
		{name: "key_variable_beats_original", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=4", "RPS_TASK__REPLY_TIMEOUT=3s"}, want: 3 * time.Second},
		{name: "alias_variable_beats_original", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=4", "RPS_KAFKA__REPLY_TIMEOUT=3s"}, want: 3 * time.Second},
		{name: "dotenv_key_beats_alias", dotEnv: "RPS_KAFKA__REPLY_TIMEOUT=4s\nRPS_TASK__REPLY_TIMEOUT=3s\n", want: 3 * time.Second},

		{name: "environment_original_beats_yaml_key", yaml: "task:\n  reply_timeout: 4s\n", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=3"}, want: 3 * time.Second},
		{name: "environment_alias_beats_dotenv_key", dotEnv: "RPS_TASK__REPLY_TIMEOUT=4s\n", environ: []string{"RPS_KAFKA__REPLY_TIMEOUT=3s"}, want: 3 * time.Second},
		{name: "dotenv_key_beats_yaml_alias", yaml: "kafka:\n  reply_timeout: 4s\n", dotEnv: "RPS_TASK__REPLY_TIMEOUT=3s\n", want: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, load(t, layers(t, tt.environ, tt.yaml, tt.dotEnv)).Task.ReplyTimeout)
		})
	}
}

func TestPrefixedNames_ReachEveryKind(t *testing.T) {
	cfg := load(t, configs.LoadOptions{Environ: []string{
		"RPS_HTTP__PORT=9000",
		"RPS_KAFKA__REPLY_TIMEOUT=3s",
		"RPS_GATE__FAIL_OPEN=true",
		"RPS_HTTP__BODY_LIMIT=100",
		"RPS_REDIS__MAX_FLUSH_DELAY=20us",
		"RPS_LOG__FORMAT=JSON",
	}})
	assert.Equal(t, 9000, cfg.HTTP.Port)
	assert.Equal(t, 3*time.Second, cfg.Task.ReplyTimeout)
	assert.True(t, cfg.Gate.FailOpen)
	assert.Equal(t, int64(100), cfg.HTTP.BodyLimit)
	assert.Equal(t, 20*time.Microsecond, cfg.Redis.MaxFlushDelay)
	assert.Equal(t, "json", cfg.Log.Format)

	cfg = load(t, configs.LoadOptions{Environ: []string{"RPS_REDIS__MAX_FLUSH_DELAY=0s"}})
	assert.Zero(t, cfg.Redis.MaxFlushDelay, "0 turns batching off, and is allowed")
}

func TestKafkaSettings_FromEveryLayer(t *testing.T) {
	yml := write(t, "c.yaml", "kafka:\n  settings:\n    fetch.wait.max.ms: 5\n    linger.ms: \"50\"\n    ssl:\n      key:\n        location: /k.pem\n")
	dotEnv := write(t, ".env", "RPS_KAFKA__SETTINGS__BATCH_SIZE=1000\n")
	cfg := load(t, configs.LoadOptions{
		ConfigFile: yml, DotEnvFile: dotEnv,
		Environ: []string{"RPS_KAFKA__SETTINGS__LINGER_MS=1"},
	})
	assert.Equal(t, map[string]string{
		"fetch.wait.max.ms": "5",
		"linger.ms":         "1", // the environment beats the file
		"ssl.key.location":  "/k.pem",
		"batch.size":        "1000",
	}, cfg.Kafka.Settings)
	assert.Empty(t, configs.Default().Kafka.Settings, "loading never writes into the defaults")
}

func TestFiles_MissingDotEnvIsFine_MissingConfigFileIsNot(t *testing.T) {
	assert.Equal(t, configs.Default(), load(t, configs.LoadOptions{DotEnvFile: filepath.Join(t.TempDir(), "absent.env")}))

	_, err := configs.Load(configs.LoadOptions{ConfigFile: filepath.Join(t.TempDir(), "absent.yaml")})
	require.ErrorContains(t, err, "absent.yaml")
}

func TestYAML_EmptySectionsAndEmptyStrings(t *testing.T) {
	yml := write(t, "c.yaml", "worker:\ngate: {}\nkafka:\n  settings: {}\nredis:\n  url:\n")
	assert.Equal(t, configs.Default(), load(t, configs.LoadOptions{ConfigFile: yml}))
}

func TestInvalidSettings_OneLineNamingTheKeyAndItsSource(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		yaml    string
		dotEnv  string
		want    string
	}{
		{name: "capacity_zero", environ: []string{"RATE_LIMIT_CAPACITY=0"},
			want: "config: gate.capacity must be at least 1 (got 0); set by RATE_LIMIT_CAPACITY in the environment"},
		{name: "capacity_not_a_number", environ: []string{"RATE_LIMIT_CAPACITY=abc"},
			want: `config: gate.capacity must be a whole number (got "abc"); set by RATE_LIMIT_CAPACITY in the environment`},
		{name: "capacity_fraction_in_yaml", yaml: "gate:\n  capacity: 1.5\n", want: "gate.capacity must be a whole number (got 1.5); set by file "},
		{name: "block_size_zero", environ: []string{"RPS_GATE__BLOCK_SIZE=0"},
			want: "config: gate.block_size must be at least 1 (1: one Redis call per acquire and per release) (got 0); set by RPS_GATE__BLOCK_SIZE in the environment"},
		{name: "negative_timeout", environ: []string{"RPS_GATE__RELEASE_TIMEOUT=-1s"},
			want: "config: gate.release_timeout must be positive (got -1s); set by RPS_GATE__RELEASE_TIMEOUT in the environment"},
		{name: "negative_flush_delay", environ: []string{"RPS_REDIS__MAX_FLUSH_DELAY=-1us"}, want: "redis.max_flush_delay must be 0 or more (got -1µs)"},
		{name: "zero_timeout_in_yaml", yaml: "redis:\n  dial_timeout: 0s\n", want: "redis.dial_timeout must be positive (got 0s)"},
		{name: "duration_without_unit", yaml: "task:\n  reply_timeout: 10\n", want: `task.reply_timeout must be a duration such as "10s" or "250ms" (got 10); set by file `},
		{name: "duration_without_unit_under_the_alias", yaml: "kafka:\n  reply_timeout: 10\n",
			want: `task.reply_timeout must be a duration such as "10s" or "250ms" (got 10); set by kafka.reply_timeout in file `},
		{name: "bad_original_timeout", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=soon"}, want: "task.reply_timeout must be a duration"},
		{name: "infinite_original_timeout", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=Inf"}, want: "set by KAFKA_GIFT_CODE_TIMEOUT in the environment"},
		{name: "bad_bool", environ: []string{"RPS_GATE__FAIL_OPEN=maybe"}, want: `gate.fail_open must be true or false (got "maybe")`},
		{name: "bad_redis_scheme", environ: []string{"REDIS_URL=http://user:pw@x"}, want: `redis.url must be redis://[user:password@]host:port[/db] or rediss://… (got "http://user:xxxxx@x")`},
		{name: "bad_redis_port", dotEnv: "REDIS_URL=redis://cache:port\n", want: "redis.url must be"},
		{name: "bad_bootstrap", environ: []string{"KAFKA_BOOTSTRAP_SERVERS=justahost"}, want: `kafka.bootstrap must be a comma-separated list of host:port (got "justahost")`},
		{name: "bad_bootstrap_second", environ: []string{"KAFKA_BOOTSTRAP_SERVERS=k1:9092,k2"}, want: "kafka.bootstrap must be"},
		{name: "request_not_longer_than_reply", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=15"},
			want: "config: http.request_timeout must be longer than task.reply_timeout (got 15s, reply timeout 15s); task.reply_timeout set by KAFKA_GIFT_CODE_TIMEOUT in the environment"},
		{name: "port_out_of_range", environ: []string{"PORT=70000"}, want: "http.port must be between 1 and 65535, or 0 for a free port (got 70000)"},
		{name: "port_just_out_of_range", environ: []string{"PORT=65536"}, want: "http.port must be between 1 and 65535, or 0 for a free port (got 65536)"},
		{name: "negative_port", environ: []string{"PORT=-1"}, want: "http.port must be between 1 and 65535, or 0 for a free port (got -1)"},
		{name: "empty_gate_key", environ: []string{"RPS_GATE__KEY="}, want: `config: gate.key must be set (got ""); set by RPS_GATE__KEY in the environment`},
		{name: "empty_worker_group", yaml: "worker:\n  group: \"\"\n", want: `worker.group must be set (got "")`},
		{name: "empty_results_topic", environ: []string{"RESULTS_TOPIC="}, want: `kafka.results_topic must be set (got "")`},
		{name: "ledger_ttl_under_a_second", environ: []string{"RPS_WORKER__LEDGER_TTL=999ms"}, want: "worker.ledger_ttl must be at least 1s (got 999ms)"},
		{name: "redis_port_zero", environ: []string{"REDIS_URL=redis://cache:0"}, want: "redis.url must be"},
		{name: "redis_port_too_large", environ: []string{"REDIS_URL=redis://cache:65536"}, want: "redis.url must be"},
		{name: "redis_without_host", environ: []string{"REDIS_URL=redis://:6379"}, want: "redis.url must be"},
		{name: "bad_cluster_addrs", environ: []string{"RPS_REDIS__CLUSTER__ADDRS=node1:7000,node2"},
			want: `config: redis.cluster.addrs must be a comma-separated list of host:port, or empty (got "node1:7000,node2"); set by RPS_REDIS__CLUSTER__ADDRS in the environment`},
		{name: "bad_insecure_skip_verify", yaml: "redis:\n  tls:\n    insecure_skip_verify: sometimes\n",
			want: `redis.tls.insecure_skip_verify must be true or false (got "sometimes")`},
		{name: "bootstrap_port_zero", environ: []string{"KAFKA_BOOTSTRAP_SERVERS=k1:0"}, want: "kafka.bootstrap must be"},
		{name: "bootstrap_without_host", environ: []string{"KAFKA_BOOTSTRAP_SERVERS=:9092"}, want: "kafka.bootstrap must be"},
		{name: "admin_addr_port_too_large", yaml: "worker:\n  admin_addr: 127.0.0.1:65536\n", want: "worker.admin_addr must be host:port"},
		{name: "admin_addr_port_too_large_under_the_alias", yaml: "worker:\n  metrics_addr: 127.0.0.1:65536\n",
			want: "worker.admin_addr must be host:port, or empty for off (got \"127.0.0.1:65536\"); set by worker.metrics_addr in file "},
		{name: "body_limit_zero", environ: []string{"RPS_HTTP__BODY_LIMIT=0"}, want: "http.body_limit must be at least 1 (got 0)"},
		{name: "worker_concurrency_zero", environ: []string{"WORKER_CONCURRENCY=0"}, want: "worker.concurrency must be at least 1 (got 0)"},
		{name: "partitions_zero", environ: []string{"RPS_KAFKA__TASKS_PARTITIONS=0"}, want: "kafka.tasks_partitions must be at least 1 (got 0)"},
		{name: "bad_reply_mode", environ: []string{"RPS_KAFKA__REPLY_MODE=both"}, want: `kafka.reply_mode must be own or shared (got "both")`},
		{name: "same_topics", environ: []string{"RESULTS_TOPIC=tasks"}, want: `kafka.results_topic must be different from kafka.tasks_topic (got "tasks")`},
		{name: "empty_ledger_prefix", yaml: "worker:\n  ledger_prefix: \"\"\n", want: `worker.ledger_prefix must be set (got "")`},
		{name: "empty_topic", environ: []string{"TASKS_TOPIC="}, want: `kafka.tasks_topic must be set (got "")`},
		{name: "bad_log_level", environ: []string{"LOG_LEVEL=loud"}, want: `log.level must be debug, info, warn or error (got "loud")`},
		{name: "bad_log_format", yaml: "log:\n  format: xml\n", want: `log.format must be auto, text or json (got "xml")`},
		{name: "bad_pprof_addr", environ: []string{"RPS_DEBUG__PPROF_ADDR=6060"}, want: `debug.pprof_addr must be host:port, or empty for off (got "6060")`},
		{name: "bad_worker_admin_addr", yaml: "worker:\n  admin_addr: localhost\n", want: `worker.admin_addr must be host:port, or empty for off (got "localhost")`},
		{name: "bad_http_admin_addr", environ: []string{"RPS_HTTP__ADMIN_ADDR=9100"}, want: `http.admin_addr must be host:port, or empty for /metrics on the API's port (got "9100")`},
		{name: "http_admin_addr_is_the_api_port", environ: []string{"HOST=127.0.0.1", "PORT=8000", "RPS_HTTP__ADMIN_ADDR=127.0.0.1:8000"},
			want: `http.admin_addr must be another address than the API's (http.host:http.port) (got "127.0.0.1:8000")`},
		{name: "null_number_in_yaml", yaml: "gate:\n  capacity:\n", want: "gate.capacity must be a whole number (got nothing)"},
		{name: "nested_setting_not_a_value", yaml: "kafka:\n  settings:\n    producer:\n      linger.ms: [1]\n",
			want: "kafka.settings.producer.linger.ms must be a string or a number"},
		{name: "settings_not_a_map", yaml: "kafka:\n  settings: linger\n", want: `kafka.settings must be a map of librdkafka properties (got "linger")`},
		{name: "unknown_prefixed_variable", environ: []string{"RPS_GATE__CAPACTIY=5"},
			want: "config: unknown setting RPS_GATE__CAPACTIY in the environment (did you mean RPS_GATE__CAPACITY?)"},
		{name: "single_underscore_nesting", dotEnv: "RPS_GATE_CAPACITY=5\n", want: "unknown setting RPS_GATE_CAPACITY in "},
		{name: "unknown_yaml_key", yaml: "gate:\n  capactiy: 5\n", want: `unknown key "gate.capactiy" (did you mean "gate.capacity"?)`},
		{name: "yaml_scalar_for_section", yaml: "gate: 5\n", want: `unknown key "gate"`},
		{name: "yaml_syntax", yaml: "gate:\n  capacity: [\n", want: "config: file "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configs.Load(layers(t, tt.environ, tt.yaml, tt.dotEnv))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.NotContains(t, err.Error(), "pw@", "secrets stay out of errors")
		})
	}
}

// Each rule's limit is itself valid: a rule off by one refuses these.
func TestValidSettings_AtTheirLimits(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		yaml    string
		check   func(t *testing.T, cfg configs.Config)
	}{
		{name: "free_port", environ: []string{"PORT=0"}, check: func(t *testing.T, c configs.Config) { assert.Equal(t, 0, c.HTTP.Port) }},
		{name: "highest_port", environ: []string{"PORT=65535"}, check: func(t *testing.T, c configs.Config) { assert.Equal(t, 65535, c.HTTP.Port) }},
		{name: "rediss_with_credentials", environ: []string{"REDIS_URL=rediss://user:pw@cache.internal:6380/2"},
			check: func(t *testing.T, c configs.Config) {
				assert.Equal(t, "rediss://user:pw@cache.internal:6380/2", c.Redis.URL)
			}},
		{name: "redis_without_port", environ: []string{"REDIS_URL=redis://cache"},
			check: func(t *testing.T, c configs.Config) { assert.True(t, c.UsesRedis()) }},
		{name: "redis_highest_port", environ: []string{"REDIS_URL=redis://cache:65535/0"},
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, "redis://cache:65535/0", c.Redis.URL) }},
		{name: "bootstrap_list_with_spaces", environ: []string{"KAFKA_BOOTSTRAP_SERVERS=k1:9092, k2:1"},
			check: func(t *testing.T, c configs.Config) { assert.True(t, c.UsesKafka()) }},
		{name: "redis_tls_acl_and_sentinel_by_variables", environ: []string{
			"REDIS_URL=rediss://sentinel-1:26379?addr=sentinel-2:26379",
			"RPS_REDIS__USERNAME=app", "RPS_REDIS__PASSWORD=pw", "RPS_REDIS__CLIENT_NAME=edge-1",
			"RPS_REDIS__TLS__CA_FILE=/etc/rps/ca.pem", "RPS_REDIS__TLS__CERT_FILE=/etc/rps/client.pem",
			"RPS_REDIS__TLS__KEY_FILE=/etc/rps/client-key.pem", "RPS_REDIS__TLS__SERVER_NAME=redis.internal",
			"RPS_REDIS__SENTINEL__MASTER_SET=rps", "RPS_REDIS__SENTINEL__PASSWORD=spw",
		}, check: func(t *testing.T, c configs.Config) {
			assert.Equal(t, "app", c.Redis.Username)
			assert.Equal(t, "pw", c.Redis.Password)
			assert.Equal(t, "edge-1", c.Redis.ClientName)
			assert.Equal(t, configs.RedisTLSConfig{CAFile: "/etc/rps/ca.pem", CertFile: "/etc/rps/client.pem",
				KeyFile: "/etc/rps/client-key.pem", ServerName: "redis.internal"}, c.Redis.TLS)
			assert.Equal(t, configs.RedisSentinelConfig{MasterSet: "rps", Password: "spw"}, c.Redis.Sentinel)
		}},
		{name: "redis_cluster_seeds_in_yaml", yaml: "redis:\n  url: redis://node-1:7000\n  cluster:\n    addrs: node-2:7000, node-3:7000\n",
			check: func(t *testing.T, c configs.Config) {
				assert.Equal(t, "node-2:7000, node-3:7000", c.Redis.Cluster.Addrs)
			}},
		{name: "ledger_ttl_one_second", environ: []string{"RPS_WORKER__LEDGER_TTL=1s"},
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, time.Second, c.Worker.LedgerTTL) }},
		{name: "no_flush_delay", environ: []string{"RPS_REDIS__MAX_FLUSH_DELAY=0s"},
			check: func(t *testing.T, c configs.Config) { assert.Zero(t, c.Redis.MaxFlushDelay) }},
		{name: "capacity_one", environ: []string{"RATE_LIMIT_CAPACITY=1", "WORKER_CONCURRENCY=1", "RPS_KAFKA__TASKS_PARTITIONS=1", "RPS_HTTP__BODY_LIMIT=1"},
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, 1, c.Gate.Capacity) }},
		{name: "worker_admin_on_any_free_port", yaml: "worker:\n  admin_addr: 127.0.0.1:0\n",
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, "127.0.0.1:0", c.Worker.AdminAddr) }},
		{name: "worker_admin_by_its_alias", yaml: "worker:\n  metrics_addr: 127.0.0.1:0\n",
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, "127.0.0.1:0", c.Worker.AdminAddr) }},
		{name: "worker_admin_by_its_alias_variable", environ: []string{"RPS_WORKER__METRICS_ADDR=127.0.0.1:9101"},
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, "127.0.0.1:9101", c.Worker.AdminAddr) }},
		{name: "worker_admin_key_beats_alias", environ: []string{"RPS_WORKER__METRICS_ADDR=127.0.0.1:9101", "RPS_WORKER__ADMIN_ADDR=127.0.0.1:9102"},
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, "127.0.0.1:9102", c.Worker.AdminAddr) }},
		{name: "worker_admin_off", environ: []string{"RPS_WORKER__ADMIN_ADDR="},
			check: func(t *testing.T, c configs.Config) { assert.Empty(t, c.Worker.AdminAddr) }},
		{name: "http_admin_on_any_free_port", environ: []string{"PORT=0", "RPS_HTTP__ADMIN_ADDR=127.0.0.1:0", "HOST=127.0.0.1"},
			check: func(t *testing.T, c configs.Config) { assert.Equal(t, "127.0.0.1:0", c.HTTP.AdminAddr) }},
		{name: "log_level_and_format_any_case_read_lower_case", environ: []string{"LOG_LEVEL=WARN"}, yaml: "log:\n  format: JSON\n",
			check: func(t *testing.T, c configs.Config) {
				assert.Equal(t, configs.LogConfig{Level: "warn", Format: "json"}, c.Log)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := configs.LoadOptions{Environ: tt.environ}
			if tt.yaml != "" {
				opts.ConfigFile = write(t, "c.yaml", tt.yaml)
			}
			tt.check(t, load(t, opts))
		})
	}
}

func TestUnrelatedEnvironmentIsIgnored(t *testing.T) {
	cfg := load(t, configs.LoadOptions{Environ: []string{
		"PATH=/bin", "HOME=/root", "NOT_AN_ASSIGNMENT", "=C:=C:\\", "RPS_CONFIG=ignored-by-load.yaml", "rps_gate__capacity=5",
	}})
	assert.Equal(t, configs.Default(), cfg)
}

func TestLogValue_ShowsEveryKeyAndMasksSecrets(t *testing.T) {
	cfg := load(t, configs.LoadOptions{Environ: []string{
		"REDIS_URL=redis://user:hunter2@cache:6379/0",
		"RPS_REDIS__PASSWORD=correct-horse", "RPS_REDIS__SENTINEL__PASSWORD=battery-staple",
		"RPS_KAFKA__SETTINGS__SASL_PASSWORD=swordfish",
		"RPS_KAFKA__SETTINGS__LINGER_MS=1",
	}})
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
	logged := buf.String()

	assert.NotContains(t, logged, "hunter2")
	assert.NotContains(t, logged, "swordfish")
	assert.NotContains(t, logged, "correct-horse")
	assert.NotContains(t, logged, "battery-staple")
	assert.Contains(t, logged, `"url":"redis://user:xxxxx@cache:6379/0"`)
	assert.Contains(t, logged, `"sasl.password":"xxxxx"`)
	assert.Contains(t, logged, `"linger.ms":"1"`)
	assert.Contains(t, logged, `"reply_timeout":"10s"`, "durations read as durations, not nanoseconds")
	assert.Contains(t, logged, `"capacity":100`)
	assert.Equal(t, "redis://user:hunter2@cache:6379/0", cfg.Redis.URL, "masking leaves the config alone")
}

// The flags name the files a binary's config is loaded from, as Begin loads it.
func TestParseArgs_NamesTheFilesLoaded(t *testing.T) {
	yml := write(t, "c.yaml", "gate:\n  capacity: 11\n")
	other := write(t, "d.yaml", "gate:\n  capacity: 12\n")
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    int
		wantErr string
	}{
		{name: "flag", args: []string{"-config", yml, "-env", ""}, want: 11},
		{name: "variable", args: []string{"-env", ""}, environ: []string{"RPS_CONFIG=" + yml}, want: 11},
		{name: "flag_beats_variable", args: []string{"-config", other, "-env", ""}, environ: []string{"RPS_CONFIG=" + yml}, want: 12},
		{name: "unknown_flag", args: []string{"-nope"}, wantErr: "flags:"},
		{name: "stray_argument", args: []string{"-env", "", "extra"}, wantErr: `unexpected argument "extra"`},
		{name: "help", args: []string{"-h"}, wantErr: "usage: server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadArgs(tt.args, tt.environ)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Gate.Capacity)
		})
	}
}

// loadArgs parses the server's flags and loads what they name.
func loadArgs(args, environ []string) (configs.Config, error) {
	a, err := configs.ParseArgs("server", args, environ)
	if err != nil {
		return configs.Config{}, err
	}
	return configs.Load(a.Options(environ))
}

func TestReplyMode_OwnByDefaultSharedOnRequest(t *testing.T) {
	assert.False(t, configs.Default().SharedReplies(), "own reply topic by default")
	cfg := load(t, configs.LoadOptions{Environ: []string{"RPS_KAFKA__REPLY_MODE=shared"}})
	assert.True(t, cfg.SharedReplies())
}

func TestTracing_OffByDefault_OnWithOpenTelemetrysNames(t *testing.T) {
	assert.False(t, configs.Default().UsesTracing())

	cfg := load(t, configs.LoadOptions{Environ: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318",
		"OTEL_SERVICE_NAME=gift-server",
		"RPS_TRACING__SAMPLE_RATIO=0.25",
	}})
	assert.True(t, cfg.UsesTracing())
	assert.Equal(t, configs.TracingConfig{Endpoint: "http://jaeger:4318", SampleRatio: 0.25, ServiceName: "gift-server"}, cfg.Tracing)

	cfg = load(t, configs.LoadOptions{Environ: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318", "RPS_TRACING__ENDPOINT=http://collector:4318",
	}})
	assert.Equal(t, "http://collector:4318", cfg.Tracing.Endpoint, "the RPS_ name wins, as for the original's names")

	for env, want := range map[string]string{
		"RPS_TRACING__SAMPLE_RATIO=1.5":           "tracing.sample_ratio must be between 0 and 1 (got 1.5)",
		"RPS_TRACING__SAMPLE_RATIO=half":          "tracing.sample_ratio",
		"OTEL_EXPORTER_OTLP_ENDPOINT=jaeger:4318": "tracing.endpoint must be an http:// or https:// URL",
	} {
		_, err := configs.Load(configs.LoadOptions{Environ: []string{env}})
		require.Error(t, err, env)
		assert.Contains(t, err.Error(), want, env)
	}
}
