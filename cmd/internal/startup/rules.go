package startup

import (
	"errors"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/configs"
)

// Config keys the adapters' rules speak of, as users know them.
const (
	replyTimeoutKey  = "task.reply_timeout"
	kafkaSettingsKey = "kafka.settings"
)

// rules are the adapters' own checks of the config, which Begin has the
// loader run after its generic ones, so that their errors too are one line
// naming the keys and where they were set.
func rules() []configs.Rule { return []configs.Rule{kafkaRules} }

// kafkaRules runs the Kafka adapter's rules on the reply timeout and the raw
// librdkafka settings. They run in every mode, as both settings are read in
// every mode: a config accepted only while Kafka is off would be refused the
// day kafka.bootstrap is set.
func kafkaRules(cfg configs.Config) error {
	err := kafkabroker.Validate(cfg.Task.ReplyTimeout, cfg.Kafka.Settings)
	var se *kafkabroker.SettingError
	if !errors.As(err, &se) {
		return err
	}
	if se.Override == "" {
		return &configs.KeyError{Keys: []string{replyTimeoutKey}, Msg: replyTimeoutKey + " " + se.Problem}
	}
	key := kafkaSettingsKey + "." + se.Override
	return &configs.KeyError{Keys: []string{key, replyTimeoutKey}, Msg: key + " " + se.Problem}
}
