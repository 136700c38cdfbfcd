package faults_test

import (
	"context"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// checkNoCodeTwice asserts that no gift code was handed out twice.
func checkNoCodeTwice(t *testing.T, rs []result) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rs {
		if r.status != http.StatusOK {
			continue
		}
		require.NotEmpty(t, r.giftCode, "a 200 carries its code")
		assert.False(t, seen[r.giftCode], "code %s issued twice", r.giftCode)
		seen[r.giftCode] = true
	}
}

// A worker is killed (SIGKILL) in the middle of a batch under load and a new
// one started. Every request is answered 200, 503 or 504 within its
// deadline, and no code is handed out twice (the tasks the dead worker held
// are redelivered and answered from the ledger, or time out).
func TestKafka_WorkerKilledMidBatch(t *testing.T) {
	redisURL := infra.RedisURL(t)
	k := newKafkaStack(t)
	w := startWorker(t, k, redisURL)
	s := startServer(t, redisURL, k.env...)
	before := s.baseline()

	l := startLoad(s, 10, 5*time.Millisecond)
	time.Sleep(time.Second)
	w.kill()
	killedAt := time.Now()
	startWorker(t, k, redisURL)
	restartedAt := time.Now()
	require.Eventually(t, func() bool { return firstOKAfter(l.snapshot(), restartedAt) >= 0 },
		30*time.Second, 50*time.Millisecond, "answers again with the new worker")
	time.Sleep(500 * time.Millisecond)
	rs := l.finish()

	counts := map[int]int{}
	for _, r := range rs {
		counts[r.status]++
		assert.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable, http.StatusGatewayTimeout}, r.status,
			"status %d (%v)", r.status, r.err)
		assert.LessOrEqual(t, r.took, requestTimeout+time.Second, "answered within its deadline")
	}
	checkNoCodeTwice(t, rs)
	t.Logf("FIGURES worker killed mid-batch: answers %v; new worker ready %s after the kill; first 200 %s after it",
		counts, restartedAt.Sub(killedAt).Round(time.Millisecond), firstOKAfter(rs, restartedAt).Round(time.Millisecond))
	assert.Eventually(t, func() bool { return infra.ZCard(t, infra.RedisClient(t, redisURL), s.gateKey) == 0 },
		2*time.Second, 20*time.Millisecond, "the gate drains to 0")
	assert.Eventually(t, func() bool { return k.lag() == 0 }, 30*time.Second, 200*time.Millisecond,
		"committed offsets reach the end of the tasks topic")
	s.checkRecovered(before, 150<<20)
}

