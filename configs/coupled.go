package configs

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// Bounds of kafka.reply_timeout. Below the minimum a round trip through
// Kafka cannot be relied on (the first task after a worker joins took
// ~100 ms); above the maximum a consumer session that follows the reply
// timeout no longer fits Kafka's default group.max.session.timeout.ms.
const (
	minReplyTimeout = 100 * time.Millisecond
	maxReplyTimeout = 30 * time.Minute
	// minSessionTimeout is Kafka's default group.min.session.timeout.ms: a
	// broker refuses a shorter session, whatever the reply timeout.
	minSessionTimeout = 6 * time.Second
)

// coupled returns the first pair of settings that disagree: each is valid
// alone, together they make a system that fails the wrong way.
func (c Config) coupled() *fieldError {
	if c.HTTP.RequestTimeout <= c.Kafka.ReplyTimeout {
		return &fieldError{
			keys: []string{"http.request_timeout", "kafka.reply_timeout"},
			msg: fmt.Sprintf("http.request_timeout must be longer than kafka.reply_timeout (got %s, reply timeout %s)",
				c.HTTP.RequestTimeout, c.Kafka.ReplyTimeout),
		}
	}
	if c.HTTP.WriteTimeout <= c.HTTP.RequestTimeout {
		// The server cuts a response still being waited for at the write
		// timeout: the client would see a dropped connection, not a 504.
		return &fieldError{
			keys: []string{"http.write_timeout", "http.request_timeout"},
			msg: fmt.Sprintf("http.write_timeout must be longer than http.request_timeout (got %s, request timeout %s)",
				c.HTTP.WriteTimeout, c.HTTP.RequestTimeout),
		}
	}
	if lease := c.Kafka.ReplyTimeout + c.Gate.LeaseMargin; c.Gate.BlockSize > 1 && c.Gate.BlockIdle > lease/4 {
		// The block mode syncs (and renews its leases) once per block_idle,
		// and renews every quarter lease: a longer interval lets leases lapse.
		return &fieldError{
			keys: []string{"gate.block_idle", "kafka.reply_timeout", "gate.lease_margin"},
			msg: fmt.Sprintf("gate.block_idle must be at most a quarter of the lease, kafka.reply_timeout + gate.lease_margin (got %s, lease %s)",
				c.Gate.BlockIdle, lease),
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Kafka.Settings)) {
		if err := c.kafkaSettingAgrees(name, c.Kafka.Settings[name]); err != nil {
			return err
		}
	}
	return nil
}

// kafkaSettingAgrees checks a librdkafka override that the adapter would
// otherwise derive from the reply timeout. A "producer." or "consumer."
// prefix aims it at one kind of client, as in the adapter.
func (c Config) kafkaSettingAgrees(name, value string) *fieldError {
	prop, role := name, ""
	for _, r := range []string{"producer.", "consumer."} {
		if rest, ok := strings.CutPrefix(name, r); ok {
			prop, role = rest, r
		}
	}
	reply := c.Kafka.ReplyTimeout
	var lo, hi time.Duration
	var why string
	switch {
	case (prop == "message.timeout.ms" || prop == "delivery.timeout.ms") && role != "consumer.":
		lo, hi = time.Millisecond, reply-time.Millisecond
		why = fmt.Sprintf("under kafka.reply_timeout (%s), so an undeliverable task fails before its reply times out", reply)
	case prop == "session.timeout.ms" && role != "producer.":
		lo, hi = time.Millisecond, max(reply, minSessionTimeout)
		why = fmt.Sprintf("at most kafka.reply_timeout (%s) or Kafka's minimum session (%s), so a dead worker's tasks move on within a reply timeout",
			reply, minSessionTimeout)
	default:
		return nil
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err == nil && ms >= lo.Milliseconds() && ms <= hi.Milliseconds() {
		return nil
	}
	key := keytree.SettingsKey + "." + name
	return &fieldError{
		keys: []string{key, "kafka.reply_timeout"},
		msg: fmt.Sprintf("%s must be %d to %d (milliseconds), %s (got %s)",
			key, lo.Milliseconds(), hi.Milliseconds(), why, keytree.Show(value)),
	}
}
