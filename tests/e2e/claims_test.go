package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// The documentation's claims about the binaries, each checked where it is made.

// "On SIGTERM … in-flight requests get up to the shutdown grace to finish"
// and "a server instance that shuts down cleanly deletes its reply topic":
// a POST waiting for its reply when SIGTERM arrives still gets its code, the
// server exits 0, and its reply topic is gone.
func TestClaim_ServerDrainsAnInFlightRequestAndDeletesItsReplyTopic(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	worker := s.startWorker(t)
	base := s.startServer(t)
	server := s.servers[0]
	replyTopic, _ := waitLog(t, server, "kafka requester ready")["reply_topic"].(string)
	require.NotEmpty(t, replyTopic)
	require.True(t, topicExists(t, in.bootstrap, replyTopic))

	// The worker is frozen, so the request stays in flight until it thaws.
	require.NoError(t, worker.cmd.Process.Signal(syscall.SIGSTOP))
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = worker.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw) // before the worker's own stop (cleanups run last first)
	type answer struct {
		status int
		code   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		status, code, err := testinfra.PostQueue(context.Background(), http.DefaultClient, base)
		answered <- answer{status, code, err}
	}()
	require.Eventually(t, func() bool { return metricstest.ScrapeQuiet(base, "rps_broker_pending_replies") == 1 },
		30*time.Second, 10*time.Millisecond, "the request never got in flight")

	require.NoError(t, server.cmd.Process.Signal(syscall.SIGTERM))
	waitLog(t, server, "shutting down")
	thaw()

	got := <-answered
	require.NoError(t, got.err)
	assert.Equal(t, http.StatusOK, got.status, "the in-flight request finished during the drain")
	assert.True(t, domain.IsGiftCode(got.code), "code %q", got.code)
	select {
	case <-server.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after its drain")
	}
	require.NoError(t, server.err, "exit status 0")
	waitLog(t, server, "drained")
	assert.False(t, topicExists(t, in.bootstrap, replyTopic), "the reply topic %s is deleted on a clean shutdown", replyTopic)
}

