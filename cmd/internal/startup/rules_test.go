package startup

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/observability"
)

// load loads the config as Begin does: the generic checks and the rules.
func load(t *testing.T, environ []string, yaml string) (configs.Config, error) {
	t.Helper()
	opts := configs.LoadOptions{Environ: environ, Rules: rules()}
	if yaml != "" {
		opts.ConfigFile = filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(opts.ConfigFile, []byte(yaml), 0o600))
	}
	return configs.Load(opts)
}

// The reply timeout may be set to any sane value: the Kafka adapter derives
// its delivery and session timeouts from it, so these load as they are.
func TestReplyTimeout_LoadsAcrossItsRange(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    time.Duration
	}{
		{"two_seconds", []string{"KAFKA_GIFT_CODE_TIMEOUT=2"}, 2 * time.Second},
		{"sixty_seconds_with_longer_http_timeouts",
			[]string{"KAFKA_GIFT_CODE_TIMEOUT=60", "RPS_HTTP__REQUEST_TIMEOUT=65s", "RPS_HTTP__WRITE_TIMEOUT=70s"}, time.Minute},
		{"smallest", []string{"KAFKA_GIFT_CODE_TIMEOUT=100ms"}, 100 * time.Millisecond},
		{"largest", []string{"KAFKA_GIFT_CODE_TIMEOUT=30m", "RPS_HTTP__REQUEST_TIMEOUT=31m", "RPS_HTTP__WRITE_TIMEOUT=32m",
			"RPS_WORKER__LEDGER_WINDOW=62m"}, 30 * time.Minute},
		{"message_timeout_under_reply", []string{"RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS=9999"}, 10 * time.Second},
		{"message_timeout_at_its_lowest", []string{"RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS=1"}, 10 * time.Second},
		{"message_timeout_for_the_consumer_only", []string{"RPS_KAFKA__SETTINGS__CONSUMER_MESSAGE_TIMEOUT_MS=60000"}, 10 * time.Second},
		{"session_at_reply", []string{"RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=10000"}, 10 * time.Second},
		{"session_at_kafkas_minimum_over_short_reply", []string{"KAFKA_GIFT_CODE_TIMEOUT=2", "RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=6000"}, 2 * time.Second},
		{"session_for_the_producer_only", []string{"RPS_KAFKA__SETTINGS__PRODUCER_SESSION_TIMEOUT_MS=60000"}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.environ, "")
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Task.ReplyTimeout)
		})
	}
}

