package serverapp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

const capacity = 100

// The original's queue scenario: a broker double answers only once every
// user is settled, either in the broker (admitted, holding a slot) or
// answered (refused), so all admitted users hold their slots at once. Up to
// the capacity all are admitted; beyond it exactly capacity get 200, the
// rest 429.
func TestQueueScenario(t *testing.T) {
	gates := map[string]func(t *testing.T) configs.Config{
		"memory_gate": func(*testing.T) configs.Config { return configs.Default() },
		"redis_gate":  redisGateConfig,
	}
	for name, gateConfig := range gates {
		t.Run(name, func(t *testing.T) {
			for _, sc := range []struct{ users, want200, want429 int }{
				{users: 10, want200: 10},
				{users: capacity, want200: capacity},
				{users: 5 * capacity, want200: capacity, want429: 4 * capacity},
			} {
				t.Run(fmt.Sprintf("%d_users", sc.users), func(t *testing.T) {
					cfg := gateConfig(t)
					cfg.Gate.Capacity = capacity
					statuses := runScenario(t, cfg, sc.users)
					want := withoutZeros(map[int]int{http.StatusOK: sc.want200, http.StatusTooManyRequests: sc.want429})
					assert.Equal(t, want, withoutZeros(statuses))
				})
			}
		})
	}
}

// redisGateConfig is the default config with the test Redis as the gate,
// under a key of the test's own.
func redisGateConfig(t *testing.T) configs.Config {
	t.Helper()
	cfg := configs.Default()
	cfg.Redis.URL = infra.RedisURL(t)
	cfg.Gate.Key = "{scenario-" + uuid.NewString() + "}:gate"
	return cfg
}

// runScenario assembles the server's application as cmd/server does, on the
// gate cfg names and a broker double, then sends users concurrent POST
// /queue and tallies the statuses.
func runScenario(t *testing.T, cfg configs.Config, users int) map[int]int {
	t.Helper()
	// settled counts users in the broker plus users already answered; when
	// it reaches users, every user has been admitted or refused and the
	// admitted ones may answer. A gate that admitted too many would let
	// them all in; one that refused too many would answer them 429.
	var settled atomic.Int32
	allSettled := make(chan struct{})
	settle := func() {
		if int(settled.Add(1)) == users {
			close(allSettled)
		}
	}
	double := membroker.ProcessorFunc(func(ctx context.Context, task domain.Task) domain.Result {
		settle()
		select {
		case <-allSettled:
			return domain.Result{TaskID: task.ID, Value: "GIFT-" + task.ID}
		case <-ctx.Done():
			return domain.Result{TaskID: task.ID, Error: ctx.Err().Error()}
		}
	})
	api := newAPI(t, cfg, double)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		api.ServeHTTP(rec, r)
		if rec.status != http.StatusOK { // an admitted user settled in the broker
			settle()
		}
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

// statusRecorder notes the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
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
