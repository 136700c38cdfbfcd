package e2e_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/domain"
	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// The reply topics of servers that are gone are deleted by the janitors of
// the live ones (docs/architecture.md, "Reply topics: heartbeats and the janitor"). Short
// settings here; the defaults (10 s, 1 min) bound the removal to 97.5 s.

// killTestTiming is the heartbeat and grace of the kill test: 1 s and 9 s,
// unless E2E_REPLY_TOPIC_HEARTBEAT and E2E_REPLY_TOPIC_GRACE (Go durations)
// say otherwise, e.g. 10s and 1m to measure the defaults' figure.
func killTestTiming(t *testing.T) (heartbeat, grace time.Duration) {
	t.Helper()
	heartbeat, grace = time.Second, 9*time.Second
	for name, d := range map[string]*time.Duration{"E2E_REPLY_TOPIC_HEARTBEAT": &heartbeat, "E2E_REPLY_TOPIC_GRACE": &grace} {
		if v := os.Getenv(name); v != "" {
			var err error
			*d, err = time.ParseDuration(v)
			require.NoError(t, err, name)
		}
	}
	return heartbeat, grace
}

// topicWatch asks Kafka which topics exist, on one admin client.
type topicWatch struct{ admin *kafka.AdminClient }

func newTopicWatch(t *testing.T, bootstrap string) topicWatch {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	return topicWatch{admin: admin}
}

// exist reports which of names exist now.
func (w topicWatch) exist(t *testing.T, names ...string) map[string]bool {
	t.Helper()
	md, err := w.admin.GetMetadata(nil, true, 10_000)
	require.NoError(t, err)
	out := map[string]bool{}
	for _, name := range names {
		tm, ok := md.Topics[name]
		out[name] = ok && tm.Error.Code() == kafka.ErrNoError
	}
	return out
}

// create makes a one-partition topic, deleted after the test.
func (w topicWatch) create(t *testing.T, name string, config map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := w.admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: name, NumPartitions: 1, ReplicationFactor: -1, Config: config}})
	require.NoError(t, err)
	require.Equal(t, kafka.ErrNoError, res[0].Error.Code(), "create %s", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_, _ = w.admin.DeleteTopics(ctx, []string{name})
	})
}

// resultsTopic is the stack's RESULTS_TOPIC, the prefix of its reply topics.
func (s *stack) resultsTopic() string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "RESULTS_TOPIC="); ok {
			return v
		}
	}
	return ""
}

// replyTopicOf is the reply topic a server named in its ready line.
func replyTopicOf(t *testing.T, p *proc) string {
	t.Helper()
	topic, _ := waitLog(t, p, "kafka requester ready")["reply_topic"].(string)
	require.NotEmpty(t, topic)
	return topic
}

func postOK(t *testing.T, base string) {
	t.Helper()
	status, code, err := testinfra.PostQueue(context.Background(), http.DefaultClient, base)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, domain.IsGiftCode(code), "code %q", code)
}

