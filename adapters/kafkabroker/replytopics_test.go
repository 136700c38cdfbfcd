package kafkabroker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// Short reply-topic settings for these tests; the defaults are 10 s and
// 1 min (package configs).
const (
	testHeartbeat = 300 * time.Millisecond
	testGrace     = 3 * time.Second // ten heartbeats: -race on a loaded machine may delay a few
)

func keepAlive(c *requester.Config) { c.Heartbeat, c.Grace = testHeartbeat, testGrace }

// createTopic makes a one-partition topic with config, deleted after the
// test if it is still there.
func createTopic(t *testing.T, name string, config map[string]string) {
	t.Helper()
	withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) {
		res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: name, NumPartitions: 1, ReplicationFactor: -1, Config: config}})
		require.NoError(t, err)
		require.Equal(t, kafka.ErrNoError, res[0].Error.Code(), "create %s: %v", name, res[0].Error)
	})
	t.Cleanup(func() {
		withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) { _, _ = admin.DeleteTopics(ctx, []string{name}) })
	})
}

// existing reports which of names exist.
func existing(t *testing.T, names ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	withAdmin(t, func(_ context.Context, admin *kafka.AdminClient) {
		md, err := admin.GetMetadata(nil, true, 10_000)
		require.NoError(t, err)
		for _, name := range names {
			out[name] = md.Topics[name].Error.Code() == kafka.ErrNoError && len(md.Topics[name].Partitions) > 0
		}
	})
	return out
}

// The janitors of two live instances delete the reply topics nobody writes
// to (one left by a gone instance, one made a moment ago that never got a
// record) within the stated bound, the new one no sooner than the grace
// after it was made; the live instances' topics, an older version's topic
// without the mark and a user's topic beside them are never touched.
func TestJanitor_DeletesTheReplyTopicsOfGoneInstancesOnly(t *testing.T) {
	tp := newTopics(t)
	gone := replytopics.Name(tp.results, "gone-1-aaaaaa")
	older := replytopics.Name(tp.results, "older-2-bbbbbb")
	users := tp.results + ".audit"
	createTopic(t, gone, replytopics.TopicConfig())
	createTopic(t, older, map[string]string{"retention.ms": "3600000"}) // as servers without heartbeats made them
	createTopic(t, users, replytopics.TopicConfig())

	a, regA := newRequester(t, tp, keepAlive)
	b, regB := newRequester(t, tp, keepAlive)
	started := time.Now()
	bound := replytopics.RemovalBound(testGrace) + 2*time.Second // plus Kafka's own delays on a busy machine

	newborn := replytopics.Name(tp.results, "newborn-3-cccccc")
	var newbornMade time.Time
	deletedAt := map[string]time.Duration{}
	for time.Since(started) < 2*bound {
		if newbornMade.IsZero() && time.Since(started) > bound/2 {
			createTopic(t, newborn, replytopics.TopicConfig())
			newbornMade = time.Now()
		}
		now := existing(t, a.ReplyTopic(), b.ReplyTopic(), gone, older, users, newborn)
		require.True(t, now[a.ReplyTopic()] && now[b.ReplyTopic()], "a live instance's topic was deleted")
		require.True(t, now[older], "a topic without the mark was deleted")
		require.True(t, now[users], "a user's topic was deleted")
		if _, seen := deletedAt[gone]; !seen && !now[gone] {
			deletedAt[gone] = time.Since(started)
		}
		if _, seen := deletedAt[newborn]; !seen && !newbornMade.IsZero() && !now[newborn] {
			deletedAt[newborn] = time.Since(newbornMade)
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Contains(t, deletedAt, gone, "the gone instance's topic is deleted")
	assert.LessOrEqual(t, deletedAt[gone], bound, "within the bound after the janitors started")
	require.Contains(t, deletedAt, newborn, "a topic nobody writes to is deleted, however new")
	assert.GreaterOrEqual(t, deletedAt[newborn], testGrace, "no sooner than the grace after it was made")
	assert.LessOrEqual(t, deletedAt[newborn], bound)
	t.Logf("deleted after: gone %s (from the janitors' start), newborn %s (from its creation); bound %s",
		deletedAt[gone], deletedAt[newborn], bound)

	deleted := metricstest.Value(t, regA, "rps_kafka_reply_topics_deleted_total", "") +
		metricstest.Value(t, regB, "rps_kafka_reply_topics_deleted_total", "")
	assert.Equal(t, 2.0, deleted, "each deletion counted once, by the janitor that made it")
	assert.Equal(t, 3.0, metricstest.Value(t, regA, "rps_kafka_reply_topics", ""), "a, b and the unmarked one are left")
	assert.Zero(t, metricstest.Value(t, regA, "rps_broker_pending_replies", ""), "heartbeats are not requests")
}

// An instance whose reply topic is deleted (a janitor took it for gone
// while it was paused longer than the grace) makes it again and serves
// requests through it, without a restart.
func TestRequester_MakesItsReplyTopicAgainWhenItIsDeleted(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp, keepAlive)
	startWorker(t, tp, giftProcessor(t))
	_, err := request(t, r, 10*time.Second)
	require.NoError(t, err)

	withAdmin(t, func(ctx context.Context, admin *kafka.AdminClient) {
		res, err := admin.DeleteTopics(ctx, []string{r.ReplyTopic()})
		require.NoError(t, err)
		require.Equal(t, kafka.ErrNoError, res[0].Error.Code())
	})
	deleted := time.Now()
	var once sync.Once
	require.Eventually(t, func() bool {
		if !existing(t, r.ReplyTopic())[r.ReplyTopic()] || r.Ready(context.Background()) != nil {
			return false
		}
		once.Do(func() { t.Logf("topic back and ready %s after the delete", time.Since(deleted)) })
		res, err := request(t, r, 5*time.Second)
		return err == nil && domain.IsGiftCode(res.Value)
	}, 30*time.Second, 100*time.Millisecond, "the reply topic is made again and serves replies")
	assert.Less(t, time.Since(deleted), testGrace+10*time.Second, "noticed at a heartbeat, or at the latest after the grace without one")
}

// A grace a live instance could fall out of is refused before any network
// wait, naming the setting.
func TestNewRequester_RefusesAGraceUnderThreeHeartbeats(t *testing.T) {
	for name, tc := range map[string]struct {
		heartbeat, grace time.Duration
		want             string
	}{
		"grace_without_heartbeat":      {0, time.Minute, "reply topic heartbeat must be at least 100ms"},
		"grace_under_three_heartbeats": {10 * time.Second, 20 * time.Second, "reply topic grace must be at least 3 heartbeats"},
		"heartbeat_too_short":          {time.Millisecond, 0, "reply topic heartbeat must be at least 100ms"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := requester.New(requester.Config{
				Bootstrap: closedPort(t), TasksTopic: "tasks", ResultsTopic: "results", ReplyTimeout: replyTimeout,
				Heartbeat: tc.heartbeat, Grace: tc.grace, Logger: quiet, Registerer: prometheus.NewRegistry(),
			})
			require.ErrorContains(t, err, tc.want)
			assert.NotErrorIs(t, err, domain.ErrUnavailable)
		})
	}
}
