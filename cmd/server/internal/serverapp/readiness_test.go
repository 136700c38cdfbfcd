package serverapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/server/internal/serverapp"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
)

// kafkaDouble is a Kafka broker as readiness sees it: its Ready says what
// the test sets, and no request is ever sent.
type kafkaDouble struct{ ready atomic.Pointer[error] }

func (k *kafkaDouble) Ready(context.Context) error {
	if err := k.ready.Load(); err != nil {
		return *err
	}
	return nil
}

func (k *kafkaDouble) Request(context.Context, domain.Task) (domain.Result, error) {
	return domain.Result{}, domain.ErrUnavailable
}

func (k *kafkaDouble) set(err error) { k.ready.Store(&err) }

// Through Kafka, the broker's start is the instance's own: until its reply
// path is proven the instance is not ready. Kafka down and no worker
// consuming are shared by every instance: it stays ready and names them.
func TestReadiness_KafkaIsSharedItsStartIsNot(t *testing.T) {
	cfg := configs.Default()
	cfg.Kafka.Bootstrap = "kafka.invalid:9092" // never dialled: the broker is the double
	broker := &kafkaDouble{}
	reg := prometheus.NewRegistry()
	application, err := serverapp.NewComponentTest(context.Background(), cfg, broker, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	t.Cleanup(application.Close)
	srv := httptest.NewServer(application.API)
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		broker error
		status int
		deps   map[string]string
	}{
		{name: "starting", broker: fmt.Errorf("requester: reply path not proven yet: %w", domain.ErrStarting), status: 503},
		{name: "workers_not_known_yet", broker: fmt.Errorf("requester: worker group not described yet: %w: %w", domain.ErrStarting, domain.ErrNoWorkers), status: 503},
		{name: "ready", status: 200, deps: map[string]string{"kafka": "up", "workers": "up"}},
		{name: "kafka_down", broker: fmt.Errorf("requester: all brokers down: %w", domain.ErrUnavailable), status: 200, deps: map[string]string{"kafka": "down", "workers": "down"}},
		{name: "no_worker", broker: fmt.Errorf("requester: %w", domain.ErrNoWorkers), status: 200, deps: map[string]string{"kafka": "up", "workers": "down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broker.set(tt.broker)
			resp, err := http.Get(srv.URL + "/readyz")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode, string(body))
			if tt.status != http.StatusOK {
				assert.Contains(t, string(body), "not ready: starting")
				return
			}
			var got struct{ Dependencies map[string]string }
			require.NoError(t, json.Unmarshal(body, &got))
			assert.Equal(t, tt.deps, got.Dependencies, "the memory gate is the instance's own: not listed")

			resp, err = http.Post(srv.URL+"/queue", "", nil)
			require.NoError(t, err)
			resp.Body.Close()
			if tt.broker != nil {
				assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "each request is refused on its own")
				assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			}
		})
	}
}
