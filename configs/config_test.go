package configs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func load(t *testing.T, opts configs.LoadOptions) configs.Config {
	t.Helper()
	cfg, err := configs.Load(opts)
	require.NoError(t, err)
	return cfg
}

func TestDefaults_AreTheEmbeddedMode(t *testing.T) {
	cfg := load(t, configs.LoadOptions{})
	assert.False(t, cfg.UsesRedis())
	assert.False(t, cfg.UsesKafka())
	assert.Equal(t, 100, cfg.Gate.Capacity)
	assert.Equal(t, "0.0.0.0:8000", cfg.HTTP.Addr())
	assert.Equal(t, 10*time.Second, cfg.Kafka.ReplyTimeout)
	assert.Equal(t, "tasks", cfg.Kafka.TasksTopic)
	assert.Equal(t, "results", cfg.Kafka.ResultsTopic)
	assert.Equal(t, 1000, cfg.Worker.Concurrency)
	assert.Equal(t, "gift-service-workers", cfg.Worker.Group)
}

func TestExampleFile_EqualsTheDefaults(t *testing.T) {
	withExample := load(t, configs.LoadOptions{ConfigFile: "example.yaml"})
	assert.Equal(t, load(t, configs.LoadOptions{}), withExample, "example.yaml drifted from the defaults")
}

func TestLocalFile_PointsAtTheProjectsInfra(t *testing.T) {
	cfg := load(t, configs.LoadOptions{ConfigFile: "local.yaml"})
	assert.True(t, cfg.UsesRedis())
	assert.True(t, cfg.UsesKafka())
}

func TestPrecedence_DefaultsFileDotEnvEnvironment(t *testing.T) {
	yml := write(t, "c.yaml", "gate:\n  capacity: 10\nhttp:\n  port: 9001\nkafka:\n  tasks_topic: from-yaml\n")
	env := write(t, ".env", "RATE_LIMIT_CAPACITY=20\nPORT=9002\n")
	cfg := load(t, configs.LoadOptions{ConfigFile: yml, DotEnvFile: env, Environ: []string{"PORT=9003"}})
	assert.Equal(t, 20, cfg.Gate.Capacity, ".env beats the file")
	assert.Equal(t, 9003, cfg.HTTP.Port, "the environment beats .env")
	assert.Equal(t, "from-yaml", cfg.Kafka.TasksTopic, "the file beats the defaults")
}

