package kafkabroker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of the reply timeout. Below the minimum a round trip through Kafka
// cannot be relied on (the first task after a worker joins took ~100 ms);
// above the maximum a consumer session that follows the reply timeout no
// longer fits Kafka's default group.max.session.timeout.ms.
const (
	MinReplyTimeout = 100 * time.Millisecond
	MaxReplyTimeout = maxSessionTimeout
)

// SettingError is a setting the adapter refuses: the reply timeout itself
// (Override empty) or one override (Override is its key as given, e.g.
// "producer.message.timeout.ms"). Problem says what it must be and why
// without naming the setting, so that the caller names it as its users know
// it (a config key, a flag).
type SettingError struct {
	Override string
	Problem  string
}

func (e *SettingError) Error() string {
	if e.Override == "" {
		return "reply timeout " + e.Problem
	}
	return "kafka setting " + e.Override + " " + e.Problem
}

// Validate checks what the client settings are derived from before any
// client is made: the reply timeout must be one the clients can follow, and
// an override of a timeout derived from it must keep the promise the derived
// value keeps (see MessageTimeout and SessionTimeout). It returns the first
// problem as a *SettingError, overrides in the order of their keys.
func Validate(replyTimeout time.Duration, overrides map[string]string) error {
	if replyTimeout < MinReplyTimeout || replyTimeout > MaxReplyTimeout {
		return &SettingError{Problem: fmt.Sprintf("must be between %s and %s (got %s)", MinReplyTimeout, MaxReplyTimeout, replyTimeout)}
	}
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if err := checkOverride(replyTimeout, k, overrides[k]); err != nil {
			return err
		}
	}
	return nil
}

// checkOverride checks an override of a timeout derived from the reply
// timeout; other properties are librdkafka's to judge when a client is made.
func checkOverride(reply time.Duration, key, value string) *SettingError {
	role, prop := splitRole(key)
	var hi time.Duration
	var why string
	switch {
	case (prop == "message.timeout.ms" || prop == "delivery.timeout.ms") && role != consumerPrefix:
		hi = reply - time.Millisecond
		why = fmt.Sprintf("under the reply timeout (%s), so an undeliverable task fails before its reply times out", reply)
	case prop == "session.timeout.ms" && role != producerPrefix:
		hi = max(reply, minSessionTimeout)
		why = fmt.Sprintf("at most the reply timeout (%s) or Kafka's minimum session (%s), so a dead worker's tasks move on within a reply timeout",
			reply, minSessionTimeout)
	default:
		return nil
	}
	// 0 is librdkafka's "forever" for message.timeout.ms: never allowed.
	ms, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err == nil && ms >= 1 && ms <= hi.Milliseconds() {
		return nil
	}
	return &SettingError{
		Override: key,
		Problem:  fmt.Sprintf("must be 1 to %d (milliseconds), %s (got %q)", hi.Milliseconds(), why, value),
	}
}

// splitRole parts an override's key into the kind of client it is aimed at
// (producerPrefix, consumerPrefix, or "" for every client) and the
// librdkafka property.
func splitRole(key string) (role, prop string) {
	for _, r := range []string{producerPrefix, consumerPrefix} {
		if rest, ok := strings.CutPrefix(key, r); ok {
			return r, rest
		}
	}
	return "", key
}
