package tests

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/adapters/memledger"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// worker is a worker double with an issuance ledger, as cmd/worker runs it:
// every run issues a new code, the ledger keeps the first per task id. It
// counts runs, and delay (when set) says how long a run takes.
type worker struct {
	runs  atomic.Int32
	delay func(run int32) time.Duration
	done  chan string // each run's issued code, when not nil
	proc  ports.TaskProcessor
}

func newWorker(t *testing.T) *worker {
	t.Helper()
	w := &worker{}
	inner := membroker.ProcessorFunc(func(_ context.Context, task domain.Task) domain.Result {
		n := w.runs.Add(1)
		if w.delay != nil {
			time.Sleep(w.delay(n))
		}
		return domain.Result{TaskID: task.ID, Value: "GIFT-" + uuid.NewString()}
	})
	eo, err := app.NewExactlyOnce(inner, memledger.New(time.Hour))
	require.NoError(t, err)
	w.proc = membroker.ProcessorFunc(func(ctx context.Context, task domain.Task) domain.Result {
		res := eo.Process(context.WithoutCancel(ctx), task) // a real worker outlives the request
		if w.done != nil {
			w.done <- res.Value
		}
		return res
	})
	return w
}

// newIdemServer is one server instance: its own gate and broker, the given
// store and the shared worker, with replyTimeout as the reply deadline.
func newIdemServer(t *testing.T, store ports.IdempotencyStore, w *worker, replyTimeout time.Duration) *httptest.Server {
	t.Helper()
	gate, err := memgate.New(capacity)
	require.NoError(t, err)
	broker, err := membroker.New(w.proc, 1000)
	require.NoError(t, err)
	t.Cleanup(broker.Close)
	log := slog.New(slog.DiscardHandler)
	submit, err := app.NewSubmitTask(gate, broker, app.SubmitTaskConfig{
		Kinds: []domain.Kind{domain.KindGiftCode}, ReplyTimeout: replyTimeout,
		ReleaseTimeout: time.Second, NewID: uuid.NewString, Logger: log,
	})
	require.NoError(t, err)
	once, err := app.NewSubmitOnce(submit, store, app.SubmitOnceConfig{Lease: 10 * time.Second, StoreTimeout: time.Second})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	api, err := httpapi.New(once, httpapi.Config{
		BodyLimit: 4096, RequestTimeout: replyTimeout + 5*time.Second, RetryAfter: time.Second,
		Logger: log, Registerer: reg, Gatherer: reg,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// stores makes a fresh store of each kind; redis ones share prefix when
// given one, as instances sharing a Redis do.
func stores() map[string]func(t *testing.T, ttl time.Duration, prefix string) ports.IdempotencyStore {
	return map[string]func(t *testing.T, ttl time.Duration, prefix string) ports.IdempotencyStore{
		"memory": func(t *testing.T, ttl time.Duration, _ string) ports.IdempotencyStore {
			s, err := memidem.New(ttl)
			require.NoError(t, err)
			return s
		},
		"redis": newRedisIdem,
	}
}

func newRedisIdem(t *testing.T, ttl time.Duration, prefix string) ports.IdempotencyStore {
	t.Helper()
	client := infra.AdapterClient(t, infra.RedisURL(t)) // one per store, as one per instance
	s, err := redisidem.New(client, redisidem.Config{Prefix: prefix, TTL: ttl, CommandTimeout: 2 * time.Second})
	require.NoError(t, err)
	return s
}

type answer struct {
	status    int
	code      string
	requestID string
	replayed  bool
}

func post(t *testing.T, url, key string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/queue", http.NoBody)
	require.NoError(t, err)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if a.status == http.StatusOK {
		var g struct {
			GiftCode  string `json:"gift_code"`
			RequestID string `json:"request_id"`
		}
		require.NoError(t, json.Unmarshal(body, &g))
		a.code, a.requestID = g.GiftCode, g.RequestID
		assert.Equal(t, a.requestID, resp.Header.Get("X-Request-ID"))
	}
	return a
}

// postUntilAnswered retries 409 (in flight) as a client would, honouring
// its Retry-After only loosely to keep the test short.
func postUntilAnswered(t *testing.T, url, key string) answer {
	t.Helper()
	for {
		a := post(t, url, key)
		if a.status != http.StatusConflict {
			return a
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdempotency_SequentialRetriesGetTheFirstAnswer(t *testing.T) {
	for name, newStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			srv := newIdemServer(t, newStore(t, time.Minute, "t:"+uuid.NewString()[:8]+":"), w, 5*time.Second)
			key := uuid.NewString()
			first := post(t, srv.URL, key)
			require.Equal(t, http.StatusOK, first.status)
			assert.False(t, first.replayed)
			for range 5 {
				again := post(t, srv.URL, key)
				assert.Equal(t, answer{status: http.StatusOK, code: first.code, requestID: first.requestID, replayed: true}, again)
			}
			assert.Equal(t, int32(1), w.runs.Load(), "retries never reach a worker")
			assert.NotEqual(t, first.code, post(t, srv.URL, uuid.NewString()).code, "another key is another request")
		})
	}
}

func TestIdempotency_ConcurrentRetriesOneCode(t *testing.T) {
	for name, newStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			w.delay = func(int32) time.Duration { return 50 * time.Millisecond }
			srv := newIdemServer(t, newStore(t, time.Minute, "t:"+uuid.NewString()[:8]+":"), w, 5*time.Second)
			assertOneCode(t, []string{srv.URL}, w)
		})
	}
}

