package configs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

// Each layer's value says where it came from: the file, the .env file, the
// variable by its own name (the original's, an RPS_ one, a secret's _FILE).
func TestLoadWithOrigins_SaysWhereEachValueWasSet(t *testing.T) {
	opts := layers(t,
		[]string{"REDIS_URL=redis://cache:6379/0", "RPS_REDIS__PASSWORD_FILE=" + write(t, "pw", "hunter2\n")},
		"gate:\n  capacity: 7\nkafka:\n  reply_timeout: 3s\n  settings:\n    linger.ms: 2\n",
		"RPS_LOG__LEVEL=debug\n")
	cfg, origins, err := configs.LoadWithOrigins(opts)
	require.NoError(t, err)
	assert.Equal(t, "hunter2", cfg.Redis.Password)
	for key, want := range map[string]string{
		"gate.capacity":            "file " + opts.ConfigFile,
		"task.reply_timeout":       "kafka.reply_timeout in file " + opts.ConfigFile,
		"kafka.settings.linger.ms": "file " + opts.ConfigFile,
		"log.level":                "RPS_LOG__LEVEL in " + opts.DotEnvFile,
		"redis.url":                "REDIS_URL in the environment",
		"redis.password":           "RPS_REDIS__PASSWORD_FILE in the environment",
		"http.port":                "default",
	} {
		assert.Equal(t, want, origins.Of(key), key)
	}
	assert.True(t, origins.Set("gate.capacity"))
	assert.False(t, origins.Set("http.shutdown_delay"))
}

// The printed config is YAML that loads back as the same config, every key
// with its origin, so a user can copy it into a config file.
func TestWriteYAML_LoadsBackAsTheSameConfig(t *testing.T) {
	opts := layers(t, []string{"RPS_GATE__KEY={tenant}:gate", "RPS_HTTP__TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.1",
		"RPS_KAFKA__SETTINGS__LINGER_MS=5", "RPS_TRACING__SAMPLE_RATIO=0.25", "RPS_KAFKA__TASKS_TOPIC=123", "RPS_WORKER__WATCH=false"},
		"http:\n  port: 9000\n", "")
	cfg, origins, err := configs.LoadWithOrigins(opts)
	require.NoError(t, err)

	var out strings.Builder
	require.NoError(t, cfg.WriteYAML(&out, origins))
	printed := out.String()
	again, err := configs.Load(configs.LoadOptions{ConfigFile: write(t, "printed.yaml", printed)})
	require.NoError(t, err, printed)
	assert.Equal(t, cfg, again, printed)

	assert.Contains(t, printed, "  port: 9000                  # file "+opts.ConfigFile+"\n")
	assert.Contains(t, printed, "  key: '{tenant}:gate'        # RPS_GATE__KEY in the environment\n")
	assert.Contains(t, printed, "  tasks_topic: \"123\"          # RPS_KAFKA__TASKS_TOPIC in the environment\n")
	assert.Contains(t, printed, "    linger.ms: \"5\"            # RPS_KAFKA__SETTINGS__LINGER_MS in the environment\n")
	assert.Contains(t, printed, "  reply_timeout: 10s          # default\n")
	for _, f := range []string{"http:", "task:", "gate:", "redis:", "kafka:", "worker:", "log:", "debug:", "tracing:", "idempotency:"} {
		assert.Contains(t, "\n"+printed, "\n"+f+"\n", "every section")
	}
}

// Secrets are masked wherever they were set, and the printed config still
// says where.
func TestWriteYAML_MasksSecrets(t *testing.T) {
	environ := []string{
		"REDIS_URL=redis://app:url-secret@cache:6379/0", "RPS_REDIS__PASSWORD=pw-secret", "RPS_REDIS__SENTINEL__PASSWORD=sentinel-secret",
		"RPS_KAFKA__SETTINGS__SASL_PASSWORD=sasl-secret", "RPS_KAFKA__SETTINGS__SASL_USERNAME=app",
	}
	cfg, origins, err := configs.LoadWithOrigins(configs.LoadOptions{Environ: environ})
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, cfg.WriteYAML(&out, origins))
	printed := out.String()
	assert.NotContains(t, printed, "secret")
	assert.Contains(t, printed, "  url: redis://app:xxxxx@cache:6379/0  # REDIS_URL in the environment\n")
	assert.Contains(t, printed, "  password: xxxxx             # RPS_REDIS__PASSWORD in the environment\n")
	assert.Contains(t, printed, "    password: xxxxx           # RPS_REDIS__SENTINEL__PASSWORD in the environment\n")
	assert.Contains(t, printed, "    sasl.password: xxxxx      # RPS_KAFKA__SETTINGS__SASL_PASSWORD in the environment\n")
	assert.Contains(t, printed, "    sasl.username: app        # RPS_KAFKA__SETTINGS__SASL_USERNAME in the environment\n")
}

func TestParseArgs_ConfigCommands(t *testing.T) {
	a, err := configs.ParseArgs("server", []string{"-print-config", "-env", ""}, []string{"RPS_CONFIG=c.yaml"})
	require.NoError(t, err)
	assert.Equal(t, configs.Args{ConfigFile: "c.yaml", PrintConfig: true}, a)

	a, err = configs.ParseArgs("worker", []string{"-check-config"}, nil)
	require.NoError(t, err)
	assert.Equal(t, configs.Args{DotEnvFile: ".env", CheckConfig: true}, a)

	_, err = configs.ParseArgs("worker", []string{"-help"}, nil)
	require.ErrorContains(t, err, "usage: worker [-config file.yaml] [-env .env] [-print-config | -check-config]")
}

func TestEmbedded_NeitherRedisNorKafka(t *testing.T) {
	for environ, want := range map[string]bool{
		"":                                   true,
		"REDIS_URL=redis://cache:6379/0":     false,
		"KAFKA_BOOTSTRAP_SERVERS=kafka:9092": false,
		"RPS_HTTP__SHUTDOWN_DELAY=" + time.Second.String(): true,
	} {
		cfg := load(t, configs.LoadOptions{Environ: []string{environ}})
		assert.Equal(t, want, cfg.Embedded(), environ)
	}
}