// "Every response carries X-Request-ID … the id travels with the task to
// the worker and into every log line of the request", and the worker keeps
// each issued code worker.ledger_window, a keyed request's
// worker.ledger_ttl (its key may run the task again until then).
func TestClaim_RequestIDInTheWorkersLogAndTheLedgerTTL(t *testing.T) {
	in := needInfra(t)
	const ttl, window = 7 * time.Minute, 4 * time.Minute
	s := newStack(t, in, "LOG_LEVEL=debug", "RPS_WORKER__LEDGER_TTL=7m", "RPS_WORKER__LEDGER_WINDOW=4m")
	worker := s.startWorker(t)
	base := s.startServer(t)
	started := waitLog(t, worker, "issuance: exactly-once per task (redis ledger)")
	assert.Equal(t, "7m0s", started["ttl"])
	assert.Equal(t, "4m0s", started["window"])
	assert.Equal(t, "2m0s", started["max_task_age"])

	post := func(header, value string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/queue", nil)
		require.NoError(t, err)
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		if header == "X-Request-ID" {
			assert.Equal(t, value, resp.Header.Get("X-Request-ID"))
		}
	}
	id := "claim-" + uuid.NewString()
	post("X-Request-ID", id)
	rec := waitLog(t, worker, "task done")
	assert.Equal(t, id, rec["request_id"], "the worker's line about the task names its request")

	// The task's record lives the window (PTTL counts down from it).
	c := in.redis
	keys, err := c.Do(context.Background(), c.B().Keys().Pattern(s.ledgerPrefix+"*").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	left := pttl(t, c, keys[0])
	assert.LessOrEqual(t, left, window)
	assert.Greater(t, left, window-time.Minute, "the record is kept worker.ledger_window, not a default")

	// A keyed request's record lives ledger_ttl.
	post("Idempotency-Key", "claim-"+uuid.NewString())
	keyed, err := c.Do(context.Background(), c.B().Keys().Pattern(s.ledgerPrefix+"k-*").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Len(t, keyed, 1)
	left = pttl(t, c, keyed[0])
	assert.LessOrEqual(t, left, ttl)
	assert.Greater(t, left, ttl-time.Minute, "the keyed record is kept worker.ledger_ttl, not a default")
}

func pttl(t *testing.T, c rueidis.Client, key string) time.Duration {
	t.Helper()
	ms, err := c.Do(context.Background(), c.B().Pttl().Key(key).Build()).AsInt64()
	require.NoError(t, err)
	return time.Duration(ms) * time.Millisecond
}

// "The ledger needs REDIS_URL on the workers; without it a worker warns that
// issuance is at-least-once", and gate.fail_open through the server's
// wiring: with Redis cut off, a fail-open server admits (200 with a code)
// while a fail-closed one refuses (503) a request that needs Redis.
func TestClaim_FailOpenThroughTheWiringAndAWorkerWithoutRedis(t *testing.T) {
	in := needInfra(t)
	redis := newTCPProxy(t, strings.TrimPrefix(strings.TrimSuffix(in.redisURL, "/0"), "redis://"))
	s := newStack(t, in, "REDIS_URL=redis://"+redis.addr()+"/0")
	worker := s.startWorker(t, "REDIS_URL=")
	open := s.startServer(t, "RPS_GATE__FAIL_OPEN=true")
	closed := s.startServer(t)

	warn := waitLog(t, worker, "no REDIS_URL: issuance is at-least-once")
	assert.Equal(t, "WARN", warn["level"])
	for _, base := range []string{open, closed} {
		status, code, err := testinfra.PostQueue(context.Background(), http.DefaultClient, base)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "before the cut")
		require.True(t, domain.IsGiftCode(code), "a worker without Redis still answers")
	}

	// In block mode (the default) a server keeps serving on the leases it
	// holds while Redis is away; once it holds none, a request needs Redis.
	require.Eventually(t, func() bool { return metricstest.ScrapeQuiet(closed, "rps_gate_slots_leased") == 0 },
		2*time.Second, 5*time.Millisecond, "the fail-closed server gives its idle leases back")
	redis.cut()
	status, code, err := testinfra.PostQueue(context.Background(), http.DefaultClient, open)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, "fail-open admits without Redis")
	assert.True(t, domain.IsGiftCode(code), "code %q", code)
	outage := waitLog(t, s.servers[0], "redis gate outage started")
	assert.Equal(t, "WARN", outage["level"])
	assert.Equal(t, "fail open", outage["on_redis_error"], "the outage line says requests are admitted")

	status, _, err = testinfra.PostQueue(context.Background(), http.DefaultClient, closed)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, status, "fail-closed refuses without Redis")
}

// waitLog waits for p's first JSON log line whose msg starts with msg.
func waitLog(t *testing.T, p *proc, msg string) map[string]any {
	t.Helper()
	var found map[string]any
	require.Eventually(t, func() bool {
		for _, rec := range logRecords(t, p) {
			if m, _ := rec["msg"].(string); strings.HasPrefix(m, msg) {
				found = rec
				return true
			}
		}
		return false
	}, 60*time.Second, 20*time.Millisecond, "%s never logged %q", p.name, msg)
	return found
}

// logRecords reads p's JSON log lines (other lines are skipped).
func logRecords(t *testing.T, p *proc) []map[string]any {
	t.Helper()
	f, err := os.Open(p.log)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

// topicExists asks Kafka's metadata whether topic exists.
func topicExists(t *testing.T, bootstrap, topic string) bool {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	require.NoError(t, err)
	defer admin.Close()
	md, err := admin.GetMetadata(&topic, false, 10_000)
	require.NoError(t, err)
	switch code := md.Topics[topic].Error.Code(); code {
	case kafka.ErrNoError:
		return true
	case kafka.ErrUnknownTopicOrPart, kafka.ErrUnknownTopic:
		return false
	default:
		t.Fatalf("metadata of %s: %v", topic, md.Topics[topic].Error)
		return false
	}
}

// tcpProxy forwards a loopback port to target until cut, after which its
// connections are closed and new ones refused: an outage of target as the
// processes behind it see it.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	isCut bool
	wg    sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", testinfra.FreeAddr(t))
	require.NoError(t, err)
	p := &tcpProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			if p.isCut { // accepted while cut ran
				_, _ = c.Close(), up.Close()
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); _ = c.Close() })
		}
	})
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// cut closes the listener and every connection; it is safe to call twice.
func (p *tcpProxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.isCut = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