// A setting the Kafka adapter refuses stops the start with one line naming
// the key and where it was set, as the loader's own checks do.
func TestKafkaRules_InconsistentSettingsAreOneError(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		yaml    string
		want    string
	}{
		{name: "too_small", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=0.05"},
			want: "config: task.reply_timeout must be between 100ms and 30m0s (got 50ms); set by KAFKA_GIFT_CODE_TIMEOUT in the environment"},
		{name: "too_large", environ: []string{"RPS_KAFKA__REPLY_TIMEOUT=1h", "RPS_HTTP__REQUEST_TIMEOUT=2h", "RPS_HTTP__WRITE_TIMEOUT=3h"},
			want: "config: task.reply_timeout must be between 100ms and 30m0s (got 1h0m0s); set by RPS_KAFKA__REPLY_TIMEOUT in the environment"},
		{name: "message_timeout_past_reply", environ: []string{"RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS=15000"},
			want: `config: kafka.settings.message.timeout.ms must be 1 to 9999 (milliseconds), under the reply timeout (10s), so an undeliverable task fails before its reply times out (got "15000"); set by RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS in the environment`},
		{name: "message_timeout_at_a_shorter_reply", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=2", "RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS=5000"},
			want: "kafka.settings.message.timeout.ms must be 1 to 1999 (milliseconds), under the reply timeout (2s), so an undeliverable task fails before its reply times out (got \"5000\"); set by RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS in the environment, task.reply_timeout set by KAFKA_GIFT_CODE_TIMEOUT in the environment"},
		{name: "message_timeout_infinite", yaml: "kafka:\n  settings:\n    message.timeout.ms: 0\n",
			want: `kafka.settings.message.timeout.ms must be 1 to 9999 (milliseconds), under the reply timeout (10s), so an undeliverable task fails before its reply times out (got "0"); set by file `},
		{name: "producer_message_timeout", yaml: "kafka:\n  settings:\n    producer:\n      message.timeout.ms: 10000\n",
			want: `kafka.settings.producer.message.timeout.ms must be 1 to 9999 (milliseconds)`},
		{name: "delivery_timeout_is_the_same_property", environ: []string{"RPS_KAFKA__SETTINGS__DELIVERY_TIMEOUT_MS=10000"},
			want: `kafka.settings.delivery.timeout.ms must be 1 to 9999 (milliseconds)`},
		{name: "message_timeout_not_a_number", environ: []string{"RPS_KAFKA__SETTINGS__MESSAGE_TIMEOUT_MS=5s"},
			want: `kafka.settings.message.timeout.ms must be 1 to 9999 (milliseconds), under the reply timeout (10s), so an undeliverable task fails before its reply times out (got "5s")`},
		{name: "session_far_past_reply", environ: []string{"RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=45000"},
			want: `config: kafka.settings.session.timeout.ms must be 1 to 10000 (milliseconds), at most the reply timeout (10s) or Kafka's minimum session (6s), so a dead worker's tasks move on within a reply timeout (got "45000"); set by RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS in the environment`},
		{name: "consumer_session_past_a_short_reply", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=2", "RPS_KAFKA__SETTINGS__CONSUMER_SESSION_TIMEOUT_MS=10000"},
			want: `kafka.settings.consumer.session.timeout.ms must be 1 to 6000 (milliseconds)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.environ, tt.yaml)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

// Begin runs the rules: a setting the Kafka adapter refuses stops the start
// before anything is started, even without Kafka configured.
func TestBegin_RefusesWhatTheKafkaAdapterRefuses(t *testing.T) {
	build := observability.BuildInfo{Binary: "server", Version: "test"}
	_, err := Begin(context.Background(), build, []string{"-env", ""}, []string{"RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=45000"}, io.Discard)
	require.ErrorContains(t, err, "config: kafka.settings.session.timeout.ms must be 1 to 10000 (milliseconds)")

	// GOGC set: Begin leaves the test process's collector alone.
	p, err := Begin(context.Background(), build, []string{"-env", ""}, []string{"RPS_KAFKA__SETTINGS__SESSION_TIMEOUT_MS=10000", "GOGC=100"}, io.Discard)
	require.NoError(t, err, "within the rule")
	p.Close()
}

// A lease, hold or block setting the Redis gate refuses stops the start with
// one line naming the keys and where they were set, in every mode (the
// rules moved here from configs keep their cases).
func TestGateRules_InconsistentSettingsAreOneError(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{name: "block_idle_under_a_millisecond", environ: []string{"RPS_GATE__BLOCK_IDLE=500us"},
			want: "config: gate.block_idle must be at least 1ms when gate.block_size is over 1 (got 500µs); set by RPS_GATE__BLOCK_IDLE in the environment"},
		{name: "block_idle_over_a_quarter_lease", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=1", "RPS_GATE__LEASE_MARGIN=1s", "RPS_GATE__BLOCK_IDLE=600ms"},
			want: "config: gate.block_idle must be at most a quarter of the lease (task.reply_timeout + gate.lease_margin) (got 600ms, lease 2s); set by RPS_GATE__BLOCK_IDLE in the environment, task.reply_timeout set by KAFKA_GIFT_CODE_TIMEOUT in the environment, gate.lease_margin set by RPS_GATE__LEASE_MARGIN in the environment"},
		{name: "lease_margin_of_a_millisecond", environ: []string{"RPS_GATE__LEASE_MARGIN=1ms"},
			want: "config: the lease (task.reply_timeout + gate.lease_margin) must cover the hold (task.reply_timeout + gate.release_timeout) and 0.1% of itself for clock drift, so that no slot's lease ends while a request holds it (got 10.001s, hold 12s: at least 12.013s); gate.lease_margin set by RPS_GATE__LEASE_MARGIN in the environment"},
		{name: "release_timeout_past_the_margin", environ: []string{"RPS_GATE__RELEASE_TIMEOUT=5s"},
			want: "config: the lease (task.reply_timeout + gate.lease_margin) must cover the hold (task.reply_timeout + gate.release_timeout) and 0.1% of itself for clock drift, so that no slot's lease ends while a request holds it (got 15s, hold 15s: at least 15.016s); gate.release_timeout set by RPS_GATE__RELEASE_TIMEOUT in the environment"},
		{name: "per_request_mode_too", environ: []string{"RPS_GATE__BLOCK_SIZE=1", "RPS_GATE__LEASE_MARGIN=2s"},
			want: "config: the lease (task.reply_timeout + gate.lease_margin) must cover the hold"},
		{name: "block_idle_past_what_the_hold_leaves", environ: []string{"RPS_GATE__LEASE_MARGIN=2090ms", "RPS_GATE__BLOCK_IDLE=20ms"},
			want: "config: gate.block_idle must be at most a quarter of what the lease (task.reply_timeout + gate.lease_margin) leaves beyond the hold (task.reply_timeout + gate.release_timeout) and 0.1% of itself for clock drift (got 20ms, lease 12.09s, hold 12s: at most 19.4775ms); set by RPS_GATE__BLOCK_IDLE in the environment, gate.lease_margin set by RPS_GATE__LEASE_MARGIN in the environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.environ, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

// Settings the gate can keep its cap with load as they are: the defaults,
// a short lease that still covers a short hold, and the per-request mode,
// which has no block idle.
func TestGateRules_AcceptWhatTheGateCanKeep(t *testing.T) {
	for name, environ := range map[string][]string{
		"defaults":               nil,
		"short_lease_and_hold":   {"KAFKA_GIFT_CODE_TIMEOUT=2", "RPS_GATE__LEASE_MARGIN=1s", "RPS_GATE__RELEASE_TIMEOUT=500ms"},
		"per_request_any_idle":   {"RPS_GATE__BLOCK_SIZE=1", "RPS_GATE__BLOCK_IDLE=1h"},
		"margin_just_enough":     {"RPS_GATE__LEASE_MARGIN=2013ms", "RPS_GATE__BLOCK_SIZE=1"},
		"idle_as_long_as_it_may": {"RPS_GATE__BLOCK_IDLE=746ms"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, environ, "")
			require.NoError(t, err)
		})
	}
}

// Begin runs the gate's rules too: a lease that cannot cover the hold stops
// the start before anything is started, even without Redis configured.
func TestBegin_RefusesWhatTheGateRefuses(t *testing.T) {
	build := observability.BuildInfo{Binary: "server", Version: "test"}
	_, err := Begin(context.Background(), build, []string{"-env", ""}, []string{"RPS_GATE__LEASE_MARGIN=1ms"}, io.Discard)
	require.ErrorContains(t, err, "config: the lease (task.reply_timeout + gate.lease_margin) must cover the hold")
}

// Workers skip tasks older than half the ledger's window; the rule keeps
// that age past the reply timeout (plus a minute for clocks), so no task a
// request still waits for is skipped. worker.ledger_ttl shortens the
// window, so it is named when it is the shorter.
func TestTaskAgeRules(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string // empty: loads
	}{
		{name: "defaults"},
		{name: "at_the_bound", environ: []string{"RPS_WORKER__LEDGER_WINDOW=2m20s"}},
		{name: "window_too_short", environ: []string{"RPS_WORKER__LEDGER_WINDOW=2m"},
			want: "config: half of worker.ledger_window (the oldest task a worker runs) must be at least the reply timeout plus 1m0s for clocks that differ, 1m10s (got 1m0s); set by RPS_WORKER__LEDGER_WINDOW in the environment"},
		{name: "reply_timeout_too_long", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=5m", "RPS_HTTP__REQUEST_TIMEOUT=6m", "RPS_HTTP__WRITE_TIMEOUT=7m"},
			want: "must be at least the reply timeout plus 1m0s for clocks that differ, 6m0s (got 5m0s)"},
		{name: "ledger_ttl_shortens_the_window", environ: []string{"RPS_WORKER__LEDGER_TTL=2m"},
			want: "config: half of worker.ledger_ttl (the oldest task a worker runs) must be at least"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.environ, "")
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
