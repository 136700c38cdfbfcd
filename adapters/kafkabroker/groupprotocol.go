package kafkabroker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Workers prefer KIP-848's consumer group protocol, which brokers serve by
// default from Kafka 4.0 on. Kafka 3.x brokers do not by default: a
// consumer of that protocol then never joins its group and librdkafka says
// so only at debug level, so every request would wait for a worker that
// never comes. The brokers are asked first and the worker falls back to the
// classic protocol, which every broker serves, when they do not say they
// offer the consumer protocol.

// ClassicProtocolSetting is the setting that chooses the classic protocol
// (and so skips asking the brokers), as the environment spells it.
const ClassicProtocolSetting = "RPS_KAFKA__SETTINGS__CONSUMER_GROUP_PROTOCOL=classic"

// rebalanceProtocols is the broker setting that lists the group protocols
// its group coordinator serves ("classic", "consumer", ...). Brokers older
// than 3.7 lack it and serve only the classic protocol. Kafka plans to drop
// it in 5.0 for feature levels, which the Go client cannot read: such a
// broker falls back too, and group.protocol=consumer chooses it there.
const rebalanceProtocols = "group.coordinator.rebalance.protocols"

// GroupProtocolChosen reports whether the overrides choose the group
// protocol (group.protocol, or the classic protocol's own session or
// heartbeat): then the brokers are not asked.
func GroupProtocolChosen(overrides map[string]string) bool {
	if classicProtocol(overrides) {
		return true
	}
	for _, p := range []string{"", consumerPrefix} {
		if _, ok := overrides[p+"group.protocol"]; ok {
			return true
		}
	}
	return false
}

// ConsumerProtocolOffered asks every broker (DescribeCluster, then a
// DescribeConfigs per broker) whether its group coordinator serves the
// consumer group protocol. It is false, with the reason, unless every broker lists it;
// a broker that cannot be asked (no DescribeConfigs permission, a timeout)
// counts as not offering it, since the classic protocol works everywhere.
func ConsumerProtocolOffered(ctx context.Context, admin *kafka.AdminClient, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cluster, err := admin.DescribeCluster(ctx, kafka.SetAdminRequestTimeout(timeout))
	if err != nil {
		return false, fmt.Sprintf("cannot list the brokers: %v", err)
	}
	if len(cluster.Nodes) == 0 {
		return false, "the cluster lists no broker"
	}
	// One broker per call: the client refuses two broker resources in one.
	for _, n := range cluster.Nodes {
		broker := []kafka.ConfigResource{{Type: kafka.ResourceBroker, Name: strconv.Itoa(n.ID)}}
		results, err := admin.DescribeConfigs(ctx, broker, kafka.SetAdminRequestTimeout(timeout))
		if err != nil {
			return false, fmt.Sprintf("cannot describe the settings of broker %d: %v", n.ID, err)
		}
		for _, r := range results {
			if offered, why := offersConsumer(r); !offered {
				return false, why
			}
		}
	}
	return true, ""
}

// offersConsumer reads one broker's answer: whether rebalanceProtocols
// lists "consumer", and why not.
func offersConsumer(r kafka.ConfigResourceResult) (bool, string) {
	if r.Error.Code() != kafka.ErrNoError {
		return false, fmt.Sprintf("cannot describe the settings of broker %s: %v", r.Name, r.Error)
	}
	entry, ok := r.Config[rebalanceProtocols]
	if !ok {
		return false, fmt.Sprintf("broker %s has no %s (older than Kafka 3.7)", r.Name, rebalanceProtocols)
	}
	if !slices.Contains(protocolList(entry.Value), "consumer") {
		return false, fmt.Sprintf("broker %s has %s=%s", r.Name, rebalanceProtocols, entry.Value)
	}
	return true, ""
}

// protocolList splits a list setting as brokers report it ("classic,consumer").
func protocolList(v string) []string {
	var out []string
	for _, p := range strings.Split(strings.Trim(v, "[]"), ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// UseClassicProtocol switches a worker consumer's settings (WorkerClients)
// to the classic group protocol, with the session timeout derived from
// replyTimeout. Only for settings whose overrides choose no protocol.
func UseClassicProtocol(conf *kafka.ConfigMap, replyTimeout time.Duration) error {
	for k, v := range classicSettings(replyTimeout) {
		if err := conf.SetKey(k, v); err != nil {
			return fmt.Errorf("kafka setting %s: %w", k, err)
		}
	}
	return nil
}

// classicSettings are the classic protocol's: the session and heartbeat
// are the client's to set (under the consumer protocol, the broker's).
func classicSettings(replyTimeout time.Duration) kafka.ConfigMap {
	return kafka.ConfigMap{
		"group.protocol":        "classic",
		"session.timeout.ms":    int(SessionTimeout(replyTimeout).Milliseconds()),
		"heartbeat.interval.ms": 1000,
	}
}

// RefusedProtocol returns what to do when e, an error of a worker's
// consumer, is a broker refusing the consumer group protocol it advertises
// (a Kafka 4.x broker with it switched off): a fatal error, after which the
// consumer joins no group. Nil for any other error.
func RefusedProtocol(e kafka.Error) error {
	if !e.IsFatal() || e.Code() != kafka.ErrUnsupportedVersion {
		return nil
	}
	return fmt.Errorf("the brokers refuse the consumer group protocol (KIP-848); set %s: %w", ClassicProtocolSetting, e)
}
