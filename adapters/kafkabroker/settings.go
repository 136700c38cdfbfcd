package kafkabroker

import (
	"fmt"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Prefixes that aim an override in Settings at one kind of client only.
// librdkafka has no property starting with either, so they never clash.
const (
	producerPrefix = "producer."
	consumerPrefix = "consumer."
)

// producerSettings are tuned for request-reply: small messages, each waited
// for by a caller, at thousands per second. Every key can be overridden.
// Figures: BenchmarkRoundTrip on the real broker (Kafka 4.4, one node, same
// 2-CPU machine), p50 / p99 / round trips per second at 1 | 100 outstanding.
func producerSettings(bootstrap string) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		// The setting that matters most (it applies twice per round trip:
		// task and reply). 1 ms: 3.3 ms idle, 18-23k rt/s with p99 12-16 ms
		// at 100 outstanding. 0: 0.9 ms idle, but 7-15k rt/s and p99
		// 20-110 ms at 100 (a request per message); 5 (librdkafka's
		// default): 12 ms idle, 7.7k rt/s. At 10+ outstanding 1 ties or
		// beats 0, so 1 it is.
		"linger.ms": 1,
		// No duplicates or reordering from the producer's own retries;
		// implies acks=all, which on a replicated cluster waits for the
		// in-sync replicas: a task acknowledged is a task not lost. It cost
		// nothing measurable here (one node); one price: an undeliverable
		// message fails after ~2 x message.timeout.ms instead of 1 x.
		"enable.idempotence": true,
		// batch.size stays at librdkafka's 1 MB: a task is ~150 bytes, so
		// linger, not size, closes a batch.
		//
		// A message that cannot be delivered fails inside the reply
		// timeout (10 s), so the caller gets a 503 rather than a 504.
		"message.timeout.ms": 5000,
		// A reply topic that no longer exists (its server shut down) must
		// not be created again by a late reply on brokers that auto-create.
		"allow.auto.create.topics": false,
		// Nagle held small writes back: with it on, p99 at 100 outstanding
		// went from 12 to 37 ms and throughput from 23k to 17k rt/s.
		"socket.nagle.disable": true,
		// After an outage, reconnect within 1 s of Kafka's return rather
		// than after librdkafka's backoff of up to 10 s.
		"reconnect.backoff.max.ms": 1000,
		// Delivery reports carry only what we read: the error and the opaque.
		"go.delivery.report.fields": "none",
	}
}

// consumerSettings are shared by the reply consumer and the worker's consumer.
func consumerSettings(bootstrap, group string) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		"group.id":          group,
		// The broker answers a fetch once fetch.min.bytes (1) are there, so
		// in steady state fetch.wait.max.ms does not add latency on a real
		// broker (3.1 ms idle with 500, librdkafka's default, as with 5; the
		// ~500 ms measured earlier came from librdkafka's mock broker). It
		// does where a fetch is already waiting when partitions are
		// assigned: the first task after a worker joins took 600 ms with
		// 500, 120 ms with 100, 105 ms with 5 or 10. 10 ms keeps that short
		// and costs an empty fetch per 10 ms per broker when idle.
		"fetch.wait.max.ms": 10,
		"fetch.min.bytes":   1,
		// A fetch that failed (e.g. on a reply topic a few ms old whose
		// leader is not known yet) is retried after 50 ms, not 500 ms: a
		// server's reply path is proven in ~0.1 s rather than ~0.6 s.
		"fetch.error.backoff.ms":   50,
		"socket.nagle.disable":     true,
		"reconnect.backoff.max.ms": 1000, // as for the producer
	}
}

// apply sets the overrides meant for this kind of client (role is
// producerPrefix or consumerPrefix) on top of base: unprefixed keys go to
// every client, prefixed keys only to their kind, with the prefix removed.
func apply(base kafka.ConfigMap, role string, overrides map[string]string) (*kafka.ConfigMap, error) {
	for k, v := range overrides {
		key := k
		switch {
		case strings.HasPrefix(k, role):
			key = strings.TrimPrefix(k, role)
		case strings.HasPrefix(k, producerPrefix), strings.HasPrefix(k, consumerPrefix):
			continue // meant for the other kind of client
		}
		if err := base.SetKey(key, v); err != nil {
			return nil, fmt.Errorf("kafka setting %s: %w", k, err)
		}
	}
	return &base, nil
}