// The broker stops under load and comes back. While it is down requests get
// 503 with Retry-After or 504 at their deadline, never a hang; once it is
// back they get 200 again, committed offsets reach the end, and no code is
// handed out twice. (How fast it recovers is tests/e2e's recovery tests';
// here: correctness.)
func TestKafka_BrokerStoppedAndRestarted(t *testing.T) {
	broker := infra.StartKafka(t)
	redisURL := infra.RedisURL(t)
	k := newKafkaStackOn(broker.Bootstrap())
	startWorker(t, k, redisURL)
	s := startServer(t, redisURL, k.env...)
	before := s.baseline()

	l := startLoad(s, 10, 5*time.Millisecond)
	time.Sleep(time.Second)
	stoppedAt := time.Now()
	broker.Stop(t)
	stopTook := time.Since(stoppedAt)
	require.Eventually(t, func() bool { return firstNotOKAfter(l.snapshot(), stoppedAt) >= 0 }, 30*time.Second, 20*time.Millisecond,
		"requests are refused while the broker is down")
	time.Sleep(2 * time.Second)
	broker.Restart(t)
	backAt := time.Now()
	require.Eventually(t, func() bool { return firstOKAfter(l.snapshot(), backAt) >= 0 }, 60*time.Second, 50*time.Millisecond,
		"requests succeed again once the broker is back")
	time.Sleep(time.Second)
	rs := l.finish()

	counts := map[int]int{}
	for _, r := range rs {
		counts[r.status]++
		switch r.status {
		case http.StatusOK, http.StatusGatewayTimeout:
		case http.StatusServiceUnavailable:
			assert.NotEmpty(t, r.retryAfter)
		default:
			t.Errorf("status %d (%v) %s after the stop", r.status, r.err, r.at.Sub(stoppedAt))
		}
		assert.LessOrEqual(t, r.took, requestTimeout+time.Second, "answered within its deadline")
	}
	checkNoCodeTwice(t, rs)
	t.Logf("FIGURES kafka broker stopped (SIGTERM, %s) and restarted: answers %v; first refusal %s after the stop; first 200 %s after the broker answered again",
		stopTook.Round(time.Millisecond), counts, firstNotOKAfter(rs, stoppedAt).Round(time.Millisecond), firstOKAfter(rs, backAt).Round(time.Millisecond))
	log := s.log()
	started, ended := warnLines(log, "kafka outage started"), warnLines(log, "kafka outage ended")
	t.Logf("server outage lines: %v %v", started, ended)
	assert.NotEmpty(t, started, "the outage's start is logged")
	assert.Len(t, ended, len(started), "and its end")
	assert.Eventually(t, func() bool { return k.lag() == 0 }, 60*time.Second, 200*time.Millisecond,
		"committed offsets reach the end of the tasks topic")
	assert.Eventually(t, func() bool { return infra.ZCard(t, infra.RedisClient(t, redisURL), s.gateKey) == 0 },
		2*time.Second, 20*time.Millisecond, "the gate drains to 0")
	s.checkRecovered(before, 150<<20)
}

// A client that gives up mid-request gets its slot given back at once, not
// after a lease: while its task waits for a reply (no worker runs), and
// while its acquire is still in flight to a slow Redis.
func TestClientAbort_SlotReleased(t *testing.T) {
	t.Run("waiting_for_reply", func(t *testing.T) {
		redisURL := infra.RedisURL(t)
		k := newKafkaStack(t)
		startSilentWorker(t, k) // nothing answers
		s := startServer(t, redisURL, k.env...)
		raw := infra.RedisClient(t, redisURL)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/queue", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		require.Eventually(t, func() bool { return infra.ZCard(t, raw, s.gateKey) == 1 }, 5*time.Second, 5*time.Millisecond)
		cancel()
		abortAt := time.Now()
		<-done
		require.Eventually(t, func() bool { return infra.ZCard(t, raw, s.gateKey) == 0 }, time.Second, 5*time.Millisecond,
			"the slot is given back when the client goes")
		t.Logf("FIGURES client abort while waiting: slot back %s after the abort", time.Since(abortAt).Round(time.Millisecond))
		assert.Zero(t, metricstest.Scrape(t, s.base, "rps_gate_slots_in_use"))
	})
	t.Run("during_acquire", func(t *testing.T) {
		r := startRedisBehindProxy(t)
		s := startServer(t, r.url())
		raw := infra.RedisClient(t, r.URL())
		remove := r.addLatency(t, 300*time.Millisecond)
		for range capacity { // more than the gate holds: leaked slots would show as 429 below
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/queue", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			cancel()
		}
		remove()
		abortAt := time.Now()
		// Acquires still inside the proxy's 300 ms delay land after it and are
		// undone: the gate is empty once they all have.
		require.Eventually(t, func() bool {
			return time.Since(abortAt) > time.Second && infra.ZCard(t, raw, s.gateKey) == 0
		}, 3*time.Second, 5*time.Millisecond, "acquires abandoned mid-flight hold nothing")
		t.Logf("FIGURES client abort during acquire: gate empty %s after the latency went", time.Since(abortAt).Round(time.Millisecond))
		statuses := s.burst(capacity)
		assert.Equal(t, capacity, count(statuses, http.StatusOK), "the whole capacity is free: %v", statuses)
	})
}

