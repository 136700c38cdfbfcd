package kafkabroker

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// This file is the one place librdkafka properties are set. The figures
// behind the tuned values are in benchmarks/README.md ("Kafka client
// settings").

// Prefixes that aim an override at one kind of client only. librdkafka has
// no property starting with either, so they never clash.
const (
	producerPrefix = "producer."
	consumerPrefix = "consumer."
)

// Clients is what the client settings of either side are made from.
type Clients struct {
	// Bootstrap lists the brokers, "host:port[,host:port]".
	Bootstrap string
	// ReplyTimeout is how long a request waits for its reply; the client
	// timeouts that must fit inside or past it are derived from it.
	ReplyTimeout time.Duration
	// Overrides are raw librdkafka properties set over the tuned ones. A key
	// prefixed "producer." or "consumer." reaches only that kind of client
	// (prefix removed); other keys reach every client.
	Overrides map[string]string
	// Logs receives the clients' own log lines.
	Logs *ClientLogs
}

func (c Clients) check() error {
	switch {
	case c.Bootstrap == "":
		return errors.New("no bootstrap servers")
	case c.ReplyTimeout <= 0:
		return fmt.Errorf("reply timeout must be positive (got %s)", c.ReplyTimeout)
	case c.Logs == nil:
		return errors.New("no client logs")
	}
	return nil
}

// Kafka brokers accept session timeouts between their
// group.min.session.timeout.ms and group.max.session.timeout.ms, by default
// these.
const (
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 30 * time.Minute
)

// MessageTimeout is how long a producer tries to deliver a message: half the
// reply timeout, so a task that cannot be sent fails (503) by the time its
// request would time out (504), even with the idempotent producer's second
// try (~2 x message.timeout.ms). Never below 1 ms: 0 means "forever".
func MessageTimeout(replyTimeout time.Duration) time.Duration {
	return max(replyTimeout/2, time.Millisecond)
}

// SessionTimeout is how long the group waits for a silent worker before its
// partitions move on: the reply timeout, since a worker silent that long has
// let every request it held time out, while a shorter pause (GC, a network
// blip) does not cost a rebalance. Bounded to what brokers accept by default.
func SessionTimeout(replyTimeout time.Duration) time.Duration {
	return min(max(replyTimeout, minSessionTimeout), maxSessionTimeout)
}

// RequesterClients are the server side's clients: a producer of tasks (and
// probes) and a consumer assigned the reply topic.
func RequesterClients(c Clients, replyTopic string) (producer, consumer *kafka.ConfigMap, err error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	if producer, err = apply(producerSettings(c), producerPrefix, c.Overrides); err != nil {
		return nil, nil, err
	}
	if consumer, err = apply(consumerSettings(c, replyTopic), consumerPrefix, c.Overrides); err != nil {
		return nil, nil, err
	}
	for k, v := range map[string]any{
		"enable.auto.commit": false, // assigned, not grouped: nothing to commit
		// Assigned at offset 0, the beginning of a topic made for us, which
		// saves the offset lookup that librdkafka retries only every 500 ms
		// while the fresh topic has no known leader; should 0 be gone
		// already, the earliest offset is taken.
		"auto.offset.reset": "earliest",
	} {
		_ = consumer.SetKey(k, v)
	}
	withLogs(producer, c.Logs)
	withLogs(consumer, c.Logs)
	return producer, consumer, nil
}