func TestIdempotency_TwoInstancesOnOneRedis(t *testing.T) {
	prefix := "t:" + uuid.NewString()[:8] + ":"
	w := newWorker(t) // the workers' shared ledger
	w.delay = func(int32) time.Duration { return 50 * time.Millisecond }
	a := newIdemServer(t, newRedisIdem(t, time.Minute, prefix), w, 5*time.Second)
	b := newIdemServer(t, newRedisIdem(t, time.Minute, prefix), w, 5*time.Second)
	assertOneCode(t, []string{a.URL, b.URL}, w)
}

// assertOneCode sends one key from 100 goroutines spread over urls; every
// one ends with the same code and request id, and the worker ran once.
func assertOneCode(t *testing.T, urls []string, w *worker) {
	t.Helper()
	key := uuid.NewString()
	got := make([]answer, 100)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = postUntilAnswered(t, urls[i%len(urls)], key) })
	}
	wg.Wait()
	require.Equal(t, http.StatusOK, got[0].status)
	replayed := 0
	for _, a := range got {
		assert.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, got[0].code, a.code, "one key, one code")
		assert.Equal(t, got[0].requestID, a.requestID)
		if a.replayed {
			replayed++
		}
	}
	assert.Equal(t, 99, replayed)
	assert.Equal(t, int32(1), w.runs.Load())
}

// A worker slower than the reply deadline: the client gets 504, which is not
// stored; its retry runs again as the same task, and the worker's ledger
// answers it with the code the slow run issued.
func TestIdempotency_RetryAfter504GetsTheSlowRunsCode(t *testing.T) {
	for name, newStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			w.delay = func(run int32) time.Duration {
				if run == 1 {
					return 300 * time.Millisecond
				}
				return 0
			}
			w.done = make(chan string, 2)
			srv := newIdemServer(t, newStore(t, time.Minute, "t:"+uuid.NewString()[:8]+":"), w, 100*time.Millisecond)
			key := uuid.NewString()
			require.Equal(t, http.StatusGatewayTimeout, post(t, srv.URL, key).status)
			issued := <-w.done // the slow run finished and issued its code

			retry := post(t, srv.URL, key)
			require.Equal(t, http.StatusOK, retry.status)
			assert.False(t, retry.replayed, "a 504 is not stored: the retry ran")
			assert.Equal(t, issued, retry.code, "the retry gets the code already issued, not a new one")
			assert.Equal(t, int32(2), w.runs.Load())
			assert.Equal(t, answer{status: http.StatusOK, code: issued, requestID: retry.requestID, replayed: true}, post(t, srv.URL, key))
		})
	}
}

func TestIdempotency_AnExpiredKeyIsANewRequest(t *testing.T) {
	for name, newStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			srv := newIdemServer(t, newStore(t, 200*time.Millisecond, "t:"+uuid.NewString()[:8]+":"), w, 5*time.Second)
			key := uuid.NewString()
			first := post(t, srv.URL, key)
			require.Equal(t, http.StatusOK, first.status)
			var later answer
			require.Eventually(t, func() bool {
				later = post(t, srv.URL, key)
				return !later.replayed
			}, 3*time.Second, 20*time.Millisecond)
			assert.Equal(t, http.StatusOK, later.status)
			assert.NotEqual(t, first.requestID, later.requestID)
			assert.NotEqual(t, first.code, later.code, "after its TTL a key asks for a new task")
			assert.Equal(t, int32(2), w.runs.Load())
		})
	}
}

func TestIdempotency_SameKeyOtherKindIs422(t *testing.T) {
	w := newWorker(t)
	srv := newIdemServer(t, newRedisIdem(t, time.Minute, "t:"+uuid.NewString()[:8]+":"), w, 5*time.Second)
	key := uuid.NewString()
	require.Equal(t, http.StatusOK, post(t, srv.URL, key).status)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/queue",
		jsonBody(`{"action":"other_kind"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }
