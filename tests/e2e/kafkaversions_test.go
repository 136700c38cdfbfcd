package e2e_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// oldKafka is the Kafka 3.x release the matrix runs: the last before 4.0,
// whose brokers do not offer the consumer group protocol by default.
const oldKafka = "3.9.1"

// The messages of the worker this matrix is about.
const (
	fallbackWarn  = "the Kafka brokers do not offer the consumer group protocol"
	notJoinedWarn = "the worker has not joined its consumer group yet"
)

// protocolLeg is one way to run the workers on one broker.
type protocolLeg struct {
	name     string
	env      []string                // added to the stack's
	group    kafka.ConsumerGroupType // the protocol the worker group must run
	fallback bool                    // the worker must say, once, that it fell back to classic
}

var (
	chooseClassic  = []string{"RPS_KAFKA__SETTINGS__CONSUMER_GROUP_PROTOCOL=classic"}
	chooseConsumer = []string{"RPS_KAFKA__SETTINGS__CONSUMER_GROUP_PROTOCOL=consumer"}
)

// The Kafka releases users run, each with the group protocols it offers:
// server and worker binaries, POST /queue answered 200 with a gift code,
// the worker group running the protocol expected. Kafka 4.x is the test
// command's broker (deployments/kafka/pom.xml's release); Kafka 3.9 a broker
// of the test's own with default settings, where a worker left to choose
// falls back to the classic protocol and says so, and one told to use the
// consumer protocol says why it cannot join rather than stay silent.
func TestKafkaVersions_FullPathWithEachGroupProtocol(t *testing.T) {
	in := needInfra(t)
	t.Run("4.x", func(t *testing.T) {
		t.Parallel()
		for _, leg := range []protocolLeg{
			{name: "default_consumer", group: kafka.ConsumerGroupTypeConsumer},
			{name: "consumer", env: chooseConsumer, group: kafka.ConsumerGroupTypeConsumer},
			{name: "classic", env: chooseClassic, group: kafka.ConsumerGroupTypeClassic},
		} {
			t.Run(leg.name, func(t *testing.T) {
				t.Parallel()
				fullPath(t, in, in.bootstrap, leg)
			})
		}
	})
	t.Run(oldKafka, func(t *testing.T) {
		t.Parallel()
		k := testinfra.StartKafka(t, testinfra.WithKafkaVersion(oldKafka))
		t.Run("consumer_refused_with_a_warning", func(t *testing.T) {
			t.Parallel()
			consumerNeverJoins(t, in, k.Bootstrap())
		})
		for _, leg := range []protocolLeg{
			{name: "default_falls_back_to_classic", group: kafka.ConsumerGroupTypeClassic, fallback: true},
			{name: "classic", env: chooseClassic, group: kafka.ConsumerGroupTypeClassic},
		} {
			t.Run(leg.name, func(t *testing.T) {
				t.Parallel()
				fullPath(t, in, k.Bootstrap(), leg)
			})
		}
	})
}

// fullPath runs a worker and a server of leg on the broker at bootstrap and
// checks what a user and an operator see.
func fullPath(t *testing.T, in infra, bootstrap string, leg protocolLeg) {
	s := newStack(t, in, append([]string{"KAFKA_BOOTSTRAP_SERVERS=" + bootstrap}, leg.env...)...)
	worker := s.startWorker(t)
	base := s.startServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := runUsers(ctx, []string{base}, 20, 4)
	require.Empty(t, o.errors, "transport errors")
	assert.Equal(t, map[int]int{http.StatusOK: 20}, o.statuses)
	assert.Len(t, o.codes, 20, "every 200 carries a code of its own")
	for code := range o.codes {
		assert.True(t, domain.IsGiftCode(code), "malformed code %q", code)
	}
	assert.Equal(t, leg.group, groupType(t, bootstrap, s.group()), "the worker group's protocol")

	warned := 0
	for _, rec := range logRecords(t, worker) {
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, fallbackWarn) {
			warned++
			assert.Equal(t, "WARN", rec["level"])
			assert.Equal(t, chooseClassic[0], rec["setting"], "the WARN names the setting")
			assert.NotEmpty(t, rec["why"], "the WARN says why")
		}
	}
	want := 0
	if leg.fallback {
		want = 1
	}
	assert.Equal(t, want, warned, "fallback WARNs")
	assert.Equal(t, strings.ToLower(leg.group.String()), waitLog(t, worker, "worker consuming")["group_protocol"])
}

// consumerNeverJoins runs a worker told to use the consumer group protocol
// on a broker that does not offer it: it says what keeps it out of its
// group, and the server refuses requests at once (no worker) rather than
// letting each wait out its deadline.
func consumerNeverJoins(t *testing.T, in infra, bootstrap string) {
	s := newStack(t, in, append([]string{"KAFKA_BOOTSTRAP_SERVERS=" + bootstrap}, chooseConsumer...)...)
	worker := startProc(t, "worker", append(slices.Clone(s.env), "RPS_WORKER__METRICS_ADDR="+testinfra.FreeAddr(t)))
	warn := waitLog(t, worker, notJoinedWarn)
	assert.Equal(t, "WARN", warn["level"])
	assert.Equal(t, chooseClassic[0], warn["setting"], "the WARN names the setting")

	base := s.startServer(t)
	status, _, err := testinfra.PostQueue(context.Background(), http.DefaultClient, base)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, status, "no worker consumes")
}

// group is the stack's worker group.
func (s *stack) group() string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "RPS_WORKER__GROUP="); ok {
			return v
		}
	}
	return ""
}

// groupType asks the broker which protocol group runs.
func groupType(t *testing.T, bootstrap, group string) kafka.ConsumerGroupType {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	require.NoError(t, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := admin.DescribeConsumerGroups(ctx, []string{group})
	require.NoError(t, err)
	require.Len(t, res.ConsumerGroupDescriptions, 1)
	g := res.ConsumerGroupDescriptions[0]
	require.Equal(t, kafka.ErrNoError, g.Error.Code(), "describe group %s: %v", group, g.Error)
	return g.Type
}
