package configs

import (
	"errors"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
)

// replyTopicTiming asks the Kafka adapter whether the heartbeat and the
// grace of the reply topics agree (the rule is the janitor's own), and names
// the key at fault.
func (c Config) replyTopicTiming() *fieldError {
	err := replytopics.CheckTiming(c.Kafka.ReplyTopicHeartbeat, c.Kafka.ReplyTopicGrace)
	var te *replytopics.TimingError
	if !errors.As(err, &te) {
		return nil
	}
	keys := []string{"kafka.reply_topic_grace", "kafka.reply_topic_heartbeat"}
	if te.Setting == "heartbeat" {
		keys = []string{"kafka.reply_topic_heartbeat"}
	}
	return &fieldError{keys: keys, msg: keys[0] + " " + te.Problem}
}
