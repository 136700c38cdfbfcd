package startup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

// Short heartbeats and graces load (tests use them), the defaults bound the
// removal of a dead server's topic to under two minutes.
func TestReplyTopicTiming_LoadsWhenTheGraceSpansThreeHeartbeats(t *testing.T) {
	cfg, err := load(t, []string{"RPS_KAFKA__REPLY_TOPIC_HEARTBEAT=1s", "RPS_KAFKA__REPLY_TOPIC_GRACE=3s"}, "")
	require.NoError(t, err)
	assert.Equal(t, time.Second, cfg.Kafka.ReplyTopicHeartbeat)
	assert.Equal(t, 3*time.Second, cfg.Kafka.ReplyTopicGrace)

	def := configs.Default().Kafka
	assert.Equal(t, 10*time.Second, def.ReplyTopicHeartbeat)
	assert.Equal(t, time.Minute, def.ReplyTopicGrace)
}

// A grace a live server could fall out of stops the start with one line
// naming the key and where it was set.
func TestReplyTopicTiming_AGraceUnderThreeHeartbeatsIsOneError(t *testing.T) {
	for name, tc := range map[string]struct {
		environ []string
		want    string
	}{
		"grace_under_three_heartbeats": {[]string{"RPS_KAFKA__REPLY_TOPIC_GRACE=29s"},
			"config: kafka.reply_topic_grace must be at least 3 heartbeats (30s), so a live instance may miss 2 in a row (got 29s); set by RPS_KAFKA__REPLY_TOPIC_GRACE in the environment"},
		"heartbeat_raised_past_the_grace": {[]string{"RPS_KAFKA__REPLY_TOPIC_HEARTBEAT=30s"},
			"config: kafka.reply_topic_grace must be at least 3 heartbeats (1m30s), so a live instance may miss 2 in a row (got 1m0s); kafka.reply_topic_heartbeat set by RPS_KAFKA__REPLY_TOPIC_HEARTBEAT in the environment"},
		"heartbeat_too_short": {[]string{"RPS_KAFKA__REPLY_TOPIC_HEARTBEAT=10ms"},
			"config: kafka.reply_topic_heartbeat must be at least 100ms (got 10ms); set by RPS_KAFKA__REPLY_TOPIC_HEARTBEAT in the environment"},
		"grace_zero": {[]string{"RPS_KAFKA__REPLY_TOPIC_GRACE=0s"},
			"config: kafka.reply_topic_grace must be positive (got 0s)"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.environ, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
