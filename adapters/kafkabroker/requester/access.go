package requester

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// Failed delivers, once, the error that made the broker give up for good:
// Kafka turned its clients away before they ever reached the cluster (a
// failed SASL login or TLS handshake, kafkabroker.AccessError), which no
// retry mends. The process should stop with it rather than answer 503 for
// ever. It is for the one owner of the broker; nothing is sent otherwise.
func (r *Broker) Failed() <-chan error { return r.failed }

// refusedAtStart gives up, and reports true, when e says Kafka turned a
// client away for its settings before the reply path was first proven;
// once given up, every error is left unnoted (the brokers seen down after
// it are no outage to report). After a start the same error is an outage
// like any other (noteError).
func (r *Broker) refusedAtStart(e kafka.Error) bool {
	if r.failure.Load() != nil {
		return true
	}
	if r.started.Load() {
		return false
	}
	err := kafkabroker.AccessDenied(e, r.saslUser)
	if err == nil {
		return false
	}
	if r.failure.CompareAndSwap(nil, &err) {
		r.cfg.Logger.Error("kafka turned this server away at start: giving up, no retry can mend it", "err", err)
		r.failed <- err
		r.cancel() // ends the connection attempts
	}
	return true
}
