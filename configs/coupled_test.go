package configs_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

// Settings valid alone that disagree stop the start with one line naming
// them and where they were set. (The adapters' own rules, the Kafka
// adapter's on the reply timeout and kafka.settings and the Redis gate's on
// the lease, the hold and the block settings, are tested where start-up
// runs them, in cmd/internal/startup, and in their adapters.)
func TestCoupledSettings_DisagreementIsOneError(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{name: "sixty_seconds_outlives_the_request", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=60"},
			want: "config: http.request_timeout must be longer than task.reply_timeout (got 15s, reply timeout 1m0s); task.reply_timeout set by KAFKA_GIFT_CODE_TIMEOUT in the environment"},
		{name: "request_outlives_the_write_timeout", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=60", "RPS_HTTP__REQUEST_TIMEOUT=65s"},
			want: "config: http.write_timeout must be longer than http.request_timeout (got 30s, request timeout 1m5s); http.request_timeout set by RPS_HTTP__REQUEST_TIMEOUT in the environment"},
		{name: "write_timeout_equal_to_request", environ: []string{"RPS_HTTP__WRITE_TIMEOUT=15s"},
			want: "config: http.write_timeout must be longer than http.request_timeout (got 15s, request timeout 15s); set by RPS_HTTP__WRITE_TIMEOUT in the environment"},
		{name: "zero_is_not_positive", environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=0"},
			want: "config: task.reply_timeout must be positive (got 0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configs.Load(configs.LoadOptions{Environ: tt.environ})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestGateLease_IsTheReplyTimeoutPlusTheMargin(t *testing.T) {
	cfg, err := configs.Load(configs.LoadOptions{Environ: []string{"KAFKA_GIFT_CODE_TIMEOUT=2", "RPS_GATE__LEASE_MARGIN=1s"}})
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, cfg.GateLease())
}

// Load runs the rules it is given after its own checks, and says where the
// keys a rule names were set; an error that names no key is still one line
// starting with "config".
func TestLoad_RunsTheRulesItIsGiven(t *testing.T) {
	var seen configs.Config
	keyRule := func(c configs.Config) error {
		seen = c
		return &configs.KeyError{Keys: []string{"gate.capacity"}, Msg: "gate.capacity must be even (got 7)"}
	}
	_, err := configs.Load(configs.LoadOptions{Environ: []string{"RATE_LIMIT_CAPACITY=7"}, Rules: []configs.Rule{keyRule}})
	require.EqualError(t, err, "config: gate.capacity must be even (got 7); set by RATE_LIMIT_CAPACITY in the environment")
	assert.Equal(t, 7, seen.Gate.Capacity, "the rule sees the loaded config")

	plain := func(configs.Config) error { return errors.New("no") }
	_, err = configs.Load(configs.LoadOptions{Rules: []configs.Rule{plain}})
	require.EqualError(t, err, "config: no")

	ran := false
	_, err = configs.Load(configs.LoadOptions{
		Environ: []string{"RATE_LIMIT_CAPACITY=0"},
		Rules:   []configs.Rule{func(configs.Config) error { ran = true; return nil }},
	})
	require.ErrorContains(t, err, "gate.capacity must be at least 1")
	assert.False(t, ran, "the generic checks come first")

	ok := func(configs.Config) error { return nil }
	_, err = configs.Load(configs.LoadOptions{Rules: []configs.Rule{ok}})
	require.NoError(t, err)
}
