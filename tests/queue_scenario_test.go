// Package tests holds tests that assemble the real pieces: the original's
// queue scenario through the HTTP adapter, the use case and each gate.
package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/adapters/memgate"
	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/adapters/redisgate"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const capacity = 100

// The original's queue scenario: a broker double answers 100 ms after every
// user has reached the server, so all users are in flight at once. Up to the
// capacity all are admitted; beyond it exactly capacity get 200, the rest 429.
func TestQueueScenario(t *testing.T) {
	gates := map[string]func(t *testing.T) ports.ConcurrencyGate{
		"memory_gate": func(t *testing.T) ports.ConcurrencyGate {
			g, err := memgate.New(capacity)
			require.NoError(t, err)
			return g
		},
		"redis_gate": newRedisGate,
	}
	for name, newGate := range gates {
		t.Run(name, func(t *testing.T) {
			for _, sc := range []struct{ users, want200, want429 int }{
				{users: 10, want200: 10},
				{users: capacity, want200: capacity},
				{users: 5 * capacity, want200: capacity, want429: 4 * capacity},
			} {
				t.Run(fmt.Sprintf("%d_users", sc.users), func(t *testing.T) {
					statuses := runScenario(t, newGate(t), sc.users)
					want := withoutZeros(map[int]int{http.StatusOK: sc.want200, http.StatusTooManyRequests: sc.want429})
					assert.Equal(t, want, withoutZeros(statuses))
				})
			}
		})
	}
}

func newRedisGate(t *testing.T) ports.ConcurrencyGate {
	t.Helper()
	url := infra.RedisURL(t)
	g, err := redisgate.New(context.Background(), redisgate.Config{
		URL: url, Key: "{scenario-" + uuid.NewString() + "}:gate", Capacity: capacity,
		Lease: 30 * time.Second, DialTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	t.Cleanup(g.Close)
	return g
}

// runScenario sends users concurrent POST /queue and tallies the statuses.
func runScenario(t *testing.T, gate ports.ConcurrencyGate, users int) map[int]int {
	t.Helper()
	var arrived atomic.Int32
	allArrived := make(chan struct{})
	double := membroker.ProcessorFunc(func(ctx context.Context, task domain.Task) domain.Result {
		select {
		case <-allArrived:
		case <-ctx.Done():
			return domain.Result{TaskID: task.ID, Error: ctx.Err().Error()}
		}
		time.Sleep(100 * time.Millisecond)
		return domain.Result{TaskID: task.ID, Value: "GIFT-" + task.ID}
	})
	broker, err := membroker.New(double, 1000)
	require.NoError(t, err)
	t.Cleanup(broker.Close)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	submit, err := app.NewSubmitTask(gate, broker, app.SubmitTaskConfig{
		Kinds: []domain.Kind{domain.KindGiftCode}, ReplyTimeout: 10 * time.Second,
		ReleaseTimeout: 2 * time.Second, NewID: uuid.NewString, Logger: log,
	})
	require.NoError(t, err)
	idem, err := memidem.New(time.Minute)
	require.NoError(t, err)
	once, err := app.NewSubmitOnce(submit, idem, app.SubmitOnceConfig{Lease: time.Minute, StoreTimeout: time.Second})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	api, err := httpapi.New(once, httpapi.Config{
		BodyLimit: 4096, RequestTimeout: 15 * time.Second, RetryAfter: time.Second,
		Logger: log, Registerer: reg, Gatherer: reg,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(arrived.Add(1)) == users {
			close(allArrived)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	t.Cleanup(client.CloseIdleConnections)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range users {
		wg.Go(func() {
			resp, err := client.Post(srv.URL+"/queue", "", nil)
			if !assert.NoError(t, err) {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

func withoutZeros(m map[int]int) map[int]int {
	out := map[int]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