// Kafka unreachable when the server starts, then reachable: requests get 503
// with Retry-After at once (never a hang), the server turns ready on its
// own, and the outage is two WARN lines with the count of refused requests.
func TestKafka_UnreachableThenBack(t *testing.T) {
	k := newKafkaStack(t)
	proxy := toxiproxy.NewProxy(toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()),
		"kafka", infra.FreeAddr(t), infra.KafkaBootstrap(t)) // not started: connections refused
	startWorker(t, k, infra.RedisURL(t))
	s := launchServer(t, "", append(k.env, "KAFKA_BOOTSTRAP_SERVERS="+proxy.Listen)...)
	l := startLoad(s, 5, 20*time.Millisecond)
	require.Eventually(t, func() bool { return len(warnLines(s.log(), "kafka outage started")) == 1 },
		10*time.Second, 20*time.Millisecond, "the outage is logged once it starts")
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, proxy.Start())
	t.Cleanup(proxy.Stop)
	backAt := time.Now()
	require.Eventually(t, func() bool { return firstOKAfter(l.snapshot(), backAt) >= 0 },
		30*time.Second, 20*time.Millisecond, "answers once Kafka is reachable")
	rs := l.finish()
	counts := checkAnswers(t, rs)
	t.Logf("FIGURES kafka unreachable at start: answers %v; first 200 %s after Kafka became reachable",
		counts, firstOKAfter(rs, backAt).Round(time.Millisecond))
	log := s.log()
	assert.Len(t, warnLines(log, "kafka outage started"), 1, "one line at the start")
	ended := warnLines(log, "kafka outage ended")
	require.Len(t, ended, 1, "one line at the end")
	assert.Contains(t, ended[0], `"refused":`)
	assert.Positive(t, counts[http.StatusServiceUnavailable])
}

// A worker told to stop (SIGTERM) while its broker is gone, with answers
// whose offsets may not be committed yet, exits on its own within its drain
// and 10 s (Compose's stop grace period covers both), and says why its
// close was cut short, never waiting forever in a final Commit nor out a
// 45 s session in librdkafka's close. The server then stops as cleanly as
// with a broker.
func TestKafka_WorkerAndServerStopWhileBrokerIsDown(t *testing.T) {
	broker := infra.StartKafka(t)
	redisURL := infra.RedisURL(t)
	k := newKafkaStackOn(broker.Bootstrap())
	// Replies whose delivery reports die with the broker keep their tasks
	// unsettled: the drain waits them out (worker.drain_timeout, 30 s by
	// default) before the close. A short drain keeps the case short.
	const drain = 3 * time.Second
	k.env = append(k.env, "RPS_WORKER__DRAIN_TIMEOUT="+drain.String())
	w := startWorker(t, k, redisURL)
	s := startServer(t, redisURL, k.env...)
	statuses := s.burst(capacity)
	require.Equal(t, capacity, count(statuses, http.StatusOK), "answered before the broker goes: %v", statuses)

	broker.Kill(t) // at once: the last answers' offsets may not be committed
	stopAt := time.Now()
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker still running 30 s after SIGTERM with the broker down")
	}
	took := time.Since(stopAt)
	t.Logf("FIGURES worker stopped %s after SIGTERM with the broker down (exit: %v)", took.Round(time.Millisecond), w.err)
	assert.Less(t, took, drain+20*time.Second, "within the drain, the consumer's close bound (10 s) and a margin")
	assert.Error(t, w.err, "a close cut short is an exit with an error")
	log, err := os.ReadFile(w.logPath)
	require.NoError(t, err)
	assert.Contains(t, string(log), "worker stopped", "it stopped through its own shutdown, not a kill")
	assert.Contains(t, string(log), "offsets not yet committed are redelivered", "the cut-short close is explained")

	serverStop := time.Now()
	require.NoError(t, s.terminate(15*time.Second), "the server exits 0 within its grace period, broker or not")
	t.Logf("FIGURES server stopped %s after SIGTERM with the broker down", time.Since(serverStop).Round(time.Millisecond))
}
