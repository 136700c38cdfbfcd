package serverapp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/adapters/memledger"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/configs"
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

// idemConfig is the default config with replyTimeout as the reply deadline
// and ttl as how long a key's outcome is kept; no Redis: the gate and the
// store are in memory until onRedis.
func idemConfig(replyTimeout, ttl time.Duration) configs.Config {
	cfg := configs.Default()
	cfg.Gate.Capacity = capacity
	cfg.Task.ReplyTimeout = replyTimeout
	cfg.HTTP.RequestTimeout = replyTimeout + 5*time.Second
	cfg.Idempotency.TTL = ttl
	return cfg
}

// onRedis puts cfg's gate and store on the test Redis, under a gate key and
// a key prefix of the test's own; instances given the same cfg share them,
// as instances sharing a Redis do.
func onRedis(t *testing.T, cfg *configs.Config) {
	t.Helper()
	id := uuid.NewString()[:8]
	cfg.Redis.URL = infra.RedisURL(t)
	cfg.Idempotency.Prefix = "t:" + id + ":"
	cfg.Gate.Key = "{idem-" + id + "}:gate"
}

// stores puts cfg on each kind of store: memory, and Redis.
func stores() map[string]func(t *testing.T, cfg *configs.Config) {
	return map[string]func(t *testing.T, cfg *configs.Config){
		"memory": func(*testing.T, *configs.Config) {},
		"redis":  onRedis,
	}
}

// newIdemServerOn is a server over w on a fresh config (idemConfig) whose
// store onStore chooses.
func newIdemServerOn(t *testing.T, onStore func(*testing.T, *configs.Config), w *worker, replyTimeout, ttl time.Duration) *httptest.Server {
	t.Helper()
	cfg := idemConfig(replyTimeout, ttl)
	onStore(t, &cfg)
	return newServer(t, cfg, w.proc)
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
	for name, onStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			srv := newIdemServerOn(t, onStore, w, 5*time.Second, time.Minute)
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
	for name, onStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			w.delay = func(int32) time.Duration { return 50 * time.Millisecond }
			srv := newIdemServerOn(t, onStore, w, 5*time.Second, time.Minute)
			assertOneCode(t, []string{srv.URL}, w)
		})
	}
}

func TestIdempotency_TwoInstancesOnOneRedis(t *testing.T) {
	cfg := idemConfig(5*time.Second, time.Minute)
	onRedis(t, &cfg)
	w := newWorker(t) // the workers' shared ledger
	w.delay = func(int32) time.Duration { return 50 * time.Millisecond }
	a := newServer(t, cfg, w.proc)
	b := newServer(t, cfg, w.proc)
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
	for name, onStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			w.delay = func(run int32) time.Duration {
				if run == 1 {
					return 300 * time.Millisecond
				}
				return 0
			}
			w.done = make(chan string, 2)
			srv := newIdemServerOn(t, onStore, w, 100*time.Millisecond, time.Minute)
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
	for name, onStore := range stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorker(t)
			srv := newIdemServerOn(t, onStore, w, 5*time.Second, 200*time.Millisecond)
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

// The same key with another kind is a 422: a kind the server does not run is
// refused before the key is looked at (a kind it runs would be refused as a
// reused key, also 422), and the key's stored outcome is left as it was.
func TestIdempotency_SameKeyOtherKindIs422(t *testing.T) {
	w := newWorker(t)
	srv := newIdemServerOn(t, onRedis, w, 5*time.Second, time.Minute)
	key := uuid.NewString()
	first := post(t, srv.URL, key)
	require.Equal(t, http.StatusOK, first.status)
	assert.Equal(t, http.StatusUnprocessableEntity, postAction(t, srv.URL, key, "other_kind"))
	assert.Equal(t, answer{status: http.StatusOK, code: first.code, requestID: first.requestID, replayed: true}, post(t, srv.URL, key))
}

// postAction posts {"action": action} under key and returns the status.
func postAction(t *testing.T, url, key, action string) int {
	t.Helper()
	body, err := json.Marshal(map[string]string{"action": action})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/queue", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A request refused before the gate (a bad or unknown action) is refused
// before its key is stored: keys that are never run cost Redis nothing.
func TestIdempotency_RefusedRequestsStoreNothing(t *testing.T) {
	cfg := idemConfig(5*time.Second, time.Hour)
	onRedis(t, &cfg)
	w := newWorker(t)
	srv := newServer(t, cfg, w.proc)
	big := strings.Repeat("A", int(cfg.HTTP.BodyLimit)-len(`{"action":""}`)) // as large as a body may be
	for range 200 {
		require.Equal(t, http.StatusBadRequest, postAction(t, srv.URL, uuid.NewString(), big))
	}
	for range 20 {
		require.Equal(t, http.StatusUnprocessableEntity, postAction(t, srv.URL, uuid.NewString(), "no_such_kind"))
	}
	keys, bytes := infra.PrefixMemory(t, infra.RedisClient(t, cfg.Redis.URL), cfg.Idempotency.Prefix)
	t.Logf("220 refused requests left %d keys, %d bytes", keys, bytes)
	assert.Zero(t, keys, "Redis keys left by refused requests")
	assert.Zero(t, bytes, "bytes left by refused requests")
	assert.Zero(t, w.runs.Load())
}

// A request refused by a full gate (429) sent no task: once it is
// answered, its key is forgotten, as if it had never been sent.
func TestIdempotency_AtCapacityLeavesNothing(t *testing.T) {
	for name, onStore := range stores() {
		t.Run(name, func(t *testing.T) {
			cfg := idemConfig(5*time.Second, time.Hour)
			cfg.Gate.Capacity = 2
			onStore(t, &cfg)
			w := newWorker(t)
			hold := make(chan struct{})
			w.delay = func(int32) time.Duration { <-hold; return 0 }
			srv := newServer(t, cfg, w.proc)
			var wg sync.WaitGroup
			busy := []string{uuid.NewString(), uuid.NewString()}
			for _, key := range busy { // the two slots, held by keyed requests
				wg.Go(func() { assert.Equal(t, http.StatusOK, post(t, srv.URL, key).status) })
			}
			require.Eventually(t, func() bool { return w.runs.Load() == 2 }, 5*time.Second, 5*time.Millisecond)
			refused := make([]string, 50)
			for i := range refused {
				refused[i] = uuid.NewString()
				require.Equal(t, http.StatusTooManyRequests, post(t, srv.URL, refused[i]).status)
			}
			if name == "redis" {
				keys, _ := infra.PrefixMemory(t, infra.RedisClient(t, cfg.Redis.URL), cfg.Idempotency.Prefix)
				assert.Equal(t, int64(len(busy)), keys, "only the requests in flight hold a key")
			}
			close(hold)
			wg.Wait()
			// A key refused at capacity is new again: its retry runs as a new task.
			again := post(t, srv.URL, refused[0])
			assert.Equal(t, answer{status: http.StatusOK, code: again.code, requestID: again.requestID}, again)
			assert.Equal(t, int32(3), w.runs.Load())
		})
	}
}
