package startup

import (
	"errors"
	"slices"
	"strings"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
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
func rules() []configs.Rule {
	return []configs.Rule{kafkaRules, replyTopicRules, gateRules, taskAgeRules}
}

// gateKeys are the config keys each field of the Redis gate's timing is
// made of, and gateTerms how its rules' messages name them.
var (
	gateKeys = map[redisgate.TimingField][]string{
		redisgate.FieldLease:     {replyTimeoutKey, "gate.lease_margin"},
		redisgate.FieldHold:      {replyTimeoutKey, "gate.release_timeout"},
		redisgate.FieldBlockSize: {"gate.block_size"},
		redisgate.FieldBlockIdle: {"gate.block_idle"},
	}
	gateTerms = map[redisgate.TimingField]string{
		redisgate.FieldLease:     "the lease (task.reply_timeout + gate.lease_margin)",
		redisgate.FieldHold:      "the hold (task.reply_timeout + gate.release_timeout)",
		redisgate.FieldBlockSize: "gate.block_size",
		redisgate.FieldBlockIdle: "gate.block_idle",
	}
	gateWords = strings.NewReplacer(
		"the lease", gateTerms[redisgate.FieldLease],
		"the hold", gateTerms[redisgate.FieldHold],
		"the block size", gateTerms[redisgate.FieldBlockSize],
	)
)

// gateRules runs the Redis gate's timing rules on the lease, the hold (how
// long a request may keep its slot) and the block settings. Like the Kafka
// rules they run in every mode: a config accepted only while Redis is off
// would be refused the day redis.url is set.
func gateRules(cfg configs.Config) error {
	err := redisgate.ValidateTiming(redisgate.Timing{
		Lease: cfg.GateLease(), Hold: cfg.GateHold(), BlockSize: cfg.Gate.BlockSize, BlockIdle: cfg.Gate.BlockIdle,
	})
	var te *redisgate.TimingError
	if !errors.As(err, &te) {
		return err
	}
	var keys []string
	for _, f := range te.Fields {
		for _, k := range gateKeys[f] {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return &configs.KeyError{Keys: keys, Msg: gateTerms[te.Fields[0]] + " " + gateWords.Replace(te.Problem)}
}

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

// replyTopicRules asks the reply topics' janitor whether the heartbeat and
// the grace agree (the rule is the janitor's own), and names the key at
// fault.
func replyTopicRules(cfg configs.Config) error {
	err := replytopics.CheckTiming(cfg.Kafka.ReplyTopicHeartbeat, cfg.Kafka.ReplyTopicGrace)
	var te *replytopics.TimingError
	if !errors.As(err, &te) {
		return err
	}
	keys := []string{"kafka.reply_topic_grace", "kafka.reply_topic_heartbeat"}
	if te.Setting == "heartbeat" {
		keys = []string{"kafka.reply_topic_heartbeat"}
	}
	return &configs.KeyError{Keys: keys, Msg: keys[0] + " " + te.Problem}
}

// taskAgeRules asks the worker whether the oldest task it runs (half the
// ledger's window, configs.Config.MaxTaskAge) leaves every request that
// still waits its task. Like the others it runs in every mode.
func taskAgeRules(cfg configs.Config) error {
	err := taskworker.CheckMaxTaskAge(cfg.MaxTaskAge(), cfg.Task.ReplyTimeout)
	if err == nil {
		return nil
	}
	window := "worker.ledger_window"
	if cfg.Worker.LedgerTTL < cfg.Worker.LedgerWindow {
		window = "worker.ledger_ttl" // it shortens the window
	}
	return &configs.KeyError{
		Keys: []string{window, replyTimeoutKey},
		Msg:  "half of " + window + " (the oldest task a worker runs) " + err.Error(),
	}
}