// Five servers killed with SIGKILL leave no topic behind: each is deleted
// within the bound. Meanwhile a live server's topic is never touched, nor
// that of a server SIGSTOPped for two thirds of the grace (more than two
// janitor passes; silent for at most that plus a heartbeat, under the
// grace), nor a user's topic beside them, nor a reply topic of a server
// without heartbeats (no mark). Both servers serve afterwards.
func TestReplyTopics_KilledServersTopicsAreDeletedLiveOnesNever(t *testing.T) {
	const kills = 5
	heartbeat, grace := killTestTiming(t)
	pause := grace * 2 / 3
	require.Less(t, pause+heartbeat, grace, "the paused server must stay under the grace")
	in := needInfra(t)
	s := newStack(t, in, "RPS_KAFKA__REPLY_TOPIC_HEARTBEAT="+heartbeat.String(), "RPS_KAFKA__REPLY_TOPIC_GRACE="+grace.String())
	watch := newTopicWatch(t, in.bootstrap)
	users := s.resultsTopic() + ".audit"
	older := replytopics.Name(s.resultsTopic(), "older-1-abcdef")
	watch.create(t, users, replytopics.TopicConfig())
	watch.create(t, older, map[string]string{"retention.ms": "3600000"}) // as a server without heartbeats makes its topic

	s.startWorker(t)
	live := s.startServer(t)
	paused := s.startServer(t)
	liveProc, pausedProc := s.servers[0], s.servers[1]
	keep := []string{replyTopicOf(t, liveProc), replyTopicOf(t, pausedProc), users, older}
	var doomed []string
	var victims []*proc
	for range kills {
		s.startServer(t)
		p := s.servers[len(s.servers)-1]
		victims = append(victims, p)
		doomed = append(doomed, replyTopicOf(t, p))
	}
	require.True(t, allTrue(watch.exist(t, append(keep, doomed...)...)))

	killed := time.Now()
	for _, p := range victims {
		p.kill()
	}
	require.NoError(t, pausedProc.cmd.Process.Signal(syscall.SIGSTOP))
	stopped := true
	t.Cleanup(func() {
		if stopped {
			_ = pausedProc.cmd.Process.Signal(syscall.SIGCONT)
		}
	})

	bound := replytopics.RemovalBound(grace) + 3*time.Second // plus Kafka's own delays on a busy machine
	gone := map[string]time.Duration{}
	for len(gone) < kills || time.Since(killed) < pause+2*heartbeat {
		if time.Since(killed) > 2*bound {
			break
		}
		if stopped && time.Since(killed) >= pause {
			require.NoError(t, pausedProc.cmd.Process.Signal(syscall.SIGCONT))
			stopped = false
		}
		now := watch.exist(t, append(keep, doomed...)...)
		for _, name := range keep {
			require.True(t, now[name], "%s was deleted %s after the kills (paused until %s)", name, time.Since(killed), pause)
		}
		for _, name := range doomed {
			if _, seen := gone[name]; !seen && !now[name] {
				gone[name] = time.Since(killed)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, name := range doomed {
		require.Contains(t, gone, name, "the killed server's topic %s is still there %s after the kill", name, time.Since(killed))
		assert.LessOrEqual(t, gone[name], bound, name)
	}
	t.Logf("%d killed servers' topics deleted after %v (bound %s: grace %s + two passes, + 3 s; server paused %s)", kills, gone, bound, grace, pause)

	postOK(t, live)
	postOK(t, paused)
	deleted := metricstest.Scrape(t, live, "rps_kafka_reply_topics_deleted_total") +
		metricstest.Scrape(t, paused, "rps_kafka_reply_topics_deleted_total")
	assert.Equal(t, float64(kills), deleted, "each deletion counted once, by the janitor that made it")
}

// A server SIGSTOPped for longer than the grace loses its topic to a live
// server's janitor; on SIGCONT it notices, makes the topic again and serves
// requests, without a restart.
func TestReplyTopics_ServerPausedBeyondTheGraceMakesItsTopicAgain(t *testing.T) {
	const (
		heartbeat = time.Second
		grace     = 5 * time.Second
	)
	in := needInfra(t)
	s := newStack(t, in, "RPS_KAFKA__REPLY_TOPIC_HEARTBEAT="+heartbeat.String(), "RPS_KAFKA__REPLY_TOPIC_GRACE="+grace.String())
	watch := newTopicWatch(t, in.bootstrap)
	s.startWorker(t)
	s.startServer(t)
	base := s.startServer(t)
	p := s.servers[1]
	topic := replyTopicOf(t, p)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGSTOP))
	stopped := time.Now()
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	bound := replytopics.RemovalBound(grace) + heartbeat + 3*time.Second
	require.Eventually(t, func() bool { return !watch.exist(t, topic)[topic] }, bound, 200*time.Millisecond,
		"the paused server's topic is deleted once it was silent for the grace")
	t.Logf("deleted %s after SIGSTOP", time.Since(stopped).Round(time.Millisecond))

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGCONT))
	thawed = true
	resumed := time.Now()
	waitLog(t, p, "reply topic made again")
	assert.True(t, watch.exist(t, topic)[topic])
	waitReady(t, base+"/readyz", p)
	postOK(t, base)
	t.Logf("topic made again and a request served %s after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	assert.Less(t, time.Since(resumed), 10*time.Second)
}

func allTrue(m map[string]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}