// WorkerClients are the worker side's clients: a consumer of the tasks
// topic in group and a producer of replies.
func WorkerClients(c Clients, group string) (producer, consumer *kafka.ConfigMap, err error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	pbase := producerSettings(c)
	// A reply topic unknown for 2 s is gone (its server shut down): the
	// reply fails then rather than at message.timeout.ms. A live server's
	// topic exists before its first task: its own probe went through it.
	pbase["topic.metadata.propagation.max.ms"] = 2000
	if producer, err = apply(pbase, producerPrefix, c.Overrides); err != nil {
		return nil, nil, err
	}
	cbase := consumerSettings(c, group)
	cbase["auto.commit.interval.ms"] = 200  // stored offsets are committed this often
	cbase["auto.offset.reset"] = "earliest" // a new group loses no task sent before it joined
	// The KIP-848 group protocol: a worker keeps its member id through a
	// Kafka outage (it is made by the client), so after a broker restart
	// it resumes its partitions at once; under the classic protocol it
	// rejoins as a new member and waits a session timeout for its own ghost
	// (~10 s, docs/architecture.md, "Reply routing, and how it fails"). Session and
	// heartbeat are the broker's (group.consumer.*). "classic" as an
	// override selects the classic protocol, with the session timeout
	// derived here; so does UseClassicProtocol, for brokers that do not
	// offer KIP-848 (groupprotocol.go).
	cbase["group.protocol"] = "consumer"
	if classicProtocol(c.Overrides) {
		maps.Copy(cbase, classicSettings(c.ReplyTimeout))
	}
	if consumer, err = apply(cbase, consumerPrefix, c.Overrides); err != nil {
		return nil, nil, err
	}
	// Not overridable: the worker stores an offset once its reply is
	// delivered and auto-commit sends it, so the committed offset never
	// passes an unanswered task.
	_ = consumer.SetKey("enable.auto.commit", true)
	_ = consumer.SetKey("enable.auto.offset.store", false)
	withLogs(producer, c.Logs)
	withLogs(consumer, c.Logs)
	return producer, consumer, nil
}

// producerSettings are tuned for request-reply: small messages, each waited
// for by a caller, thousands per second.
func producerSettings(c Clients) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": c.Bootstrap,
		// The setting that matters most (twice per round trip). 2 ms: under
		// load, fewer and fuller requests cut Kafka's CPU per task by about a
		// third (~17 % more tasks per CPU) for ~3 ms on an unloaded round
		// trip; 1 is the low-latency choice, 0 a request per message, 5
		// (the default) too slow. Figures: benchmarks/README.md.
		"linger.ms": 2,
		// No duplicates or reordering from the producer's own retries;
		// implies acks=all: a task acknowledged is a task not lost.
		"enable.idempotence": true,
		"message.timeout.ms": int(MessageTimeout(c.ReplyTimeout).Milliseconds()),
		// A reply topic gone with its server must not be brought back by a
		// late reply on brokers that auto-create topics.
		"allow.auto.create.topics": false,
		"socket.nagle.disable":     true, // Nagle held small writes back
		// Reconnect within 1 s of Kafka's return, not after up to 10 s.
		"reconnect.backoff.max.ms": 1000,
		// Delivery reports carry only what we read: the error and the opaque.
		"go.delivery.report.fields": "none",
	}
}

// consumerSettings are shared by the reply consumer and the worker's.
func consumerSettings(c Clients, group string) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": c.Bootstrap,
		"group.id":          group,
		// Free in steady state (fetch.min.bytes is 1); it bounds the wait
		// for the first task after partitions are assigned.
		"fetch.wait.max.ms": 10,
		"fetch.min.bytes":   1,
		// A fetch on a reply topic a few ms old is retried after 50 ms, not
		// 500 ms: a server's reply path is proven in ~0.1 s.
		"fetch.error.backoff.ms":   50,
		"socket.nagle.disable":     true,
		"reconnect.backoff.max.ms": 1000,
	}
}

// apply sets the overrides meant for this kind of client (role is
// producerPrefix or consumerPrefix) on top of base: unprefixed keys go to
// every client, prefixed keys only to their kind, with the prefix removed.
func apply(base kafka.ConfigMap, role string, overrides map[string]string) (*kafka.ConfigMap, error) {
	for k, v := range overrides {
		aim, key := splitRole(k)
		if aim != "" && aim != role {
			continue // meant for the other kind of client
		}
		if err := base.SetKey(key, v); err != nil {
			return nil, fmt.Errorf("kafka setting %s: %w", k, err)
		}
	}
	return &base, nil
}

// withLogs makes a client log through logs instead of to stderr.
func withLogs(conf *kafka.ConfigMap, logs *ClientLogs) {
	_ = conf.SetKey("go.logs.channel.enable", true)
	_ = conf.SetKey("go.logs.channel", logs.ch)
}

// classicProtocol reports whether the overrides choose the classic group
// protocol: by name, or by setting its session or heartbeat, which only the
// classic protocol lets a client set.
func classicProtocol(overrides map[string]string) bool {
	for _, p := range []string{"", consumerPrefix} {
		if strings.EqualFold(overrides[p+"group.protocol"], "classic") {
			return true
		}
		_, session := overrides[p+"session.timeout.ms"]
		_, heartbeat := overrides[p+"heartbeat.interval.ms"]
		if session || heartbeat {
			return true
		}
	}
	return false
}
