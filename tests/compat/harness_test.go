// Package compat_test runs our server (the cmd/server binary, configured by
// its environment) and our worker beside stand-ins of the Python original's
// server and worker on one real Kafka, as a fleet looks during a migration.
package compat_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// TestMain builds cmd/server, which the tests run as a process (our server);
// our worker runs in-process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rps-compat-bin")
	if err == nil {
		serverBin = filepath.Join(dir, "server")
		err = buildServer(serverBin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat: build cmd/server:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

var quiet = slog.New(slog.DiscardHandler)

// Partitions of the test's topics: two workers share the tasks; the results
// topic has several, as a real one would.
const (
	tasksPartitions   = 6
	resultsPartitions = 3
)

// testEnv is one test's Kafka and Redis: its own topics, group and gate key.
type testEnv struct {
	bootstrap, redis      string
	tasks, results, group string
	gateKey               string
}

func newEnv(t *testing.T) testEnv {
	t.Helper()
	id := uuid.NewString()[:8]
	env := testEnv{
		bootstrap: infra.KafkaBootstrap(t), redis: infra.RedisURL(t),
		tasks: "compat-tasks-" + id, results: "compat-results-" + id, group: "compat-workers-" + id,
		gateKey: "{compat-" + id + "}:gate",
	}
	withAdmin(t, env, func(ctx context.Context, admin *kafka.AdminClient) {
		res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{
			{Topic: env.tasks, NumPartitions: tasksPartitions, ReplicationFactor: 1},
			{Topic: env.results, NumPartitions: resultsPartitions, ReplicationFactor: 1},
		})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, kafka.ErrNoError, r.Error.Code(), r.String())
		}
	})
	t.Cleanup(func() { // registered first, so it runs after the clients closed
		withAdmin(t, env, func(ctx context.Context, admin *kafka.AdminClient) {
			_, _ = admin.DeleteTopics(ctx, []string{env.tasks, env.results})
			_, _ = admin.DeleteConsumerGroups(ctx, []string{env.group})
		})
	})
	return env
}

func withAdmin(t *testing.T, env testEnv, f func(context.Context, *kafka.AdminClient)) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": env.bootstrap})
	require.NoError(t, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f(ctx, admin)
}

// vars are our binaries' settings on env, as a user sets them: the
// original's variables where it had one, RPS_ ones for the rest.
func (env testEnv) vars(replyMode string) []string {
	return []string{
		"KAFKA_BOOTSTRAP_SERVERS=" + env.bootstrap,
		"TASKS_TOPIC=" + env.tasks,
		"RESULTS_TOPIC=" + env.results,
		"REDIS_URL=" + env.redis,
		"RPS_KAFKA__REPLY_MODE=" + replyMode,
		"RPS_GATE__KEY=" + env.gateKey,
		"RPS_WORKER__GROUP=" + env.group,
	}
}

// config is the configuration our binaries load from env.vars.
func (env testEnv) config(t *testing.T, replyMode string) configs.Config {
	t.Helper()
	cfg, err := configs.Load(configs.LoadOptions{Environ: env.vars(replyMode)})
	require.NoError(t, err)
	return cfg
}

// startOurWorker runs cmd/worker's Kafka worker on env until the test ends.
func startOurWorker(t *testing.T, env testEnv) *taskworker.Runner {
	t.Helper()
	cfg := env.config(t, configs.ReplyModeOwn)
	proc, err := app.NewProcessTask(app.DefaultHandlers(rand.Reader)...)
	require.NoError(t, err)
	w, err := taskworker.New(context.Background(), taskworker.Config{
		Bootstrap: cfg.Kafka.Bootstrap, TasksTopic: cfg.Kafka.TasksTopic, ResultsTopic: cfg.Kafka.ResultsTopic,
		Group: cfg.Worker.Group, Concurrency: cfg.Worker.Concurrency, DrainTimeout: 30 * time.Second,
		ReplyTimeout: cfg.Task.ReplyTimeout, Logger: quiet, Registerer: prometheus.NewRegistry(),
	}, proc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return w.Ready(context.Background()) == nil }, 60*time.Second, 10*time.Millisecond, "our worker joined")
	return w
}

// tally is what one side of a set-up got: codes, failures and latencies.
type tally struct {
	mu        sync.Mutex
	codes     []string
	failures  map[string]int
	latencies []time.Duration
}

func (ta *tally) add(code string, failure string, took time.Duration) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	if failure != "" {
		if ta.failures == nil {
			ta.failures = map[string]int{}
		}
		ta.failures[failure]++
		return
	}
	ta.codes = append(ta.codes, code)
	ta.latencies = append(ta.latencies, took)
}

// answered is the share of requests that got a code, in percent.
func (ta *tally) answered(total int) float64 { return 100 * float64(len(ta.codes)) / float64(total) }

// quantile of the answered requests' latencies (nearest rank).
func (ta *tally) quantile(q float64) time.Duration {
	if len(ta.latencies) == 0 {
		return 0
	}
	s := slices.Clone(ta.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (ta *tally) summary(name string, total int) string {
	return fmt.Sprintf("%s: %d/%d answered (%.1f %%), p50 %s, p99 %s, failures %v", name, len(ta.codes), total,
		ta.answered(total), ta.quantile(0.50).Round(100*time.Microsecond), ta.quantile(0.99).Round(100*time.Microsecond), ta.failures)
}

// drive runs total calls of one, at most concurrency at once.
func drive(total, concurrency int, one func() (string, string)) *tally {
	ta := &tally{}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for range total {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			code, failure := one()
			ta.add(code, failure, time.Since(start))
		})
	}
	wg.Wait()
	return ta
}

// viaOurServer calls POST /queue; a failure is named by its status.
func viaOurServer(t *testing.T, s *ourServer) func() (string, string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	t.Cleanup(client.CloseIdleConnections)
	return func() (string, string) {
		status, code, err := infra.PostQueue(context.Background(), client, s.url)
		switch {
		case err != nil:
			return "", err.Error()
		case status != http.StatusOK:
			return "", fmt.Sprintf("status %d", status)
		}
		return code, ""
	}
}

// viaTheirServer asks the original's server side, with its 10 s timeout.
func viaTheirServer(s *theirServer) func() (string, string) {
	return func() (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code, ok := s.request(ctx)
		if !ok {
			return "", "no code (the original's 200 with null)"
		}
		return code, ""
	}
}