func TestOriginalNames(t *testing.T) {
	cfg := load(t, configs.LoadOptions{Environ: []string{
		"KAFKA_BOOTSTRAP_SERVERS=k1:9092,k2:9092",
		"KAFKA_GIFT_CODE_TIMEOUT=2.5",
		"TASKS_TOPIC=t",
		"RESULTS_TOPIC=r",
		"REDIS_URL=redis://:secret@cache:6379/2",
		"RATE_LIMIT_CAPACITY=7",
		"WORKER_CONCURRENCY=3",
		"HOST=127.0.0.1",
		"PORT=8080",
		"LOG_LEVEL=debug",
		"RPS_HTTP__REQUEST_TIMEOUT=5s",
	}})
	assert.Equal(t, "k1:9092,k2:9092", cfg.Kafka.Bootstrap)
	assert.Equal(t, 2500*time.Millisecond, cfg.Kafka.ReplyTimeout)
	assert.Equal(t, "t", cfg.Kafka.TasksTopic)
	assert.Equal(t, "r", cfg.Kafka.ResultsTopic)
	assert.Equal(t, "redis://:secret@cache:6379/2", cfg.Redis.URL)
	assert.Equal(t, 7, cfg.Gate.Capacity)
	assert.Equal(t, 3, cfg.Worker.Concurrency)
	assert.Equal(t, "127.0.0.1:8080", cfg.HTTP.Addr())
	assert.Equal(t, "debug", cfg.Log.Level)

	assert.Equal(t, 10*time.Second, load(t, configs.LoadOptions{Environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=10.0"}}).Kafka.ReplyTimeout)
	assert.Equal(t, 3*time.Second, load(t, configs.LoadOptions{Environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=3s"}}).Kafka.ReplyTimeout)
}

func TestPrefixedNameBeatsOriginalName(t *testing.T) {
	for _, env := range [][]string{
		{"RATE_LIMIT_CAPACITY=7", "RPS_GATE__CAPACITY=9"},
		{"RPS_GATE__CAPACITY=9", "RATE_LIMIT_CAPACITY=7"},
	} {
		assert.Equal(t, 9, load(t, configs.LoadOptions{Environ: env}).Gate.Capacity)
	}
	// Also across layers: an RPS_ name in .env beats an original name in .env.
	env := write(t, ".env", "RATE_LIMIT_CAPACITY=7\nRPS_GATE__CAPACITY=9\n")
	assert.Equal(t, 9, load(t, configs.LoadOptions{DotEnvFile: env}).Gate.Capacity)
}

func TestKafkaSettingsFromEnvironmentAndFile(t *testing.T) {
	yml := write(t, "c.yaml", "kafka:\n  settings:\n    fetch.wait.max.ms: \"5\"\n")
	cfg := load(t, configs.LoadOptions{ConfigFile: yml, Environ: []string{"RPS_KAFKA__SETTINGS__LINGER_MS=1"}})
	assert.Equal(t, map[string]string{"linger.ms": "1", "fetch.wait.max.ms": "5"}, cfg.Kafka.Settings)
}

func TestMissingDotEnvIsFine_MissingConfigFileIsNot(t *testing.T) {
	load(t, configs.LoadOptions{DotEnvFile: filepath.Join(t.TempDir(), "absent.env")})
	_, err := configs.Load(configs.LoadOptions{ConfigFile: filepath.Join(t.TempDir(), "absent.yaml")})
	require.ErrorContains(t, err, "absent.yaml")
}

func TestInvalidSettings_OneLineNamingTheKey(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		yaml    string
		want    string
	}{
		{name: "capacity_zero", environ: []string{"RATE_LIMIT_CAPACITY=0"}, want: "gate.capacity must be at least 1 (got 0)"},
		{name: "capacity_not_a_number", environ: []string{"RATE_LIMIT_CAPACITY=abc"}, want: "gate.capacity"},
		{name: "negative_timeout", environ: []string{"RPS_GATE__RELEASE_TIMEOUT=-1s"}, want: "gate.release_timeout must be positive"},
		{name: "bad_duration", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=soon"}, want: "kafka.reply_timeout"},
		{name: "bad_redis_url", environ: []string{"REDIS_URL=http://user:pw@x"}, want: "redis.url must be"},
		{name: "bad_bootstrap", environ: []string{"KAFKA_BOOTSTRAP_SERVERS=justahost"}, want: "kafka.bootstrap must be"},
		{name: "request_not_longer_than_reply", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=20"}, want: "http.request_timeout must be longer than kafka.reply_timeout"},
		{name: "port_out_of_range", environ: []string{"PORT=70000"}, want: "http.port"},
		{name: "same_topics", environ: []string{"RESULTS_TOPIC=tasks"}, want: "kafka.results_topic"},
		{name: "bad_log_level", environ: []string{"LOG_LEVEL=loud"}, want: "log.level"},
		{name: "unknown_prefixed_variable", environ: []string{"RPS_GATE__CAPACTIY=5"}, want: "unknown setting RPS_GATE__CAPACTIY"},
		{name: "unknown_yaml_key", yaml: "gate:\n  capactiy: 5\n", want: `unknown key "gate.capactiy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := configs.LoadOptions{Environ: tt.environ}
			if tt.yaml != "" {
				opts.ConfigFile = write(t, "c.yaml", tt.yaml)
			}
			_, err := configs.Load(opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "pw@", "secrets stay out of errors")
		})
	}
}

func TestUnrelatedEnvironmentIsIgnored(t *testing.T) {
	load(t, configs.LoadOptions{Environ: []string{"PATH=/bin", "HOME=/root", "NOT_AN_ASSIGNMENT"}})
}

func TestLogValue_MasksTheRedisPassword(t *testing.T) {
	cfg := load(t, configs.LoadOptions{Environ: []string{"REDIS_URL=redis://user:hunter2@cache:6379/0"}})
	logged := cfg.LogValue().String()
	assert.NotContains(t, logged, "hunter2")
	assert.Contains(t, logged, "cache:6379")
}

func TestFromArgs(t *testing.T) {
	yml := write(t, "c.yaml", "gate:\n  capacity: 11\n")
	cfg, err := configs.FromArgs("server", []string{"-config", yml, "-env", ""}, nil)
	require.NoError(t, err)
	assert.Equal(t, 11, cfg.Gate.Capacity)

	cfg, err = configs.FromArgs("server", []string{"-env", ""}, []string{"RPS_CONFIG=" + yml})
	require.NoError(t, err)
	assert.Equal(t, 11, cfg.Gate.Capacity)

	_, err = configs.FromArgs("server", []string{"-nope"}, nil)
	require.Error(t, err)
}
