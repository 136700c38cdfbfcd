package kafkabroker_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// The reply timeout may be any sane value, and overrides of the timeouts
// derived from it may be set within what the derived values promise.
func TestValidate_AcceptsSettingsWithinTheRules(t *testing.T) {
	tests := []struct {
		name      string
		reply     time.Duration
		overrides map[string]string
	}{
		{"defaults", 10 * time.Second, nil},
		{"smallest_reply", 100 * time.Millisecond, nil},
		{"largest_reply", 30 * time.Minute, nil},
		{"message_timeout_under_reply", 10 * time.Second, map[string]string{"message.timeout.ms": "9999"}},
		{"message_timeout_at_its_lowest", 10 * time.Second, map[string]string{"message.timeout.ms": "1"}},
		{"message_timeout_for_the_consumer_only", 10 * time.Second, map[string]string{"consumer.message.timeout.ms": "60000"}},
		{"session_at_reply", 10 * time.Second, map[string]string{"session.timeout.ms": "10000"}},
		{"session_at_kafkas_minimum_over_short_reply", 2 * time.Second, map[string]string{"session.timeout.ms": "6000"}},
		{"session_for_the_producer_only", 10 * time.Second, map[string]string{"producer.session.timeout.ms": "60000"}},
		{"other_properties_are_librdkafkas_to_judge", 10 * time.Second, map[string]string{"linger.ms": "soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, kafkabroker.Validate(tt.reply, tt.overrides))
		})
	}
}

// A refusal names the override as given (or none, for the reply timeout)
// and says what it must be and why, without naming the setting.
func TestValidate_RefusesSettingsThatBreakTheRules(t *testing.T) {
	tests := []struct {
		name      string
		reply     time.Duration
		overrides map[string]string
		override  string
		problem   string
	}{
		{name: "reply_too_small", reply: 50 * time.Millisecond, problem: "must be between 100ms and 30m0s (got 50ms)"},
		{name: "reply_too_large", reply: time.Hour, problem: "must be between 100ms and 30m0s (got 1h0m0s)"},
		{name: "message_timeout_past_reply", reply: 10 * time.Second, overrides: map[string]string{"message.timeout.ms": "15000"},
			override: "message.timeout.ms",
			problem:  `must be 1 to 9999 (milliseconds), under the reply timeout (10s), so an undeliverable task fails before its reply times out (got "15000")`},
		{name: "message_timeout_at_a_shorter_reply", reply: 2 * time.Second, overrides: map[string]string{"message.timeout.ms": "5000"},
			override: "message.timeout.ms",
			problem:  `must be 1 to 1999 (milliseconds), under the reply timeout (2s), so an undeliverable task fails before its reply times out (got "5000")`},
		{name: "message_timeout_infinite", reply: 10 * time.Second, overrides: map[string]string{"message.timeout.ms": "0"},
			override: "message.timeout.ms", problem: `must be 1 to 9999 (milliseconds)`},
		{name: "producer_message_timeout", reply: 10 * time.Second, overrides: map[string]string{"producer.message.timeout.ms": "10000"},
			override: "producer.message.timeout.ms", problem: `must be 1 to 9999 (milliseconds)`},
		{name: "delivery_timeout_is_the_same_property", reply: 10 * time.Second, overrides: map[string]string{"delivery.timeout.ms": "10000"},
			override: "delivery.timeout.ms", problem: `must be 1 to 9999 (milliseconds)`},
		{name: "message_timeout_not_a_number", reply: 10 * time.Second, overrides: map[string]string{"message.timeout.ms": "5s"},
			override: "message.timeout.ms", problem: `(got "5s")`},
		{name: "session_far_past_reply", reply: 10 * time.Second, overrides: map[string]string{"session.timeout.ms": "45000"},
			override: "session.timeout.ms",
			problem:  `must be 1 to 10000 (milliseconds), at most the reply timeout (10s) or Kafka's minimum session (6s), so a dead worker's tasks move on within a reply timeout (got "45000")`},
		{name: "consumer_session_past_a_short_reply", reply: 2 * time.Second, overrides: map[string]string{"consumer.session.timeout.ms": "10000"},
			override: "consumer.session.timeout.ms", problem: `must be 1 to 6000 (milliseconds)`},
		{name: "first_key_in_order", reply: 10 * time.Second,
			overrides: map[string]string{"session.timeout.ms": "45000", "message.timeout.ms": "15000", "linger.ms": "1"},
			override:  "message.timeout.ms", problem: `must be 1 to 9999 (milliseconds)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := kafkabroker.Validate(tt.reply, tt.overrides)
			var se *kafkabroker.SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.override, se.Override)
			assert.Contains(t, se.Problem, tt.problem)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestSettingError_NamesTheSettingInTheAdaptersTerms(t *testing.T) {
	assert.EqualError(t, kafkabroker.Validate(time.Hour, nil), "reply timeout must be between 100ms and 30m0s (got 1h0m0s)")
	assert.EqualError(t, kafkabroker.Validate(10*time.Second, map[string]string{"consumer.session.timeout.ms": "x"}),
		`kafka setting consumer.session.timeout.ms must be 1 to 10000 (milliseconds), at most the reply timeout (10s) or Kafka's minimum session (6s), so a dead worker's tasks move on within a reply timeout (got "x")`)
}

// The values the adapter derives from a reply timeout pass its own rules,
// so setting them explicitly is never refused.
func TestValidate_AcceptsTheDerivedTimeouts(t *testing.T) {
	for _, reply := range []time.Duration{kafkabroker.MinReplyTimeout, 2 * time.Second, 10 * time.Second, time.Minute, kafkabroker.MaxReplyTimeout} {
		derived := map[string]string{
			"message.timeout.ms": strconv.FormatInt(kafkabroker.MessageTimeout(reply).Milliseconds(), 10),
			"session.timeout.ms": strconv.FormatInt(kafkabroker.SessionTimeout(reply).Milliseconds(), 10),
		}
		assert.NoError(t, kafkabroker.Validate(reply, derived), reply.String())
	}
}
