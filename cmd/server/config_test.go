package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// The test binary is the server's main when infra.RunMain starts it.
func init() { infra.ActAsMain(main) }

// The binary's -print-config and -check-config, run as a user runs them:
// the real main, its exit code and what it prints, nothing started.
func TestBinary_ConfigCommands(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "redis-password")
	require.NoError(t, os.WriteFile(pwFile, []byte("from-a-file\n"), 0o600))
	for name, tc := range map[string]struct {
		args    []string
		environ []string
		code    int
		stdout  []string // lines printed
		stderr  string   // start of what is printed on stderr
	}{
		"print_password_from_env": {[]string{"-print-config"}, []string{"REDIS_URL=redis://cache:6379/0", "RPS_REDIS__PASSWORD=hunter2"}, 0,
			[]string{"  url: redis://cache:6379/0   # REDIS_URL in the environment", "  password: xxxxx             # RPS_REDIS__PASSWORD in the environment", "  capacity: 100               # default"}, ""},
		"print_password_from_file": {[]string{"-print-config"}, []string{"RPS_REDIS__PASSWORD_FILE=" + pwFile}, 0,
			[]string{"  password: xxxxx             # RPS_REDIS__PASSWORD_FILE in the environment"}, ""},
		"check_ok":          {[]string{"-check-config"}, []string{"RATE_LIMIT_CAPACITY=5"}, 0, []string{"config ok"}, ""},
		"check_invalid":     {[]string{"-check-config"}, []string{"RATE_LIMIT_CAPACITY=0"}, 1, nil, "server: config: gate.capacity must be at least 1 (got 0); set by RATE_LIMIT_CAPACITY in the environment\n"},
		"print_invalid":     {[]string{"-print-config"}, []string{"RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=45000"}, 1, nil, "server: config: kafka.settings.session.timeout.ms must be"},
		"check_unreadable":  {[]string{"-check-config"}, []string{"RPS_REDIS__PASSWORD_FILE=/nonexistent/pw"}, 1, nil, "server: config: RPS_REDIS__PASSWORD_FILE in the environment: open /nonexistent/pw: no such file or directory\n"},
		"check_config_file": {[]string{"-check-config", "-config", "testdata/none.yaml"}, nil, 1, nil, "server: config: open testdata/none.yaml: no such file or directory"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := infra.RunMain(t, tc.environ, append(tc.args, "-env", "testdata/none.env")...)
			assert.Equal(t, tc.code, code, "stderr: %s", errOut)
			for _, line := range tc.stdout {
				assert.Contains(t, out, line+"\n")
			}
			if tc.code != 0 {
				assert.Empty(t, out)
			}
			assert.True(t, strings.HasPrefix(errOut, tc.stderr), "stderr: %s", errOut)
			assert.NotContains(t, out+errOut, "hunter2")
			assert.NotContains(t, out+errOut, "from-a-file")
			assert.NotContains(t, out+errOut, `"level"`, "nothing started, nothing logged")
		})
	}
}
