package startup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// command runs configCommand as Main would, and returns what it printed.
func command(t *testing.T, binary string, args, environ []string) (code int, done bool, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code, done = configCommand(binary, append(args, "-env", ""), environ, &out, &errOut)
	return code, done, out.String(), errOut.String()
}

func TestConfigCommand_PrintsTheEffectiveConfigWithSecretsMasked(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "sentinel")
	require.NoError(t, os.WriteFile(pw, []byte("s3ntinel\n"), 0o600))
	environ := []string{"REDIS_URL=redis://app:url-pw@cache:6379/0", "RPS_REDIS__PASSWORD=hunter2",
		"RPS_REDIS__SENTINEL__PASSWORD_FILE=" + pw, "RATE_LIMIT_CAPACITY=50", "PATH=/bin"}
	code, done, out, errOut := command(t, "server", []string{"-print-config"}, environ)
	require.True(t, done)
	assert.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut)
	assert.True(t, strings.HasPrefix(out, "# The effective config of server:"), out)
	for _, line := range []string{
		"  url: redis://app:xxxxx@cache:6379/0  # REDIS_URL in the environment\n",
		"  password: xxxxx             # RPS_REDIS__PASSWORD in the environment\n",
		"    password: xxxxx           # RPS_REDIS__SENTINEL__PASSWORD_FILE in the environment\n",
		"  capacity: 50                # RATE_LIMIT_CAPACITY in the environment\n",
		"  port: 8000                  # default\n",
	} {
		assert.Contains(t, out, line)
	}
	for _, secret := range []string{"hunter2", "url-pw", "s3ntinel"} {
		assert.NotContains(t, out, secret)
	}
}

func TestConfigCommand_ChecksAsStartUpDoes(t *testing.T) {
	for name, tc := range map[string]struct {
		binary  string
		environ []string
		code    int
		stdout  string
		stderr  string
	}{
		"valid":          {"server", nil, 0, "config ok\n", ""},
		"generic_check":  {"server", []string{"RATE_LIMIT_CAPACITY=0"}, 1, "", "server: config: gate.capacity must be at least 1 (got 0); set by RATE_LIMIT_CAPACITY in the environment\n"},
		"adapter_rule":   {"server", []string{"RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=45000"}, 1, "", "server: config: kafka.settings.session.timeout.ms must be 1 to 10000 (milliseconds)"},
		"unknown_var":    {"server", []string{"RPS_GATE__CAPACITI=5"}, 1, "", "server: config: unknown setting RPS_GATE__CAPACITI in the environment (did you mean RPS_GATE__CAPACITY?)"},
		"worker_kafka":   {"worker", []string{"KAFKA_BOOTSTRAP_SERVERS=kafka:9092"}, 0, "config ok\n", ""},
		"worker_nokafka": {"worker", nil, 1, "", "worker: config: kafka.bootstrap must be set for the worker, which consumes its tasks from Kafka"},
	} {
		t.Run(name, func(t *testing.T) {
			code, done, out, errOut := command(t, tc.binary, []string{"-check-config"}, tc.environ)
			require.True(t, done)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.stdout, out)
			assert.True(t, strings.HasPrefix(errOut, tc.stderr), errOut)
			assert.LessOrEqual(t, strings.Count(errOut, "\n"), 1, "one line")
		})
	}
}

// Without a config command, or with a bad command line, run goes on and
// reports it as it always has.
func TestConfigCommand_LeavesEverythingElseToRun(t *testing.T) {
	for _, args := range [][]string{nil, {"-config", "c.yaml"}, {"-nope", "-check-config"}, {"-h"}} {
		var out, errOut strings.Builder
		_, done := configCommand("server", args, nil, &out, &errOut)
		assert.False(t, done, "%q", args)
		assert.Empty(t, out.String()+errOut.String())
	}
}
