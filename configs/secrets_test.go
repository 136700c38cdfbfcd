package configs_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

// A secret's variable + _FILE reads the secret from the file a container
// platform mounts, without the trailing newline `echo` leaves.
func TestSecretFiles_ReadTheValueFromTheFile(t *testing.T) {
	environ := []string{
		"RPS_REDIS__URL_FILE=" + write(t, "url", "redis://app:pw@cache:6379/0\n"),
		"RPS_REDIS__PASSWORD_FILE=" + write(t, "pw", "hunter2\r\n"),
		"RPS_REDIS__SENTINEL__PASSWORD_FILE=" + write(t, "sentinel", "s3ntinel"),
		"RPS_KAFKA__SETTINGS__SASL_PASSWORD_FILE=" + write(t, "sasl", "sasl-pw\n"),
		"RPS_TRACING__ENDPOINT_FILE=" + write(t, "otlp", "https://user:token@otlp.example:4318\n"),
	}
	cfg := load(t, configs.LoadOptions{Environ: environ})
	assert.Equal(t, "redis://app:pw@cache:6379/0", cfg.Redis.URL)
	assert.Equal(t, "hunter2", cfg.Redis.Password)
	assert.Equal(t, "s3ntinel", cfg.Redis.Sentinel.Password)
	assert.Equal(t, "sasl-pw", cfg.Kafka.Settings["sasl.password"])
	assert.Equal(t, "https://user:token@otlp.example:4318", cfg.Tracing.Endpoint)
	assert.NotContains(t, cfg.Kafka.Settings, "sasl.password.file")

	// In a .env file too; the environment's plain variable wins over it.
	dotEnv := write(t, ".env", "RPS_REDIS__PASSWORD_FILE="+write(t, "pw2", "from-file\n")+"\n")
	cfg = load(t, configs.LoadOptions{DotEnvFile: dotEnv})
	assert.Equal(t, "from-file", cfg.Redis.Password)
	cfg = load(t, configs.LoadOptions{DotEnvFile: dotEnv, Environ: []string{"RPS_REDIS__PASSWORD=from-env"}})
	assert.Equal(t, "from-env", cfg.Redis.Password)
}

func TestSecretFiles_MistakesAreOneClearError(t *testing.T) {
	pw := write(t, "pw", "hunter2\n")
	hostPort := write(t, "url", "cache:6379\n")
	unreadable := filepath.Join(t.TempDir(), "absent")
	for name, tc := range map[string]struct {
		environ []string
		want    string
	}{
		"both_set": {[]string{"RPS_REDIS__PASSWORD=x", "RPS_REDIS__PASSWORD_FILE=" + pw},
			"config: RPS_REDIS__PASSWORD and RPS_REDIS__PASSWORD_FILE are both set in the environment: set one"},
		"missing_file": {[]string{"RPS_REDIS__PASSWORD_FILE=" + unreadable},
			"config: RPS_REDIS__PASSWORD_FILE in the environment: open " + unreadable + ": no such file or directory"},
		"a_directory": {[]string{"RPS_REDIS__SENTINEL__PASSWORD_FILE=" + t.TempDir()},
			"config: RPS_REDIS__SENTINEL__PASSWORD_FILE in the environment: read "},
		"no_secret": {[]string{"RPS_GATE__CAPACITY_FILE=" + pw},
			"config: RPS_GATE__CAPACITY_FILE in the environment: only secrets (passwords, URLs, kafka.settings credentials) are read from a file; set RPS_GATE__CAPACITY"},
		"unknown": {[]string{"RPS_NOPE_FILE=" + pw},
			"config: unknown setting RPS_NOPE_FILE in the environment"},
		"typo": {[]string{"RPS_REDIS__PASWORD_FILE=" + pw},
			"config: unknown setting RPS_REDIS__PASWORD_FILE in the environment (did you mean RPS_REDIS__PASSWORD_FILE?)"},
		"original_names_have_none": {[]string{"REDIS_URL_FILE=" + pw, "RPS_GATE__CAPACITY=0"},
			"config: gate.capacity must be at least 1"},
		"file_holds_an_invalid_value": {[]string{"RPS_REDIS__URL_FILE=" + hostPort},
			"config: redis.url must be redis://[user:password@]host:port[/db] or rediss://… (got \"cache:6379\"); set by RPS_REDIS__URL_FILE in the environment"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := configs.Load(configs.LoadOptions{Environ: tc.environ})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.NotContains(t, err.Error(), "hunter2", "a secret's file is never quoted")
		})
	}
}

// A key whose own name ends in _file is a key, not a file variable, and a
// librdkafka property that is no credential keeps its name, .file included.
func TestSecretFiles_NamesThatOnlyLookLikeFileVariables(t *testing.T) {
	ca := write(t, "ca.pem", "not read")
	cfg := load(t, configs.LoadOptions{Environ: []string{
		"RPS_REDIS__TLS__CA_FILE=" + ca,
		"RPS_KAFKA__SETTINGS__SASL_OAUTHBEARER_ASSERTION_FILE=/run/secrets/assertion",
	}})
	assert.Equal(t, ca, cfg.Redis.TLS.CAFile)
	assert.Equal(t, "/run/secrets/assertion", cfg.Kafka.Settings["sasl.oauthbearer.assertion.file"])
}

// A pod beside Kubernetes Services still loads with secrets from files.
func TestSecretFiles_BesideServiceLinks(t *testing.T) {
	environ := []string{"RPS_SERVER_PORT=tcp://10.96.12.34:8000", "RPS_REDIS__PASSWORD_FILE=" + write(t, "pw", "hunter2\n")}
	cfg := load(t, configs.LoadOptions{Environ: environ})
	assert.Equal(t, "hunter2", cfg.Redis.Password)
	assert.Equal(t, []string{"RPS_SERVER_PORT"}, configs.ServiceLinkVariables(environ))
}

func TestSecretFiles_TheFileIsReadAsIs(t *testing.T) {
	path := write(t, "pw", "  spaced pw \n\n")
	cfg := load(t, configs.LoadOptions{Environ: []string{"RPS_REDIS__PASSWORD_FILE=" + path}})
	assert.Equal(t, "  spaced pw ", cfg.Redis.Password, "only the trailing newlines go")
}
