package kafkabroker

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// The brokers are asked only when the settings leave the protocol open.
func TestGroupProtocolChosen(t *testing.T) {
	for name, tt := range map[string]struct {
		overrides map[string]string
		chosen    bool
	}{
		"none":                      {overrides: nil, chosen: false},
		"others_only":               {overrides: map[string]string{"linger.ms": "1"}, chosen: false},
		"classic":                   {overrides: map[string]string{"group.protocol": "classic"}, chosen: true},
		"consumer_prefixed_classic": {overrides: map[string]string{"consumer.group.protocol": "CLASSIC"}, chosen: true},
		"consumer":                  {overrides: map[string]string{"consumer.group.protocol": "consumer"}, chosen: true},
		"classic_session":           {overrides: map[string]string{"consumer.session.timeout.ms": "7000"}, chosen: true},
		"producer_prefixed":         {overrides: map[string]string{"producer.group.protocol": "classic"}, chosen: false},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.chosen, GroupProtocolChosen(tt.overrides))
		})
	}
}

// A broker offers the consumer protocol only when its setting lists it.
func TestOffersConsumer_ReadsTheBrokersSetting(t *testing.T) {
	broker := func(config map[string]string) kafka.ConfigResourceResult {
		r := kafka.ConfigResourceResult{Type: kafka.ResourceBroker, Name: "3", Config: map[string]kafka.ConfigEntryResult{}}
		for k, v := range config {
			r.Config[k] = kafka.ConfigEntryResult{Name: k, Value: v}
		}
		return r
	}
	for name, tt := range map[string]struct {
		result  kafka.ConfigResourceResult
		offered bool
		why     string
	}{
		"kafka_4":         {result: broker(map[string]string{rebalanceProtocols: "classic,consumer,streams"}), offered: true},
		"kafka_3_enabled": {result: broker(map[string]string{rebalanceProtocols: "[classic, consumer]"}), offered: true},
		"kafka_3_default": {result: broker(map[string]string{rebalanceProtocols: "classic"}), why: "broker 3 has group.coordinator.rebalance.protocols=classic"},
		"before_3_7":      {result: broker(nil), why: "broker 3 has no group.coordinator.rebalance.protocols (older than Kafka 3.7)"},
		"not_allowed": {
			result: kafka.ConfigResourceResult{Name: "3", Error: kafka.NewError(kafka.ErrClusterAuthorizationFailed, "denied", false)},
			why:    "cannot describe the settings of broker 3: denied",
		},
	} {
		t.Run(name, func(t *testing.T) {
			offered, why := offersConsumer(tt.result)
			assert.Equal(t, tt.offered, offered)
			assert.Equal(t, tt.why, why)
		})
	}
}

// Only a fatal UNSUPPORTED_VERSION (ConsumerGroupHeartbeat refused) gets
// the advice to choose the classic protocol.
func TestRefusedProtocol_NamesTheSetting(t *testing.T) {
	err := RefusedProtocol(kafka.NewError(kafka.ErrUnsupportedVersion, "ConsumerGroupHeartbeat fatal error", true))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "RPS_KAFKA__SETTINGS__CONSUMER_GROUP_PROTOCOL=classic")
	assert.NoError(t, RefusedProtocol(kafka.NewError(kafka.ErrUnsupportedVersion, "not fatal", false)))
	assert.NoError(t, RefusedProtocol(kafka.NewError(kafka.ErrFencedInstanceID, "fatal, but another", true)))
}

// Falling back sets what choosing the classic protocol by name sets.
func TestUseClassicProtocol_AsIfChosen(t *testing.T) {
	_, fellBack, err := WorkerClients(clients(t, 20*time.Second, nil), "g")
	require.NoError(t, err)
	require.NoError(t, UseClassicProtocol(fellBack, 20*time.Second))
	_, chosen, err := WorkerClients(clients(t, 20*time.Second, map[string]string{"consumer.group.protocol": "classic"}), "g")
	require.NoError(t, err)
	delete(*chosen, "go.logs.channel") // each made with logs of its own
	delete(*fellBack, "go.logs.channel")
	assert.Equal(t, *chosen, *fellBack)
}

// The test command's broker (Kafka 4.x) offers the consumer protocol.
func TestConsumerProtocolOffered_ByTheTestBroker(t *testing.T) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": infra.KafkaBootstrap(t)})
	require.NoError(t, err)
	defer admin.Close()
	offered, why := ConsumerProtocolOffered(context.Background(), admin, 15*time.Second)
	assert.True(t, offered, why)
}
