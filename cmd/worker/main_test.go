package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// The test binary is the worker's main when infra.RunMain starts it.
func init() { infra.ActAsMain(main) }

// The worker's -print-config and -check-config, run as a user runs them:
// the real main, its exit code and what it prints; nothing dials Kafka.
func TestBinary_ConfigCommands(t *testing.T) {
	withKafka := []string{"KAFKA_BOOTSTRAP_SERVERS=kafka.invalid:9092", "RPS_KAFKA__SETTINGS__SASL_PASSWORD=hunter2"}
	for name, tc := range map[string]struct {
		args    []string
		environ []string
		code    int
		stdout  string // a line printed
		stderr  string // start of what is printed on stderr
	}{
		"print": {[]string{"-print-config"}, withKafka, 0,
			"    sasl.password: xxxxx      # RPS_KAFKA__SETTINGS__SASL_PASSWORD in the environment\n", ""},
		"check_ok": {[]string{"-check-config"}, withKafka, 0, "config ok\n", ""},
		"check_no_kafka": {[]string{"-check-config"}, nil, 1, "",
			"worker: config: kafka.bootstrap must be set for the worker, which consumes its tasks from Kafka: set KAFKA_BOOTSTRAP_SERVERS"},
		"check_invalid": {[]string{"-check-config"}, append([]string{"WORKER_CONCURRENCY=0"}, withKafka...), 1, "",
			"worker: config: worker.concurrency must be at least 1 (got 0); set by WORKER_CONCURRENCY in the environment\n"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := infra.RunMain(t, tc.environ, append(tc.args, "-env", "")...)
			assert.Equal(t, tc.code, code, "stderr: %s", errOut)
			assert.Contains(t, out, tc.stdout)
			assert.True(t, strings.HasPrefix(errOut, tc.stderr), "stderr: %s", errOut)
			assert.NotContains(t, out+errOut, "hunter2")
		})
	}
}
