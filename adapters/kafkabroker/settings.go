package kafkabroker

import (
	"fmt"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Tuned for low latency at high throughput on request-reply traffic; every
// value can be overridden by the Settings of the config (raw librdkafka
// properties, applied last to every client of this package).
func producerSettings(bootstrap string) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		// 1 ms of batching beat 0 under load: fewer, fuller requests.
		"linger.ms": 1,
		// No duplicates from producer retries; implies acks=all.
		"enable.idempotence": true,
		// A message that cannot be delivered fails well inside the reply
		// timeout, so the caller gets a 503 rather than waiting for a 504.
		"message.timeout.ms":   5000,
		"socket.nagle.disable": true,
		// Delivery reports carry only what we read: the error and the opaque.
		"go.delivery.report.fields": "none",
	}
}

func consumerSettings(bootstrap, group string) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		"group.id":          group,
		// librdkafka's default of 500 ms made an idle round trip take ~500 ms:
		// the broker answers a fetch as soon as 1 byte or 5 ms is there.
		"fetch.wait.max.ms":    5,
		"fetch.min.bytes":      1,
		"socket.nagle.disable": true,
	}
}

// apply sets overrides on top of base.
func apply(base kafka.ConfigMap, overrides map[string]string) (*kafka.ConfigMap, error) {
	for k, v := range overrides {
		if err := base.SetKey(k, v); err != nil {
			return nil, fmt.Errorf("kafka setting %s: %w", k, err)
		}
	}
	return &base, nil
}
